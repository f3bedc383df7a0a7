/* subq lev: statistical leverage scores of a row-distributed matrix K (n x d),
 *   tau_i = k_i^T (K^T K + lambda I)^+ k_i,   i = 0..n-1,
 * exact (TSQR + SVD, or Gram + eigendecomposition) or approximate by sketching
 * (Drineas, Magdon-Ismail, Mahoney, Woodruff 2012, "Fast approximation of matrix
 * coherence and statistical leverage", JMLR 13, Algorithm 1).  Used by the levscores
 * job and by LevAttention (Kannan et al. 2024), whose universal set keeps keys with
 * large tau.
 *
 * Every method factors the d x d problem into weights W (d x r) such that
 * tau_i = || k_i W ||^2, then scores the local rows with one dgemm per row chunk; W can
 * be reused to score other rows (subq_lev_apply). */
#ifndef SUBQ_LEV_H
#define SUBQ_LEV_H

#include <stddef.h>
#include <stdint.h>

#include "subq/device.h"
#include "subq/dist.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  SUBQ_LEV_QR = 0,     /* TSQR R, SVD of R: stable, rank-revealing (default) */
  SUBQ_LEV_GRAM = 1,   /* K^T K (syrk + Allreduce), eigendecomposition: squares cond(K) */
  SUBQ_LEV_SKETCH = 2  /* CountSketch Pi1 K, QR + SVD, Gaussian JL Pi2 (Drineas et al.) */
} subq_lev_method_t;

typedef struct {
  subq_lev_method_t method;
  double ridge;        /* lambda >= 0 (ridge leverage scores); default 0 */
  size_t sketch_rows;  /* sketch: rows m of the CountSketch Pi1; 0 = 20 d capped at max(n, d) */
  size_t jl_cols;      /* sketch: columns r2 of the JL matrix Pi2; 0 = ceil(8 ln n);
                          when r2 >= rank, Pi2 is skipped (exact product with W) */
  uint64_t seed;       /* sketch: RNG seed (streams below); default 42 */
  subq_device_t device; /* cuda: the Gram matrix (gram) and the scores on the device bound
                           by subq_device_select (cuBLAS syrk, gemm); qr and sketch factor
                           on the CPU.  Default cpu. */
} subq_lev_opts_t;

/* Counter-based RNG streams used by the sketch method (subq_rng_*, keyed by global
 * row index, so the sketch is identical for any number of ranks). */
enum {
  SUBQ_LEV_STREAM_BUCKET = 0x1E701, /* CountSketch bucket h(i) in [0, m) */
  SUBQ_LEV_STREAM_SIGN = 0x1E702,   /* CountSketch sign s(i) */
  SUBQ_LEV_STREAM_JL = 0x1E703      /* JL entries G, index j * r2 + l */
};

/* What the computation found, identical on every rank. */
typedef struct {
  size_t numerical_rank; /* r: singular values kept by the pseudo-inverse threshold */
  size_t weight_cols;    /* columns of W (r, or r2 for the sketch with JL) */
  double sigma_max;      /* largest singular value of [K; sqrt(lambda) I] (or of Pi1 K) */
  double sigma_min_kept; /* smallest kept singular value */
  double threshold;      /* absolute cut on singular values (see subq_leverage_scores) */
  size_t sketch_rows, jl_cols; /* sketch parameters used (0 for exact methods) */
  double flops;          /* global flop count of the call (documented per method) */
} subq_lev_info_t;

/* Defaults: method qr, ridge 0, sketch_rows 0 (= 20 d, at most max(n, d)), jl_cols 0
 * (= ceil(8 ln n)), seed 42, device cpu. */
void subq_lev_opts_default(subq_lev_opts_t *o);

/* Parse "qr" | "gram" | "sketch".  Errors: SUBQ_ERR_ARG naming the value. */
int subq_lev_method_parse(const char *name, subq_lev_method_t *m);
const char *subq_lev_method_name(subq_lev_method_t m);

