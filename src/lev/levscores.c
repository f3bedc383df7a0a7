/* subq lev: leverage scores, exact (TSQR + SVD, Gram + eigendecomposition) and
 * sketched (Drineas, Magdon-Ismail, Mahoney, Woodruff 2012, Algorithm 1). */
#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "cuda/subq_cuda.h"
#include "dist/dist_impl.h"
#include "lev/lev_impl.h"
#include "subq/lev.h"

void subq_lev_opts_default(subq_lev_opts_t *o) {
  memset(o, 0, sizeof(*o));
  o->method = SUBQ_LEV_QR;
  o->seed = 42;
}

static const char *const method_names_[] = {"qr", "gram", "sketch"};

int subq_lev_method_parse(const char *name, subq_lev_method_t *m) {
  for (int k = 0; k < 3; k++)
    if (name && strcmp(name, method_names_[k]) == 0) {
      *m = (subq_lev_method_t)k;
      return 0;
    }
  return SUBQ_FAIL(SUBQ_ERR_ARG, "leverage-score method must be qr|gram|sketch, got '%s'",
                   name ? name : "(null)");
}

const char *subq_lev_method_name(subq_lev_method_t m) {
  return (unsigned)m < 3 ? method_names_[m] : "unknown";
}

int subq_lev_weights_from_r_(double *R, size_t d, size_t nscale, double *W,
                             subq_lev_info_t *info) {
  double *S = NULL, *VT = NULL, *superb = NULL;
  int e = SUBQ_ALLOC(S, d);
  if (!e) e = SUBQ_ALLOC(VT, d * d);
  if (!e) e = SUBQ_ALLOC(superb, d);
  if (!e) {
    lapack_int rc = LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'N', 'A', (lapack_int)d, (lapack_int)d, R,
                                   (lapack_int)d, S, NULL, 1, VT, (lapack_int)d, superb);
    if (rc) e = SUBQ_FAIL(SUBQ_ERR_LAPACK, "dgesvd of the %zu x %zu R factor: info = %d", d, d,
                          (int)rc);
  }
  if (!e) {
    /* Relative cut as in numpy.linalg.matrix_rank: sigma > sigma_max max(n, d) eps. */
    double smax = S[0], cut = smax * (double)(nscale > d ? nscale : d) * DBL_EPSILON;
    size_t r = 0;
    while (r < d && S[r] > cut && S[r] > 0) r++;
    for (size_t j = 0; j < d; j++)
      for (size_t k = 0; k < r; k++) W[j * r + k] = VT[k * d + j] / S[k];
    info->numerical_rank = r;
    info->weight_cols = r;
    info->sigma_max = smax;
    info->sigma_min_kept = r ? S[r - 1] : 0;
    info->threshold = cut;
  }
  subq_free(&S);
  subq_free(&VT);
  subq_free(&superb);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : 0;
}

/* R <- R factor of [R; sqrt(lambda) I] (2d x d), non-negative diagonal. */
static int ridge_stack(double *R, size_t d, double lambda) {
  double *P = NULL, *tau = NULL;
  int e = SUBQ_ZALLOC(P, 2 * d * d);
  if (!e) e = SUBQ_ALLOC(tau, d);
  if (!e) {
    size_t ld = 2 * d;
    for (size_t j = 0; j < d; j++) {
      for (size_t i = 0; i <= j; i++) P[i + j * ld] = R[i * d + j];
      P[d + j + j * ld] = sqrt(lambda);
    }
    lapack_int rc = LAPACKE_dgeqrf(LAPACK_COL_MAJOR, (lapack_int)ld, (lapack_int)d, P,
                                   (lapack_int)ld, tau);
    if (rc) e = SUBQ_FAIL(SUBQ_ERR_LAPACK, "dgeqrf of [R; sqrt(lambda) I]: info = %d", (int)rc);
    else subq_r_from_qr_colmajor_(ld, d, P, ld, R);
  }
  subq_free(&P);
  subq_free(&tau);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : 0;
}

/* Rank 0 part of the qr method: ridge, SVD, W. */
static int qr_root(double *R, size_t n, size_t d, double lambda, double *W,
                   subq_lev_info_t *info) {
  if (lambda > 0) SUBQ_CALL(ridge_stack(R, d, lambda));
  SUBQ_CALL(subq_lev_weights_from_r_(R, d, n, W, info));
  return 0;
}

