/* Kernel low-rank approximation by row-norm sampling, its exact blocked error, the dense
 * LAPACK reference, and the top eigenpair by the kernel noisy power method. */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "kde/kde_impl.h"

#define RB 1024 /* local rows per kernel block */
#define CB 2048 /* owner rows per kernel block */

/* Top-k eigenpairs (descending) of the symmetric s x s row-major W (overwritten). */
static int top_eig_(size_t s, size_t k, double *W, double *lam, double *U) {
  lapack_int m = 0;
  double *w = NULL, *Z = NULL;
  lapack_int *isuppz = NULL;
  SUBQ_CALL(SUBQ_ALLOC(w, s));
  int e = subq_malloc(s, k * sizeof(double), &Z);
  if (!e) e = SUBQ_ALLOC(isuppz, 2 * k);
  if (!e) {
    lapack_int rc = LAPACKE_dsyevr(LAPACK_ROW_MAJOR, 'V', 'I', 'U', (lapack_int)s, W,
                                   (lapack_int)s, 0, 0, (lapack_int)(s - k + 1), (lapack_int)s,
                                   0.0, &m, w, Z, (lapack_int)k, isuppz);
    if (rc != 0 || (size_t)m != k) e = SUBQ_FAIL(SUBQ_ERR_LAPACK, "dsyevr returned info %d (found %d of %zu eigenvalues)", (int)rc, (int)m, k);
  }
  if (!e)
    for (size_t j = 0; j < k; j++) {
      lam[j] = w[k - 1 - j];
      if (U)
        for (size_t i = 0; i < s; i++) U[i * k + j] = Z[i * k + (k - 1 - j)];
    }
  subq_free(&w);
  subq_free(&Z);
  subq_free(&isuppz);
  return e;
}

static int lra_core_(const subq_dmat_t *X, const subq_kernel_t *kernel, subq_kde_t *oracle,
                     const double *w, size_t k, size_t s, uint64_t seed, double *V,
                     subq_lra_stats_t *stats);

int subq_kernel_lra(const subq_dmat_t *X, const subq_kernel_t *kernel, subq_kde_t *oracle,
                    size_t k, size_t s, uint64_t seed, double *V, subq_lra_stats_t *stats) {
  return lra_core_(X, kernel, oracle, NULL, k, s, seed, V, stats);
}

int subq_kernel_lra_weights(const subq_dmat_t *X, const subq_kernel_t *kernel, const double *w,
                            size_t k, size_t s, uint64_t seed, double *V,
                            subq_lra_stats_t *stats) {
  int e = 0;
  for (size_t i = 0; X && w && i < X->n; i++)
    if (!(w[i] >= 0) || !isfinite(w[i])) {
      e = SUBQ_FAIL(SUBQ_ERR_ARG, "row weight %zu must be finite and >= 0, got %g", i, w[i]);
      break;
    }
  if (!e && !w) e = SUBQ_FAIL(SUBQ_ERR_ARG, "row weights w is NULL");
  SUBQ_CALL(subq_error_agree(X ? X->comm : MPI_COMM_WORLD, e));
  return lra_core_(X, kernel, NULL, w, k, s, seed, V, stats);
}