/* Collective over K->comm: the weights W (d x weight_cols, row-major float64,
 * replicated; caller allocates max(d * d, 1) doubles: weight_cols <= d always) with tau_i = ||k_i W||^2.
 *
 * qr:     R = TSQR(K) (subq_dmat_tsqr); with ridge, R <- R factor of [R; sqrt(lambda) I]
 *         (so R^T R = K^T K + lambda I).  SVD R = U S V^T (dgesvd, d x d, on rank 0 and
 *         broadcast).  Pseudo-inverse threshold (as numpy.linalg.matrix_rank):
 *         sigma_k kept iff sigma_k > sigma_max * max(n, d) * eps, eps = 2^-52.
 *         W = V_r S_r^{-1}.  Flops: 2 n d^2 (TSQR) + 2 n d r (scores).
 * gram:   G = K^T K + lambda I (subq_dmat_gram; on cuda the local part by cublasDsyrk, the
 *         sum over ranks on the host), G = Z M Z^T (dsyevd on rank 0).
 *         Eigenvalues carry absolute error ~ mu_max eps, so the cut is on mu:
 *         mu_k kept iff mu_k > mu_max * max(n, d) * eps, i.e. sigma_k > sigma_max *
 *         sqrt(max(n, d) eps): directions with sigma below ~1e-7 sigma_max are treated
 *         as null.  W = Z_r M_r^{-1/2}.  Squares the condition number: prefer qr for
 *         ill-conditioned K.  Flops: n d^2 (syrk) + 2 n d r.
 * sketch: Drineas et al. 2012, Algorithm 1 with Pi1 a CountSketch (Clarkson-Woodruff
 *         2013) of m rows: row i of K is added with sign s(i) to bucket h(i) (RNG keyed by
 *         the global row index), summed over ranks by Allreduce; with ridge, sqrt(lambda) I
 *         is appended.  R = QR(Pi1 K), SVD of R with the qr threshold (max(m, d) in place
 *         of max(n, d)), then Omega = V_r S_r^{-1} Pi2 with Pi2 = V_r^T G, G d x r2 Gaussian
 *         / sqrt(r2) (so Pi2 is r x r2 Gaussian, and Omega does not depend on the SVD's
 *         sign or basis choices: the same seed gives the same scores at any rank count);
 *         W = Omega.  If Pi1 is an eps1-subspace embedding of K, the scores of W_exact are
 *         within factors [1/(1+eps1)^2, 1/(1-eps1)^2] of tau_i, and JL adds a relative error
 *         of about sqrt(2/r2) per score (chi-square with r2 degrees of freedom).
 *         Flops: n d (sketch) + 2 m d^2 + 2 n d r2.
 * Errors: SUBQ_ERR_ARG (NULL, ridge < 0, bad method, sketch_rows < d), SUBQ_ERR_MEM,
 * SUBQ_ERR_LAPACK, SUBQ_ERR_MPI, SUBQ_ERR_UNSUPPORTED / SUBQ_ERR_DEVICE (device cuda not
 * available, or a CUDA call failed); all agreed over K->comm. */
int subq_lev_weights(const subq_dmat_t *K, const subq_lev_opts_t *o, double *W,
                     subq_lev_info_t *info);

/* Not collective: tau[i] = || k_i W ||^2 for the K->nloc local rows of K, W d x r
 * row-major (dgemm over row chunks of 1024, float32 rows converted to float64).
 * Errors: SUBQ_ERR_ARG, SUBQ_ERR_MEM. */
int subq_lev_apply(const subq_dmat_t *K, const double *W, size_t r, double *tau);
/* The same on `dev`: cpu is subq_lev_apply; cuda uploads W and the rows in chunks and
 * computes K W with cublasDgemm and the row sums of squares with a kernel (float32 rows
 * converted to float64 on the device).  Not collective.  Errors: those of subq_lev_apply,
 * SUBQ_ERR_UNSUPPORTED, SUBQ_ERR_DEVICE. */
int subq_lev_apply_device(const subq_dmat_t *K, const double *W, size_t r, subq_device_t dev,
                          double *tau);

/* Collective over K->comm: leverage scores of the local rows, tau (K->nloc values,
 * local rows in order), by subq_lev_weights + subq_lev_apply_device (o->device).  info
 * may be NULL.
 * For ridge = 0 and the exact methods, sum_i tau_i = numerical rank.  Errors as
 * subq_lev_weights. */
int subq_leverage_scores(const subq_dmat_t *K, const subq_lev_opts_t *o, double *tau,
                         subq_lev_info_t *info);

#ifdef __cplusplus
}
#endif
#endif
