/* Private: the attention operator shared by the files of src/attn. */
#ifndef SUBQ_ATTN_IMPL_H
#define SUBQ_ATTN_IMPL_H

#include <cblas.h>
#include <math.h>
#include <string.h>

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
};

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
