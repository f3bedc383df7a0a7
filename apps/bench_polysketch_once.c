/* bench_polysketch_once: one fp32 causal polysketch attention apply on synthetic N(0, 1)
 * tokens, nothing else, for counting its instructions with a repeatable tool (the
 * development VM's wall and CPU clocks are disturbed by other tenants; `perf stat -e
 * instructions` is not supported there):
 *
 *   valgrind --tool=callgrind --toggle-collect=subq_attn_apply_f32 \
 *       --callgrind-out-file=cg.%p subq_bench_polysketch_once N [d] [r] [b]
 *
 * then `callgrind_annotate cg.PID | head` gives the instructions (Ir) inside the apply
 * only (input generation and setup excluded).  Defaults d = 64, r = 32, b = 256, p = 4,
 * gaussian sketch, seed 42, one rank.  Prints the apply's wall and CPU seconds as well
 * (meaningful only outside valgrind). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "subq.h"
#include "subq/attn.h"

static double cpu_(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
  if (subq_init(&argc, &argv)) return 1;
  const size_t n = argc > 1 ? (size_t)atoll(argv[1]) : 32768;
  const int d = argc > 2 ? atoi(argv[2]) : 64, r = argc > 3 ? atoi(argv[3]) : 32,
            b = argc > 4 ? atoi(argv[4]) : 256;
  float *q = NULL;
  subq_attn_t *a = NULL;
  int err = n < 1 || d < 1 ? SUBQ_FAIL(SUBQ_ERR_ARG, "usage: %s N [d] [r] [b]", argv[0]) : 0;
  if (!err) err = subq_malloc(4 * n * (size_t)d, sizeof(float), &q);
  if (!err) {
    for (size_t i = 0; i < 3 * n * (size_t)d; i++) q[i] = (float)subq_rng_gauss(42, 1, i);
    err = subq_attn_create(MPI_COMM_WORLD, SUBQ_ATTN_POLYSKETCH, d, d, &a);
  }
  if (!err) err = subq_attn_set_sketch(a, SUBQ_SKETCH_GAUSSIAN, r, 42);
  if (!err) err = subq_attn_set_block(a, b);
  if (!err) err = subq_attn_setup(a);
  double t = subq_wtime(), c = cpu_();
  const size_t m = n * (size_t)d;
  if (!err) err = subq_attn_apply_f32(a, n, q, q + m, q + 2 * m, q + 3 * m);
  t = subq_wtime() - t;
  c = cpu_() - c;
  if (!err) printf("polysketch f32 n=%zu d=%d r=%d b=%d: %.4f s wall, %.4f s CPU\n", n, d, r, b, t, c);
  subq_attn_destroy(&a);
  subq_free(&q);
  subq_finalize();
  return err ? 1 : 0;
}