static int lra_core_(const subq_dmat_t *X, const subq_kernel_t *kernel, subq_kde_t *oracle,
                     const double *w, size_t k, size_t s, uint64_t seed, double *V,
                     subq_lra_stats_t *stats) {
  double t0 = subq_wtime();
  int e = 0;
  if (!X || !kernel || !V) e = SUBQ_FAIL(SUBQ_ERR_ARG, "X, kernel or V is NULL");
  else if (X->dtype != SUBQ_F64) e = SUBQ_FAIL(SUBQ_ERR_ARG, "points must be float64");
  else if (subq_kernel_check(kernel)) e = SUBQ_ERR_ARG;
  else if (k == 0) e = SUBQ_FAIL(SUBQ_ERR_ARG, "rank k must be >= 1, got 0");
  else if (k >= X->n) e = SUBQ_FAIL(SUBQ_ERR_ARG, "rank k = %zu must be < n = %zu", k, X->n);
  else if (s < k) e = SUBQ_FAIL(SUBQ_ERR_ARG, "samples s = %zu must be >= rank k = %zu", s, k);
  else if (oracle && (!oracle->ready || oracle->n != X->n))
    e = SUBQ_FAIL(SUBQ_ERR_ARG, "row-norm oracle is not set up on X");
  SUBQ_CALL(subq_error_agree(X ? X->comm : MPI_COMM_WORLD, e));
  const size_t n = X->n, d = X->d, nl = X->nloc;
  const double *Xl = (const double *)X->data;
  double *p = NULL, *Y = NULL, *S = NULL, *W = NULL, *lam = NULL, *U = NULL;
  size_t *idx = NULL;
  subq_lra_stats_t st = {0, 0, 0, 0};
  e = SUBQ_ALLOC(p, n);
  if (!e) e = SUBQ_ALLOC(idx, s);
  if (!e) e = subq_malloc(s, d * sizeof(double), &Y);
  if (!e) e = subq_malloc(s, (nl ? nl : 1) * sizeof(double), &S);
  if (!e) e = subq_malloc(s, s * sizeof(double), &W);
  if (!e) e = SUBQ_ALLOC(lam, k);
  if (!e) e = subq_malloc(s, k * sizeof(double), &U);
  e = subq_error_agree(X->comm, e);
  /* 1. sampling probabilities: squared row norms by KDE of k^2, or uniform */
  if (!e && (oracle || w)) {
    if (oracle)
      e = subq_kde_query_points(oracle, 0.0, p, &st.kde_evals);
    else
      memcpy(p, w, n * sizeof *p);
    if (!e) {
      /* ||K_i||^2 >= k(x_i, x_i)^2 = 1: a noisy KDE estimate below that is raised to it,
       * so no row gets a vanishing probability (and an exploding weight 1/sqrt(s p_i)) */
      double tot = 0;
      if (oracle)
        for (size_t i = 0; i < n; i++) p[i] = fmax(p[i], 1.0);
      for (size_t i = 0; i < n; i++) tot += p[i];
      for (size_t i = 0; i < n; i++) p[i] /= tot;
      e = subq_sample_weighted(p, n, s, seed, SUBQ_KDE_STREAM_LRA, idx);
    }
  } else if (!e) {
    for (size_t i = 0; i < n; i++) p[i] = 1.0 / (double)n;
    for (size_t t = 0; t < s; t++) idx[t] = subq_rng_below(seed, SUBQ_KDE_STREAM_LRA, t, n);
  }
  /* 2. the sampled rows S (s x n; local columns s x nloc), scaled by 1/sqrt(s p_i) */
  if (!e) e = subq_kde_gather_rows(X, s, idx, Y);
  if (!e) e = subq_kernel_block(kernel, s, nl, d, Y, NULL, Xl, NULL, S);
  if (!e) {
    for (size_t t = 0; t < s; t++) {
      double c = 1.0 / sqrt((double)s * p[idx[t]]);
      for (size_t j = 0; j < nl; j++) S[t * nl + j] *= c;
    }
    st.sample_evals = (uint64_t)s * n;
    /* 3. W = S S^T (s x s), summed over ranks; its top-k eigenpairs */
    memset(W, 0, s * s * sizeof *W);
    if (nl)
      cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)s, (int)nl, 1.0, S, (int)nl,
                  0.0, W, (int)s);
    for (size_t i = 0; i < s; i++)
      for (size_t j = 0; j < i; j++) W[i * s + j] = W[j * s + i];
    if (MPI_Allreduce(MPI_IN_PLACE, W, (int)(s * s), MPI_DOUBLE, MPI_SUM, X->comm) != MPI_SUCCESS)
      e = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce of S S^T failed");
  }
  if (!e) e = top_eig_(s, k, W, lam, U);
  /* 4. V = S^T U Sigma^{-1} (local rows nloc x k); directions with sigma_j^2 = lam_j at
   * rounding level (rank-deficient S: duplicate or identical points, huge bandwidth) get
   * a zero column instead of a division by ~0 */
  if (!e) {
    st.rank = 0;
    for (size_t j = 0; j < k; j++) st.rank += lam[j] > 1e-12 * lam[0];
    for (size_t i = 0; i < s; i++)
      for (size_t j = 0; j < k; j++) U[i * k + j] = j < st.rank ? U[i * k + j] / sqrt(lam[j]) : 0;
    if (nl)
      cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nl, (int)k, (int)s, 1.0, S,
                  (int)nl, U, (int)k, 0.0, V, (int)k);
  }
  subq_free(&p);
  subq_free(&idx);
  subq_free(&Y);
  subq_free(&S);
  subq_free(&W);
  subq_free(&lam);
  subq_free(&U);
  SUBQ_CALL(e);
  SUBQ_CALL(subq_time_max(X->comm, subq_wtime() - t0, &st.time_s));
  if (stats) *stats = st;
  return SUBQ_OK;
}

