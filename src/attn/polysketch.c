/* Polysketch attention (PolySketchFormer, arXiv 2310.01655, Sec. 3.3): block causal
 * algorithm, sequence-parallel by an exclusive scan of the per-rank states; instantiated
 * for double and float from polysketch_tmpl.h. */
#include "attn/attn_impl.h"

#define R double
#define FN(x) x##d_
#define GEMM cblas_dgemm
#define MPI_R MPI_DOUBLE
#define LN subq_layer_norm
#define FEATURES subq_polysketch_features
#include "attn/polysketch_tmpl.h"
#undef R
#undef FN
#undef GEMM
#undef MPI_R
#undef LN
#undef FEATURES

#define R float
#define FN(x) x##f_
#define GEMM cblas_sgemm
#define MPI_R MPI_FLOAT
#define LN subq_layer_norm_f32
#define FEATURES subq_polysketch_features_f32
#include "attn/polysketch_tmpl.h"

void subq_attn_tensor2_d_(size_t n, int r, const double *A, double *X2) {
  tensor2_d_(n, r, A, X2);
}
