/* Reference dgemm rate, measured in-process for benchmark ratios. */
#include <cblas.h>
#include <time.h>

#include "cuda/subq_cuda.h"
#include "subq/bench.h"
#include "subq/core.h"
#include "subq/device.h"

double subq_bench_cpu_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Best rate of repeated n = 1024 products, timed by `clock` (wall or process CPU). */
static int dgemm_rate_(int threads, double (*clock)(void), double *gflops) {
  const int n = 1024;
  double *a = NULL, *b = NULL, *c = NULL;
  int err = subq_malloc((size_t)n * n, sizeof(double), &a);
  if (!err) err = subq_malloc((size_t)n * n, sizeof(double), &b);
  if (!err) err = subq_calloc((size_t)n * n, sizeof(double), &c);
  if (err) goto done;
  subq_rng_fill_gauss(1, 0xBE9C, 0, (size_t)n * n, a);
  subq_rng_fill_gauss(1, 0xBE9D, 0, (size_t)n * n, b);
  int saved = openblas_get_num_threads();
  openblas_set_num_threads(threads);
  double best = 1e300, spent = 0;
  for (int rep = 0; rep < 50 && (rep < 3 || spent < 0.3); rep++) {
    double t = clock();
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a, n, b, n, 0.0, c, n);
    t = clock() - t;
    spent += t;
    if (t < best) best = t;
  }
  openblas_set_num_threads(saved);
  *gflops = 2.0 * n * (double)n * n / best * 1e-9;
done:
  subq_free(&a);
  subq_free(&b);
  subq_free(&c);
  return err ? subq_error_trace(err, __FILE__, __LINE__, __func__) : SUBQ_OK;
}

int subq_bench_dgemm_rate(int threads, double *gflops) {
  return dgemm_rate_(threads, subq_wtime, gflops);
}

int subq_bench_dgemm_cpu_rate(int threads, double *gflops) {
  return dgemm_rate_(threads, subq_bench_cpu_seconds, gflops);
}

int subq_bench_device_gemm_rate(int single, double *gflops) {
  SUBQ_CHECK(gflops, SUBQ_ERR_ARG, "gflops is NULL");
  *gflops = 0;
  SUBQ_CALL(subq_device_check(SUBQ_DEVICE_CUDA));
  SUBQ_CALL(subq_cuda_gemm_rate(single, gflops));
  return SUBQ_OK;
}