int subq_kernel_lra_error(const subq_dmat_t *X, const subq_kernel_t *kernel, const double *V,
                          size_t k, double *err_fro, double *norm_fro) {
  SUBQ_CHECK(err_fro != NULL, SUBQ_ERR_ARG, "err_fro is NULL");
  return subq_kernel_lra_error_multi(X, kernel, V, k, 1, err_fro, norm_fro);
}

int subq_kernel_lra_error_multi(const subq_dmat_t *X, const subq_kernel_t *kernel,
                                const double *V, size_t k, size_t m, double *err_fro,
                                double *norm_fro) {
  SUBQ_CHECK(X && kernel && err_fro && (V || !X->nloc), SUBQ_ERR_ARG, "X, kernel, V or err_fro is NULL");
  SUBQ_CHECK(k > 0 && m > 0, SUBQ_ERR_ARG, "k = %zu and m = %zu must be >= 1", k, m);
  const size_t kk = k, nv = m;
  k = kk * nv; /* all approximations side by side: one pass over K */
  const size_t d = X->d, nl = X->nloc;
  const double *Xl = (const double *)X->data;
  size_t maxloc = X->n / (size_t)X->size + 1;
  double *Xr = NULL, *Vr = NULL, *KV = NULL, *Kb = NULL, *red = NULL;
  int e = subq_malloc(maxloc, d * sizeof(double), &Xr);
  if (!e) e = subq_malloc(maxloc, k * sizeof(double), &Vr);
  if (!e) e = subq_calloc(nl ? nl : 1, k * sizeof(double), &KV);
  if (!e) e = subq_malloc(RB, CB * sizeof(double), &Kb);
  if (!e) e = SUBQ_ZALLOC(red, 2 * k * k + 1);
  e = subq_error_agree(X->comm, e);
  double nrm2 = 0;
  for (int r = 0; !e && r < X->size; r++) {
    size_t r0, nr;
    subq_dist_block(X->n, X->size, r, &r0, &nr);
    if (r == X->rank) {
      memcpy(Xr, Xl, nl * d * sizeof *Xr);
      memcpy(Vr, V, nl * k * sizeof *Vr);
    }
    if (MPI_Bcast(Xr, (int)(nr * d), MPI_DOUBLE, r, X->comm) != MPI_SUCCESS ||
        MPI_Bcast(Vr, (int)(nr * k), MPI_DOUBLE, r, X->comm) != MPI_SUCCESS) {
      e = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Bcast of a row block failed");
      break;
    }
    for (size_t a = 0; !e && a < nl; a += RB) {
      size_t ab = a + RB < nl ? RB : nl - a;
      for (size_t c = 0; !e && c < nr; c += CB) {
        size_t cb = c + CB < nr ? CB : nr - c;
        e = subq_kernel_block(kernel, ab, cb, d, Xl + a * d, NULL, Xr + c * d, NULL, Kb);
        if (e) break;
        for (size_t i = 0; i < ab * cb; i++) nrm2 += Kb[i] * Kb[i];
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)ab, (int)k, (int)cb, 1.0,
                    Kb, (int)cb, Vr + c * k, (int)k, 1.0, KV + a * k, (int)k);
      }
    }
  }
  e = subq_error_agree(X->comm, e);
  if (!e) {
    /* M = (KV)^T (KV), G = V^T V, both k x k, summed over ranks */
    if (nl) {
      cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)k, (int)nl, 1.0, KV,
                  (int)k, KV, (int)k, 0.0, red, (int)k);
      cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)k, (int)nl, 1.0, V,
                  (int)k, V, (int)k, 0.0, red + k * k, (int)k);
    }
    red[2 * k * k] = nrm2;
    if (MPI_Allreduce(MPI_IN_PLACE, red, (int)(2 * k * k + 1), MPI_DOUBLE, MPI_SUM, X->comm) !=
        MPI_SUCCESS)
      e = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce of the error terms failed");
  }
  if (!e) {
    /* approximation v uses columns [v kk, (v+1) kk): the diagonal kk x kk blocks */
    const double n2 = red[2 * k * k];
    for (size_t v = 0; v < nv; v++) {
      double tr = 0, mg = 0;
      for (size_t i = v * kk; i < (v + 1) * kk; i++) {
        tr += red[i * k + i];
        for (size_t j = v * kk; j < (v + 1) * kk; j++) mg += red[i * k + j] * red[k * k + i * k + j];
      }
      err_fro[v] = sqrt(fmax(0.0, n2 - 2 * tr + mg));
    }
    if (norm_fro) *norm_fro = sqrt(n2);
  }
  subq_free(&Xr);
  subq_free(&Vr);
  subq_free(&KV);
  subq_free(&Kb);
  subq_free(&red);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : SUBQ_OK;
}