/* Rank 0 part of the gram method: G + lambda I = Z M Z^T, W = Z_r M_r^{-1/2}. */
static int gram_root(double *G, size_t n, size_t d, double lambda, double *W,
                     subq_lev_info_t *info) {
  double *mu = NULL;
  SUBQ_CALL(SUBQ_ALLOC(mu, d));
  for (size_t i = 0; i < d; i++) G[i * d + i] += lambda;
  lapack_int rc = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', (lapack_int)d, G, (lapack_int)d, mu);
  if (rc) {
    subq_free(&mu);
    return SUBQ_FAIL(SUBQ_ERR_LAPACK, "dsyevd of the %zu x %zu Gram matrix: info = %d", d, d,
                     (int)rc);
  }
  /* Ascending eigenvalues: keep the largest ones above the cut, in descending order. */
  double mumax = mu[d - 1], cut = mumax * (double)(n > d ? n : d) * DBL_EPSILON;
  size_t r = 0;
  while (r < d && mu[d - 1 - r] > cut && mu[d - 1 - r] > 0) r++;
  for (size_t j = 0; j < d; j++)
    for (size_t k = 0; k < r; k++) W[j * r + k] = G[j * d + (d - 1 - k)] / sqrt(mu[d - 1 - k]);
  info->numerical_rank = r;
  info->weight_cols = r;
  info->sigma_max = sqrt(fmax(mumax, 0));
  info->sigma_min_kept = r ? sqrt(mu[d - r]) : 0;
  info->threshold = sqrt(fmax(cut, 0));
  subq_free(&mu);
  return 0;
}

int subq_lev_bcast_weights_(MPI_Comm comm, int e, size_t d, double *W, subq_lev_info_t *info) {
  SUBQ_AGREE(comm, e);
  double v[6] = {(double)info->numerical_rank, (double)info->weight_cols, info->sigma_max,
                 info->sigma_min_kept, info->threshold, 0};
  SUBQ_MPI(MPI_Bcast(v, 6, MPI_DOUBLE, 0, comm));
  info->numerical_rank = (size_t)v[0];
  info->weight_cols = (size_t)v[1];
  info->sigma_max = v[2];
  info->sigma_min_kept = v[3];
  info->threshold = v[4];
  if (d * info->weight_cols > 0)
    SUBQ_MPI(MPI_Bcast(W, (int)(d * info->weight_cols), MPI_DOUBLE, 0, comm));
  return 0;
}

/* Collective: G = K^T K on the device (local part, in row chunks, so any nloc) summed over
 * ranks on the host; d <= 46340 was checked (agreed) with the options. */
static int gram_cuda(const subq_dmat_t *K, double *G) {
  SUBQ_AGREE(K->comm, subq_cuda_gram_local(K, G));
  SUBQ_MPI(MPI_Allreduce(MPI_IN_PLACE, G, (int)(K->d * K->d), MPI_DOUBLE, MPI_SUM, K->comm));
  return 0;
}

static int check_opts(const subq_dmat_t *K, const subq_lev_opts_t *o, const void *W) {
  SUBQ_CHECK(o != NULL && W != NULL, SUBQ_ERR_ARG, "NULL argument (opts %p, W %p)",
             (const void *)o, (const void *)W);
  SUBQ_CALL(subq_device_check(o->device));
  SUBQ_CHECK((unsigned)o->method < 3, SUBQ_ERR_ARG, "leverage-score method %d unknown",
             (int)o->method);
  SUBQ_CHECK(o->ridge >= 0 && isfinite(o->ridge), SUBQ_ERR_ARG,
             "ridge lambda must be finite and >= 0, got %g", o->ridge);
  SUBQ_CHECK(K->d <= 46340, SUBQ_ERR_ARG, "d = %zu too large (max 46340)", K->d);
  if (o->method == SUBQ_LEV_SKETCH && K->d > 0) {
    size_t m = o->sketch_rows ? o->sketch_rows : subq_lev_default_sketch_rows_(K->n, K->d);
    SUBQ_CHECK(m >= K->d, SUBQ_ERR_ARG, "sketch rows must be >= d = %zu, got %zu", K->d, m);
    SUBQ_CHECK(m <= (size_t)INT_MAX / K->d, SUBQ_ERR_ARG,
               "sketch of %zu x %zu exceeds MPI's int counts", m, K->d);
  }
  return 0;
}

