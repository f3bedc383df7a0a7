/* Private: the attention operator shared by the files of src/attn. */
#ifndef SUBQ_ATTN_IMPL_H
#define SUBQ_ATTN_IMPL_H

#include <cblas.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "core/simd.h"
#include "cuda/subq_cuda.h"
#include "subq/attn.h"
#include "subq/core.h"

/* Query rows per block of the streamed exact kernels.  256 x 256 x 64 block products run
 * OpenBLAS's sgemm at ~0.17 instructions per flop against 0.13 for a 1024^3 product (64 x
 * 256 x 64: 0.27), measured with callgrind on the development VM. */
#define SUBQ_ATTN_BQ 256

struct subq_attn {
  MPI_Comm comm;
  int rank, size;
  subq_attn_type_t type;
  int d, dv, causal, p, r, block, mixed, ready;
  double scale;
  subq_sketch_type_t sketch;
  uint64_t seed;
  subq_polysketch_t *phi;
  double gemm_flops, gemm_s, gemm_cpu_s; /* last apply, this rank */
  /* decode state (polysketch, double) */
  double *dz, *dwork;
  /* where apply runs; the device context (setup, when cuda) */
  subq_device_t device;
  subq_cuda_attn_t *cu;
  int host_apply; /* last apply ran on the CPU although cu is set (polysketch_tmpl.h) */
};

/* exp(x) in single precision for the softmax's arguments x <= 0, written so that a
 * `#pragma omp simd` loop vectorises it (libm's expf is a scalar call): x = k ln2 + t,
 * |t| <= ln2/2, exp(t) by the degree-7 polynomial of Cephes' expf, 2^k added to the
 * exponent bits.  Max relative error 1.4 ulp on [-87, 0] (checked against exp in double);
 * arguments below -87 return exp(-87) ~ 1.6e-38, which a softmax sum with a term 1 ignores.
 * Positive x up to 88 also works. */
static inline float subq_attn_expf_(float x) {
  x = x < -87.0f ? -87.0f : x;
  const float y = x * 1.44269504088896341f;
  const float kf = (y + 12582912.0f) - 12582912.0f; /* round to nearest, |y| < 2^22 */
  float t = x - kf * 0.693359375f;
  t = t + kf * 2.12194440e-4f; /* ln2 = 0.693359375 - 2.12194440e-4 */
  float q = 1.9875691500e-4f;
  q = q * t + 1.3981999507e-3f;
  q = q * t + 8.3334519073e-3f;
  q = q * t + 4.1665795894e-2f;
  q = q * t + 1.6666665459e-1f;
  q = q * t + 5.0000001201e-1f;
  q = q * t * t + t + 1.0f;
  union { float f; int32_t i; } u = {q};
  u.i += (int32_t)kf * (1 << 23);
  return u.f;
}

/* Host buffers that MPI exchanges: pinned (page-locked) when the operator runs on the
 * device, so uploads from them are real DMA; ordinary memory otherwise. */
static inline int subq_attn_host_alloc_(const subq_attn_t *a, size_t n, size_t size, void *p) {
  return a->cu ? subq_cuda_host_alloc(n, size, p) : subq_malloc(n, size, p);
}
static inline void subq_attn_host_free_(const subq_attn_t *a, void *p) {
  if (a->cu) subq_cuda_host_free(p);
  else subq_free(p);
}

/* r(r+1)/2: distinct self-tensored features. */
static inline size_t subq_attn_rr_(int r) { return (size_t)r * (size_t)(r + 1) / 2; }

/* CPU seconds of the calling thread. */
static inline double subq_attn_thread_cpu_(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Row-major gemm with flop and time (wall and calling-thread CPU) accounting into
 * at->gemm_*. */
#define SUBQ_TGEMM(GEMM, at, TA, TB, M, N, K, AL, A, LDA, B, LDB, BE, C, LDC)              \
  do {                                                                                    \
    double t_ = subq_wtime(), c_ = subq_attn_thread_cpu_();                               \
    GEMM(CblasRowMajor, TA, TB, (int)(M), (int)(N), (int)(K), AL, A, (int)(LDA), B,       \
         (int)(LDB), BE, C, (int)(LDC));                                                  \
    (at)->gemm_cpu_s += subq_attn_thread_cpu_() - c_;                                     \
    (at)->gemm_s += subq_wtime() - t_;                                                    \
    (at)->gemm_flops += 2.0 * (double)(M) * (double)(N) * (double)(K);                    \
  } while (0)

int subq_attn_exact_apply_d_(subq_attn_t *a, size_t nl, const double *Q, const double *K,
                             const double *V, double *O);
int subq_attn_exact_apply_f_(subq_attn_t *a, size_t nl, const float *Q, const float *K,
                             const float *V, float *O);
int subq_attn_sketch_apply_d_(subq_attn_t *a, size_t nl, const double *Q, const double *K,
                              const double *V, double *O);
int subq_attn_sketch_apply_f_(subq_attn_t *a, size_t nl, const float *Q, const float *K,
                              const float *V, float *O);
void subq_attn_tensor2_d_(size_t n, int r, const double *A, double *X2);

#endif