int subq_kernel_dense_eig(const subq_dmat_t *X, const subq_kernel_t *kernel, size_t k,
                          double *lambda, double *vecs, double *best_err_fro, double *norm_fro) {
  int e = 0;
  if (k == 0 || k > X->n) e = SUBQ_FAIL(SUBQ_ERR_ARG, "k must be in 1..n = %zu, got %zu", X->n, k);
  SUBQ_CALL(subq_error_agree(X->comm, e));
  const size_t n = X->n, d = X->d;
  double *F = NULL, *K = NULL, *U = NULL, res[2] = {0, 0};
  if (X->rank == 0) {
    e = subq_malloc(n, d * sizeof(double), &F);
    if (!e) e = subq_malloc(n, n * sizeof(double), &K);
    if (!e) e = subq_malloc(n, k * sizeof(double), &U);
  }
  SUBQ_CALL(subq_error_agree(X->comm, e));
  e = subq_dmat_gather(X, 0, F);
  if (!e && X->rank == 0) {
    e = subq_kernel_block(kernel, n, n, d, F, NULL, F, NULL, K);
    double s = 0;
    for (size_t i = 0; i < n * n; i++) s += K[i] * K[i];
    res[1] = s;
    if (!e) e = top_eig_(n, k, K, lambda, U);
    if (!e) {
      double l2 = 0;
      for (size_t j = 0; j < k; j++) l2 += lambda[j] * lambda[j];
      res[0] = sqrt(fmax(0.0, s - l2));
      res[1] = sqrt(s);
      /* sign convention: first non-negligible entry positive (Perron vector >= 0) */
      for (size_t j = 0; j < k; j++) {
        double sum = 0;
        for (size_t i = 0; i < n; i++) sum += U[i * k + j];
        if (sum < 0)
          for (size_t i = 0; i < n; i++) U[i * k + j] = -U[i * k + j];
      }
    }
  }
  subq_free(&F);
  subq_free(&K);
  e = subq_error_agree(X->comm, e);
  if (!e && MPI_Bcast(lambda, (int)k, MPI_DOUBLE, 0, X->comm) != MPI_SUCCESS) e = SUBQ_ERR_MPI;
  if (!e && MPI_Bcast(res, 2, MPI_DOUBLE, 0, X->comm) != MPI_SUCCESS) e = SUBQ_ERR_MPI;
  if (!e && vecs) {
    if (X->rank == 0) memcpy(vecs, U, n * k * sizeof *vecs);
    if (MPI_Bcast(vecs, (int)(n * k), MPI_DOUBLE, 0, X->comm) != MPI_SUCCESS) e = SUBQ_ERR_MPI;
  }
  subq_free(&U);
  if (e) return e == SUBQ_ERR_MPI ? SUBQ_FAIL(e, "MPI_Bcast of the dense result failed") : e;
  if (best_err_fro) *best_err_fro = res[0];
  if (norm_fro) *norm_fro = res[1];
  return SUBQ_OK;
}

