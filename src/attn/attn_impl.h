/* Private: the attention operator shared by the files of src/attn. */
#ifndef SUBQ_ATTN_IMPL_H
#define SUBQ_ATTN_IMPL_H

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "cuda/subq_cuda.h"
#include "subq/attn.h"
#include "subq/core.h"

#define SUBQ_ATTN_BQ 64 /* query rows per block of the streamed exact kernels */

struct subq_attn {
  MPI_Comm comm;
  int rank, size;
  subq_attn_type_t type;
  int d, dv, causal, p, r, block, mixed, ready;
  double scale;
  subq_sketch_type_t sketch;
  uint64_t seed;
  subq_polysketch_t *phi;
  double gemm_flops, gemm_s; /* last apply, this rank */
  /* decode state (polysketch, double) */
  double *dz, *dwork;
  /* where apply runs; the device context (setup, when cuda) */
  subq_device_t device;
  subq_cuda_attn_t *cu;
};

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

/* Row-major gemm with flop and time accounting into at->gemm_*. */
#define SUBQ_TGEMM(GEMM, at, TA, TB, M, N, K, AL, A, LDA, B, LDB, BE, C, LDC)              \
  do {                                                                                    \
    double t_ = subq_wtime();                                                             \
    GEMM(CblasRowMajor, TA, TB, (int)(M), (int)(N), (int)(K), AL, A, (int)(LDA), B,       \
         (int)(LDB), BE, C, (int)(LDC));                                                  \
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
