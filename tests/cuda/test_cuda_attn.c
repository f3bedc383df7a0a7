/* Attention on the GPU against the CPU on the same tokens, sharded unevenly over the ranks
 * (np = 3: one rank empty): exact softmax (several 1024 x 1024 tiles, causal and not),
 * exact polynomial attention, and polysketch (Gaussian over two device chunks of blocks,
 * SRHT mixed with a block size that does not divide the shards, TensorSketch p = 6,
 * non-causal), in float64 and float32.  The relative Frobenius error over all ranks is
 * checked (float64 1e-9, float32 1e-4 exact / 1e-3 polysketch, whose states are long sums
 * in another order).  Skips (exit 77) without a CUDA device. */
#include <stdlib.h>
#include <string.h>

#include "cuda_check.h"

typedef struct {
  const char *what;
  subq_attn_type_t type;
  subq_sketch_type_t sketch;
  int p, r, block, mixed, causal;
  size_t n;
} case_t;

static int make_(const case_t *c, int d, int dv, subq_device_t dev, subq_attn_t **a) {
  int e = subq_attn_create(MPI_COMM_WORLD, c->type, d, dv, a);
  if (!e) e = subq_attn_set_device(*a, dev);
  if (!e) e = subq_attn_set_causal(*a, c->causal);
  if (!e) e = subq_attn_set_block(*a, c->block);
  if (!e && c->type != SUBQ_ATTN_SOFTMAX) e = subq_attn_set_degree(*a, c->p);
  if (!e && c->type == SUBQ_ATTN_POLYSKETCH) e = subq_attn_set_sketch(*a, c->sketch, c->r, 21);
  if (!e && c->type == SUBQ_ATTN_POLYSKETCH) e = subq_attn_set_mixed(*a, c->mixed);
  if (!e) e = subq_attn_setup(*a);
  return e;
}

/* Global relative Frobenius error of this rank's rows. */
static double global_rel_(const double *a, const double *b, size_t m) {
  double s[2] = {0, 0}, g[2];
  for (size_t i = 0; i < m; i++) {
    s[0] += (a[i] - b[i]) * (a[i] - b[i]);
    s[1] += b[i] * b[i];
  }
  MPI_Allreduce(s, g, 2, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  return sqrt(g[0] / fmax(g[1], 1e-300));
}

static void run_case_(const case_t *c) {
  const int d = 32, dv = 24;
  size_t t0, t1;
  cuda_shard_(c->n, &t0, &t1);
  const size_t nl = t1 - t0, nq = nl * d, nv = nl * dv;
  double *Q = malloc(sizeof(double) * (nq + 1)), *K = malloc(sizeof(double) * (nq + 1)),
         *V = malloc(sizeof(double) * (nv + 1)), *Oc = malloc(sizeof(double) * (nv + 1)),
         *Og = malloc(sizeof(double) * (nv + 1));
  float *Qf = malloc(sizeof(float) * (nq + 1)), *Kf = malloc(sizeof(float) * (nq + 1)),
        *Vf = malloc(sizeof(float) * (nv + 1)), *Ofc = malloc(sizeof(float) * (nv + 1)),
        *Ofg = malloc(sizeof(float) * (nv + 1));
  for (size_t i = 0; i < nq; i++) {
    Q[i] = 0.6 * subq_rng_gauss(17, 0, t0 * d + i);
    K[i] = 0.6 * subq_rng_gauss(17, 1, t0 * d + i) + 0.3 * Q[i];
    Qf[i] = (float)Q[i];
    Kf[i] = (float)K[i];
  }
  for (size_t i = 0; i < nv; i++) {
    V[i] = subq_rng_gauss(17, 2, t0 * dv + i);
    Vf[i] = (float)V[i];
  }
  subq_attn_t *ac = NULL, *ag = NULL;
  CHECK_OK(make_(c, d, dv, SUBQ_DEVICE_CPU, &ac));
  CHECK_OK(make_(c, d, dv, SUBQ_DEVICE_CUDA, &ag));
  if (ac && ag) {
    CHECK_OK(subq_attn_apply(ac, nl, Q, K, V, Oc));
    CHECK_OK(subq_attn_apply(ag, nl, Q, K, V, Og));
    CHECK_REL(global_rel_(Og, Oc, nv), 1e-9, "%s n=%zu f64", c->what, c->n);
    CHECK_OK(subq_attn_apply_f32(ac, nl, Qf, Kf, Vf, Ofc));
    CHECK_OK(subq_attn_apply_f32(ag, nl, Qf, Kf, Vf, Ofg));
    for (size_t i = 0; i < nv; i++) Oc[i] = Ofc[i], Og[i] = Ofg[i];
    const double tol = c->type == SUBQ_ATTN_POLYSKETCH ? 1e-3 : 1e-4;
    CHECK_REL(global_rel_(Og, Oc, nv), tol, "%s n=%zu f32", c->what, c->n);
    double fl = 0, sec = 0;
    subq_attn_gemm_stats(ag, &fl, &sec);
    CHECK(nl == 0 || (fl > 0 && sec > 0));
  }
  subq_attn_destroy(&ac);
  subq_attn_destroy(&ag);
  free(Q), free(K), free(V), free(Oc), free(Og);
  free(Qf), free(Kf), free(Vf), free(Ofc), free(Ofg);
}

int main(int argc, char **argv) {
  if (subq_init(&argc, &argv)) return 1;
  CUDA_TEST_BEGIN();
  const case_t cases[] = {
      {"softmax causal", SUBQ_ATTN_SOFTMAX, SUBQ_SKETCH_GAUSSIAN, 4, 16, 256, 0, 1, 2600},
      {"softmax non-causal", SUBQ_ATTN_SOFTMAX, SUBQ_SKETCH_GAUSSIAN, 4, 16, 256, 0, 0, 1500},
      {"poly p=4 causal", SUBQ_ATTN_POLY, SUBQ_SKETCH_GAUSSIAN, 4, 16, 256, 0, 1, 2600},
      {"poly p=2 non-causal", SUBQ_ATTN_POLY, SUBQ_SKETCH_GAUSSIAN, 2, 16, 256, 0, 0, 1500},
      {"polysketch gaussian r=16 b=256", SUBQ_ATTN_POLYSKETCH, SUBQ_SKETCH_GAUSSIAN, 4, 16, 256,
       0, 1, 9000},
      {"polysketch srht r=16 b=100 mixed", SUBQ_ATTN_POLYSKETCH, SUBQ_SKETCH_SRHT, 4, 16, 100, 1,
       1, 3000},
      {"polysketch tensorsketch p=6 r=16 b=64", SUBQ_ATTN_POLYSKETCH, SUBQ_SKETCH_TENSOR, 6, 16,
       64, 0, 1, 2000},
      {"polysketch gaussian non-causal b=128", SUBQ_ATTN_POLYSKETCH, SUBQ_SKETCH_GAUSSIAN, 4, 16,
       128, 0, 0, 3000},
      {"polysketch gaussian r=8 b=7 tiny blocks", SUBQ_ATTN_POLYSKETCH, SUBQ_SKETCH_GAUSSIAN, 2,
       8, 7, 0, 1, 500},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) run_case_(&cases[k]);
  CHECK_FINISH();
}
