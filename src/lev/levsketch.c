/* subq lev: approximate leverage scores by sketching (Drineas, Magdon-Ismail, Mahoney,
 * Woodruff 2012, "Fast approximation of matrix coherence and statistical leverage",
 * JMLR 13, Algorithm 1), with a CountSketch (Clarkson, Woodruff 2013) as Pi1 in place of
 * the SRHT and a Gaussian JL matrix as Pi2. */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "dist/dist_impl.h"
#include "lev/lev_impl.h"

/* Local CountSketch: S (m x d row-major, zeroed by caller) += s(i) k_i in row h(i) for the
 * local rows, keyed by the global row index. */
static void countsketch_local(const subq_dmat_t *K, size_t m, uint64_t seed, double *S) {
  size_t d = K->d;
  for (size_t i = 0; i < K->nloc; i++) {
    uint64_t g = (uint64_t)(K->r0 + i);
    size_t h = (size_t)subq_rng_below(seed, SUBQ_LEV_STREAM_BUCKET, g, (uint64_t)m);
    double s = (double)subq_rng_rademacher(seed, SUBQ_LEV_STREAM_SIGN, g);
    double *dst = S + h * d;
    if (K->dtype == SUBQ_F64) {
      const double *k = subq_dmat_f64_(K) + i * d;
      for (size_t j = 0; j < d; j++) dst[j] += s * k[j];
    } else {
      const float *k = subq_dmat_f32_(K) + i * d;
      for (size_t j = 0; j < d; j++) dst[j] += s * (double)k[j];
    }
  }
}

/* Rank 0: R of [S; sqrt(lambda) I] (mm x d), SVD, W, then Omega = W V^T G if r2 < r. */
static int sketch_root(const double *S, size_t m, size_t d, const subq_lev_opts_t *o,
                       size_t r2, double *W, subq_lev_info_t *info) {
  size_t mm = m + (o->ridge > 0 ? d : 0);
  double *P = NULL, *tau = NULL, *R = NULL, *G = NULL, *Om = NULL;
  int e = SUBQ_ZALLOC(P, mm * d);
  if (!e) e = SUBQ_ALLOC(tau, d);
  if (!e) e = SUBQ_ALLOC(R, d * d);
  if (!e) {
    for (size_t j = 0; j < d; j++) {
      for (size_t i = 0; i < m; i++) P[i + j * mm] = S[i * d + j];
      if (o->ridge > 0) P[m + j + j * mm] = sqrt(o->ridge);
    }
    lapack_int rc = LAPACKE_dgeqrf(LAPACK_COL_MAJOR, (lapack_int)mm, (lapack_int)d, P,
                                   (lapack_int)mm, tau);
    if (rc) e = SUBQ_FAIL(SUBQ_ERR_LAPACK, "dgeqrf of the %zu x %zu sketch: info = %d", mm, d,
                          (int)rc);
  }
  if (!e) {
    subq_r_from_qr_colmajor_(mm, d, P, mm, R);
    e = subq_lev_weights_from_r_(R, d, mm, W, info);
  }
  size_t r = info->numerical_rank;
  if (!e && r2 < r) {
    /* Omega = W V^T G = V Sigma^-1 V^T G, G (d x r2) i.i.d. N(0, 1/r2) in the input
     * coordinates, entry (j, l) at index j r2 + l.  Pi2 = V^T G is again i.i.d. N(0, 1/r2)
     * (V has orthonormal columns), and Omega does not depend on the SVD's choice of sign
     * or basis of V: rounding differences in the sketch (a different reduction order at
     * another rank count) cannot flip a column of V and so change every score.  The
     * columns of W = V Sigma^-1 have norms 1/sigma_k, so V = W diag(sigma). */
    e = SUBQ_ALLOC(G, d * r2);
    if (!e) e = SUBQ_ALLOC(Om, d * r2);
    double *C = NULL;
    if (!e) e = SUBQ_ALLOC(C, r * r2);
    if (!e) {
      subq_rng_fill_gauss(o->seed, SUBQ_LEV_STREAM_JL, 0, d * r2, G);
      double sc = 1.0 / sqrt((double)r2);
      for (size_t t = 0; t < d * r2; t++) G[t] *= sc;
      /* C = W^T G = Sigma^-1 V^T G (r x r2), then row k times sigma_k = 1/||W_k||:
       * C = V^T G */
      cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)r, (int)r2, (int)d, 1.0, W,
                  (int)r, G, (int)r2, 0.0, C, (int)r2);
      for (size_t k = 0; k < r; k++) {
        double nk = 0;
        for (size_t j = 0; j < d; j++) nk += W[j * r + k] * W[j * r + k];
        nk = sqrt(nk);
        for (size_t l = 0; l < r2; l++) C[k * r2 + l] /= nk;
      }
      /* Omega = W C = V Sigma^-1 V^T G (d x r2) */
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)r2, (int)r, 1.0, W,
                  (int)r, C, (int)r2, 0.0, Om, (int)r2);
      memcpy(W, Om, d * r2 * sizeof(double));
      info->weight_cols = r2;
    }
    subq_free(&C);
  }
  subq_free(&P);
  subq_free(&tau);
  subq_free(&R);
  subq_free(&G);
  subq_free(&Om);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : 0;
}

int subq_lev_sketch_weights_(const subq_dmat_t *K, const subq_lev_opts_t *o, double *W,
                             subq_lev_info_t *info) {
  size_t n = K->n, d = K->d;
  size_t m = o->sketch_rows ? o->sketch_rows : subq_lev_default_sketch_rows_(n, d);
  /* m >= d and m d <= INT_MAX were checked (and agreed) by subq_lev_weights. */
  size_t r2 = o->jl_cols;
  if (r2 == 0) r2 = (size_t)ceil(8.0 * log(n > 2 ? (double)n : 2.0));
  double *S = NULL;
  SUBQ_AGREE(K->comm, SUBQ_ZALLOC(S, m * d));
  countsketch_local(K, m, o->seed, S);
  int e = 0, mr = MPI_Allreduce(MPI_IN_PLACE, S, (int)(m * d), MPI_DOUBLE, MPI_SUM, K->comm);
  if (mr != MPI_SUCCESS) e = subq_error_mpi(mr, __FILE__, __LINE__, __func__, "MPI_Allreduce");
  e = subq_error_agree(K->comm, e);
  if (!e) {
    int le = K->rank == 0 ? sketch_root(S, m, d, o, r2, W, info) : 0;
    e = subq_lev_bcast_weights_(K->comm, le, d, W, info);
  }
  subq_free(&S);
  info->sketch_rows = m;
  info->jl_cols = info->weight_cols < info->numerical_rank ? info->weight_cols : 0;
  size_t mm = m + (o->ridge > 0 ? d : 0);
  info->flops = (double)n * d + 2.0 * (double)mm * d * d +
                (info->jl_cols ? 2.0 * (double)d * (double)info->numerical_rank * info->jl_cols : 0);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : 0;
}
