/* The exact kernel-graph Laplacian L = D - W: a blocked matrix-free product (the
 * reference for spectral errors and the exact operator of preconditioned solves), and
 * dense LAPACK references for small n (normalised-Laplacian eigenvalues, L^+ b). */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "graph/graph_impl.h"

enum { RB = 256, CB = 1024 }; /* kernel tile: RB local rows x CB remote rows */

int subq_laplacian_apply(const subq_dmat_t *X, const subq_kernel_t *kernel, size_t r,
                         const double *V, double *Y, double *deg) {
  int e = 0;
  if (!X || !kernel) e = SUBQ_FAIL(SUBQ_ERR_ARG, "X or kernel is NULL");
  else if (X->dtype != SUBQ_F64) e = SUBQ_FAIL(SUBQ_ERR_ARG, "points must be float64");
  else if (r == 0) e = SUBQ_FAIL(SUBQ_ERR_ARG, "number of vectors r must be >= 1, got 0");
  else if (X->nloc && (!V || !Y)) e = SUBQ_FAIL(SUBQ_ERR_ARG, "V or Y is NULL");
  else if (subq_kernel_check(kernel)) e = SUBQ_ERR_ARG;
  SUBQ_CALL(subq_error_agree(X ? X->comm : MPI_COMM_WORLD, e));
  const size_t d = X->d, nl = X->nloc, maxloc = X->n / (size_t)X->size + 1;
  const double *Xl = (const double *)X->data;
  double *Xr = NULL, *Vr = NULL, *Kb = NULL, *rs = NULL, *ones = NULL;
  e = subq_malloc(maxloc, d * sizeof(double), &Xr);
  if (!e) e = subq_malloc(maxloc, r * sizeof(double), &Vr);
  if (!e) e = subq_malloc(RB, CB * sizeof(double), &Kb);
  if (!e) e = SUBQ_ZALLOC(rs, nl + 1);
  if (!e) e = SUBQ_ALLOC(ones, CB);
  SUBQ_CALL(subq_error_agree(X->comm, e));
  for (size_t i = 0; i < CB; i++) ones[i] = 1.0;
  if (nl) memset(Y, 0, nl * r * sizeof *Y);
  for (int q = 0; !e && q < X->size; q++) {
    size_t q0, nq;
    subq_dist_block(X->n, X->size, q, &q0, &nq);
    if (q == X->rank && nl) {
      memcpy(Xr, Xl, nl * d * sizeof *Xr);
      memcpy(Vr, V, nl * r * sizeof *Vr);
    }
    if (MPI_Bcast(Xr, (int)(nq * d), MPI_DOUBLE, q, X->comm) != MPI_SUCCESS ||
        MPI_Bcast(Vr, (int)(nq * r), MPI_DOUBLE, q, X->comm) != MPI_SUCCESS) {
      e = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Bcast of a row block failed");
      break;
    }
    for (size_t a = 0; !e && a < nl; a += RB) {
      size_t ab = a + RB < nl ? RB : nl - a;
      for (size_t c = 0; !e && c < nq; c += CB) {
        size_t cb = c + CB < nq ? CB : nq - c;
        e = subq_kernel_block(kernel, ab, cb, d, Xl + a * d, NULL, Xr + c * d, NULL, Kb);
        if (e) break;
        /* Y -= K V (the diagonal k(x,x) = 1 cancels against the degree term below) */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)ab, (int)r, (int)cb, -1.0,
                    Kb, (int)cb, Vr + c * r, (int)r, 1.0, Y + a * r, (int)r);
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)ab, (int)cb, 1.0, Kb, (int)cb, ones, 1,
                    1.0, rs + a, 1);
      }
    }
  }
  for (size_t i = 0; !e && i < nl; i++) {
    for (size_t c = 0; c < r; c++) Y[i * r + c] += rs[i] * V[i * r + c];
    if (deg) deg[i] = rs[i] - 1.0; /* minus the self-loop k(x_i, x_i) = 1 */
  }
  subq_free(&Xr);
  subq_free(&Vr);
  subq_free(&Kb);
  subq_free(&rs);
  subq_free(&ones);
  e = subq_error_agree(X->comm, e);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : SUBQ_OK;
}

/* Rank 0: dense Laplacian L (n x n) of the gathered points F; deg (n). */
static int dense_laplacian_(const subq_kernel_t *kernel, size_t n, size_t d, const double *F,
                            double *L, double *deg) {
  SUBQ_CALL(subq_kernel_block(kernel, n, n, d, F, NULL, F, NULL, L));
  for (size_t i = 0; i < n; i++) {
    double s = 0;
    for (size_t j = 0; j < n; j++)
      if (j != i) s += L[i * n + j];
    deg[i] = s;
    for (size_t j = 0; j < n; j++) L[i * n + j] = j == i ? s : -L[i * n + j];
  }
  return SUBQ_OK;
}

