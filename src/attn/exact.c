/* Exact softmax (flash-style streaming) and exact polynomial attention, sequence-parallel
 * over a ring of ranks; instantiated for double and float from exact_tmpl.h. */
#include "attn/attn_impl.h"

#define R double
#define FN(x) x##d_
#define GEMM cblas_dgemm
#define MPI_R MPI_DOUBLE
#define EXP exp
#define EXPV exp
#include "attn/exact_tmpl.h"
#undef R
#undef FN
#undef GEMM
#undef MPI_R
#undef EXP
#undef EXPV

#define R float
#define FN(x) x##f_
#define GEMM cblas_sgemm
#define MPI_R MPI_FLOAT
#define EXP expf
#define EXPV subq_attn_expf_
#include "attn/exact_tmpl.h"

int subq_layer_norm(size_t n, int d, const double *X, double *Y) {
  SUBQ_CHECK(d >= 1, SUBQ_ERR_ARG, "layer norm: d must be >= 1, got %d", d);
  SUBQ_CHECK(n == 0 || (X && Y), SUBQ_ERR_ARG, "layer norm: NULL array with n = %zu", n);
  SUBQ_CALL(layer_norm_d_(n, d, X, Y));
  return SUBQ_OK;
}

int subq_layer_norm_f32(size_t n, int d, const float *X, float *Y) {
  SUBQ_CHECK(d >= 1, SUBQ_ERR_ARG, "layer norm: d must be >= 1, got %d", d);
  SUBQ_CHECK(n == 0 || (X && Y), SUBQ_ERR_ARG, "layer norm: NULL array with n = %zu", n);
  SUBQ_CALL(layer_norm_f_(n, d, X, Y));
  return SUBQ_OK;
}