int subq_kernel_top_eig(const subq_dmat_t *X, const subq_kernel_t *kernel, size_t m,
                        size_t iters, uint64_t seed, double *lambda, double *v,
                        uint64_t *evals) {
  int e = 0;
  if (!X || !kernel || !lambda || !v) e = SUBQ_FAIL(SUBQ_ERR_ARG, "X, kernel, lambda or v is NULL");
  else if (X->dtype != SUBQ_F64) e = SUBQ_FAIL(SUBQ_ERR_ARG, "points must be float64");
  else if (subq_kernel_check(kernel)) e = SUBQ_ERR_ARG;
  else if (m == 0) e = SUBQ_FAIL(SUBQ_ERR_ARG, "columns per matvec m must be >= 1, got 0");
  else if (iters == 0) e = SUBQ_FAIL(SUBQ_ERR_ARG, "iterations must be >= 1, got 0");
  SUBQ_CALL(subq_error_agree(X ? X->comm : MPI_COMM_WORLD, e));
  const size_t n = X->n, d = X->d, nl = X->nloc;
  const double *Xl = (const double *)X->data;
  double *vf = NULL, *Y = NULL, *Kb = NULL, *w = NULL;
  size_t *J = NULL;
  int *cnts = NULL, *displs = NULL;
  e = SUBQ_ALLOC(vf, n);
  if (!e) e = subq_malloc(m, d * sizeof(double), &Y);
  if (!e) e = subq_malloc(RB, m * sizeof(double), &Kb);
  if (!e) e = SUBQ_ALLOC(w, nl + 1);
  if (!e) e = SUBQ_ALLOC(J, m);
  if (!e) e = SUBQ_ALLOC(cnts, X->size);
  if (!e) e = SUBQ_ALLOC(displs, X->size);
  e = subq_error_agree(X->comm, e);
  if (!e) {
    for (int r = 0; r < X->size; r++) {
      size_t r0, nr;
      subq_dist_block(n, X->size, r, &r0, &nr);
      cnts[r] = (int)nr;
      displs[r] = (int)r0;
    }
    for (size_t i = 0; i < n; i++) vf[i] = 1.0 / sqrt((double)n);
  }
  double lam = 0;
  for (size_t it = 0; !e && it < iters; it++) {
    double l1 = 0;
    for (size_t i = 0; i < n; i++) l1 += vf[i];
    e = subq_sample_weighted(vf, n, m, seed, (SUBQ_KDE_STREAM_EIG << 20) + it, J);
    if (!e) e = subq_kde_gather_rows(X, m, J, Y);
    for (size_t a = 0; !e && a < nl; a += RB) {
      size_t ab = a + RB < nl ? RB : nl - a;
      e = subq_kernel_block(kernel, ab, m, d, Xl + a * d, NULL, Y, NULL, Kb);
      for (size_t i = 0; !e && i < ab; i++) {
        double s = 0;
        for (size_t t = 0; t < m; t++) s += Kb[i * m + t];
        w[a + i] = s * l1 / (double)m;
      }
    }
    double red[2] = {0, 0}; /* v^T w, ||w||^2 */
    for (size_t i = 0; !e && i < nl; i++) {
      red[0] += vf[X->r0 + i] * w[i];
      red[1] += w[i] * w[i];
    }
    e = subq_error_agree(X->comm, e);
    if (!e && MPI_Allreduce(MPI_IN_PLACE, red, 2, MPI_DOUBLE, MPI_SUM, X->comm) != MPI_SUCCESS)
      e = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce in the power method failed");
    if (!e) {
      double vv = 0;
      for (size_t i = 0; i < n; i++) vv += vf[i] * vf[i];
      lam = red[0] / vv;
      double nw = sqrt(red[1]);
      for (size_t i = 0; i < nl; i++) w[i] /= nw;
      if (MPI_Allgatherv(w, (int)nl, MPI_DOUBLE, vf, cnts, displs, MPI_DOUBLE, X->comm) !=
          MPI_SUCCESS)
        e = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allgatherv of the iterate failed");
    }
  }
  if (!e) {
    memcpy(v, vf + X->r0, nl * sizeof *v);
    *lambda = lam;
    if (evals) *evals = (uint64_t)iters * m * n;
  }
  subq_free(&vf);
  subq_free(&Y);
  subq_free(&Kb);
  subq_free(&w);
  subq_free(&J);
  subq_free(&cnts);
  subq_free(&displs);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : SUBQ_OK;
}