int subq_laplacian_dense_eigs(const subq_dmat_t *X, const subq_kernel_t *kernel, size_t k,
                              double *lambda) {
  int e = 0;
  if (!X || !kernel || !lambda) e = SUBQ_FAIL(SUBQ_ERR_ARG, "X, kernel or lambda is NULL");
  else if (k == 0 || k >= X->n)
    e = SUBQ_FAIL(SUBQ_ERR_ARG, "k must be in 1..n-1 = %zu, got %zu", X->n ? X->n - 1 : 0, k);
  SUBQ_CALL(subq_error_agree(X ? X->comm : MPI_COMM_WORLD, e));
  const size_t n = X->n, d = X->d;
  double *F = NULL, *L = NULL, *deg = NULL, *ev = NULL;
  if (X->rank == 0) {
    e = subq_malloc(n, d * sizeof(double), &F);
    if (!e) e = subq_malloc(n, n * sizeof(double), &L);
    if (!e) e = SUBQ_ALLOC(deg, n);
    if (!e) e = SUBQ_ALLOC(ev, n);
  }
  SUBQ_CALL(subq_error_agree(X->comm, e));
  e = subq_dmat_gather(X, 0, F);
  if (!e && X->rank == 0) {
    e = dense_laplacian_(kernel, n, d, F, L, deg);
    for (size_t i = 0; !e && i < n; i++)
      if (!(deg[i] > 1e-300))
        e = SUBQ_FAIL(SUBQ_ERR_NUMERIC, "vertex %zu has degree %g: disconnected kernel graph "
                      "(bandwidth h = %g too small?)", i, deg[i], kernel->h);
    for (size_t i = 0; !e && i < n; i++)
      for (size_t j = 0; j < n; j++) L[i * n + j] /= sqrt(deg[i] * deg[j]);
    lapack_int found = 0;
    if (!e) {
      lapack_int *isuppz = NULL;
      e = SUBQ_ALLOC(isuppz, 2 * (k + 1));
      lapack_int info = e ? 0 : LAPACKE_dsyevr(LAPACK_ROW_MAJOR, 'N', 'I', 'U', (lapack_int)n, L,
                                               (lapack_int)n, 0, 0, 1, (lapack_int)(k + 1), 0,
                                               &found, ev, NULL, 1, isuppz);
      if (!e && (info != 0 || found != (lapack_int)(k + 1)))
        e = SUBQ_FAIL(SUBQ_ERR_LAPACK, "dsyevr returned info %d (%d of %zu eigenvalues)",
                      (int)info, (int)found, k + 1);
      subq_free(&isuppz);
    }
    if (!e) memcpy(lambda, ev + 1, k * sizeof *lambda);
  }
  subq_free(&F);
  subq_free(&L);
  subq_free(&deg);
  subq_free(&ev);
  SUBQ_CALL(subq_error_agree(X->comm, e));
  SUBQ_MPI(MPI_Bcast(lambda, (int)k, MPI_DOUBLE, 0, X->comm));
  return SUBQ_OK;
}

int subq_laplacian_dense_solve(const subq_dmat_t *X, const subq_kernel_t *kernel,
                               const double *b, double *x) {
  int e = 0;
  if (!X || !kernel || (X->nloc && (!b || !x))) e = SUBQ_FAIL(SUBQ_ERR_ARG, "NULL argument");
  SUBQ_CALL(subq_error_agree(X ? X->comm : MPI_COMM_WORLD, e));
  const size_t n = X->n, d = X->d;
  double *F = NULL, *L = NULL, *deg = NULL, *bf = NULL;
  e = SUBQ_ALLOC(bf, n);
  if (!e && X->rank == 0) {
    e = subq_malloc(n, d * sizeof(double), &F);
    if (!e) e = subq_malloc(n, n * sizeof(double), &L);
    if (!e) e = SUBQ_ALLOC(deg, n);
  }
  SUBQ_CALL(subq_error_agree(X->comm, e));
  e = subq_dmat_gather(X, 0, F);
  if (!e) e = subq_dist_gather_vec(X->comm, n, b, 0, bf);
  if (!e && X->rank == 0) {
    e = dense_laplacian_(kernel, n, d, F, L, deg);
    double mean = 0;
    for (size_t i = 0; i < n; i++) mean += bf[i] / (double)n;
    for (size_t i = 0; i < n; i++) bf[i] -= mean;
    for (size_t i = 0; i < n * n; i++) L[i] += 1.0 / (double)n;
    lapack_int info = e ? 0 : LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', (lapack_int)n, 1, L,
                                            (lapack_int)n, bf, 1);
    if (!e && info != 0)
      e = SUBQ_FAIL(SUBQ_ERR_LAPACK, "dposv returned info %d (L + 11^T/n not positive "
                    "definite: disconnected kernel graph?)", (int)info);
  }
  subq_free(&F);
  subq_free(&L);
  subq_free(&deg);
  e = subq_error_agree(X->comm, e);
  if (!e && MPI_Bcast(bf, (int)n, MPI_DOUBLE, 0, X->comm) != MPI_SUCCESS)
    e = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Bcast of the dense solution failed");
  if (!e && X->nloc) memcpy(x, bf + X->r0, X->nloc * sizeof *x);
  subq_free(&bf);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : SUBQ_OK;
}