int subq_lev_weights(const subq_dmat_t *K, const subq_lev_opts_t *o, double *W,
                     subq_lev_info_t *info) {
  SUBQ_CHECK(K != NULL, SUBQ_ERR_ARG, "matrix K is NULL");
  SUBQ_AGREE(K->comm, check_opts(K, o, W));
  subq_lev_info_t loc;
  if (!info) info = &loc;
  memset(info, 0, sizeof(*info));
  size_t n = K->n, d = K->d;
  if (d == 0) return 0;
  if (o->method == SUBQ_LEV_SKETCH) return subq_lev_sketch_weights_(K, o, W, info);
  double *M = NULL;
  SUBQ_AGREE(K->comm, SUBQ_ALLOC(M, d * d));
  int e;
  if (o->method == SUBQ_LEV_QR) {
    e = subq_dmat_tsqr(K, M);
    if (!e) {
      int le = K->rank == 0 ? qr_root(M, n, d, o->ridge, W, info) : 0;
      e = subq_lev_bcast_weights_(K->comm, le, d, W, info);
    }
    info->flops = 2.0 * (double)n * d * d;
  } else {
    e = o->device == SUBQ_DEVICE_CUDA ? gram_cuda(K, M) : subq_dmat_gram(K, M);
    if (!e) {
      int le = K->rank == 0 ? gram_root(M, n, d, o->ridge, W, info) : 0;
      e = subq_lev_bcast_weights_(K->comm, le, d, W, info);
    }
    info->flops = (double)n * d * d;
  }
  subq_free(&M);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : 0;
}

int subq_lev_apply(const subq_dmat_t *K, const double *W, size_t r, double *tau) {
  SUBQ_CHECK(K != NULL && tau != NULL && (W != NULL || r == 0), SUBQ_ERR_ARG, "NULL argument");
  size_t d = K->d, nloc = K->nloc;
  if (nloc == 0) return 0;
  if (r == 0 || d == 0) {
    memset(tau, 0, nloc * sizeof(double));
    return 0;
  }
  SUBQ_CHECK(r <= INT_MAX && d <= INT_MAX, SUBQ_ERR_ARG, "W %zu x %zu exceeds BLAS int", d, r);
  /* row blocks of the blocked Gram kernel (240 rows at d = 64: small-matrix dgemm, block in
   * cache for the row sums), 1024 rows for d > 128 */
  const size_t br = subq_gram_block_rows_(d), chunk = br < 1024 ? br : 1024;
  size_t c0 = nloc < chunk ? nloc : chunk;
  double *T = NULL, *X = NULL;
  SUBQ_CALL(SUBQ_ALLOC(T, c0 * r));
  if (K->dtype != SUBQ_F64 && subq_malloc(c0 * d, sizeof(double), &X)) {
    subq_free(&T);
    return subq_error_trace(SUBQ_ERR_MEM, __FILE__, __LINE__, __func__);
  }
  for (size_t i0 = 0; i0 < nloc; i0 += chunk) {
    size_t m = nloc - i0 < chunk ? nloc - i0 : chunk;
    const double *A;
    if (K->dtype == SUBQ_F64) {
      A = subq_dmat_f64_(K) + i0 * d;
    } else {
      subq_dmat_rows_f64_(K, i0, m, X);
      A = X;
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)r, (int)d, 1.0, A,
                (int)d, W, (int)r, 0.0, T, (int)r);
    for (size_t i = 0; i < m; i++) {
      double s = 0;
      const double *t = T + i * r;
#pragma omp simd reduction(+ : s)
      for (size_t k = 0; k < r; k++) s += t[k] * t[k];
      tau[i0 + i] = s;
    }
  }
  subq_free(&T);
  subq_free(&X);
  return 0;
}

int subq_lev_apply_device(const subq_dmat_t *K, const double *W, size_t r, subq_device_t dev,
                          double *tau) {
  if (dev == SUBQ_DEVICE_CPU) return subq_lev_apply(K, W, r, tau);
  SUBQ_CHECK(K != NULL && tau != NULL && (W != NULL || r == 0), SUBQ_ERR_ARG, "NULL argument");
  SUBQ_CALL(subq_device_check(dev));
  SUBQ_CHECK(r <= INT_MAX && K->d <= INT_MAX, SUBQ_ERR_ARG, "W %zu x %zu exceeds BLAS int", K->d,
             r);
  SUBQ_CALL(subq_cuda_lev_apply(K, W, r, tau));
  return 0;
}

int subq_leverage_scores(const subq_dmat_t *K, const subq_lev_opts_t *o, double *tau,
                         subq_lev_info_t *info) {
  SUBQ_CHECK(K != NULL && tau != NULL, SUBQ_ERR_ARG, "NULL argument (K %p, tau %p)",
             (const void *)K, (void *)tau);
  subq_lev_info_t loc;
  if (!info) info = &loc;
  double *W = NULL;
  SUBQ_AGREE(K->comm, SUBQ_ALLOC(W, K->d * K->d + 1));
  int e = subq_lev_weights(K, o, W, info);
  if (!e)
    e = subq_error_agree(K->comm,
                         subq_lev_apply_device(K, W, info->weight_cols, o->device, tau));
  info->flops += 2.0 * (double)K->n * (double)K->d * (double)info->weight_cols;
  subq_free(&W);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : 0;
}
