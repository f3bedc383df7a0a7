/* Independent references for leverage scores, computed on rank 0 from the gathered
 * matrix with LAPACK: tau_i = ||U_{i,1:r}||^2 from dgesvd (rank cut as in lev.h), and
 * the ridge closed form tau_i = k_i^T (K^T K + lambda I)^{-1} k_i by dposv. */
#ifndef SUBQ_TEST_LEV_REF_H
#define SUBQ_TEST_LEV_REF_H
#include <float.h>
#include <lapacke.h>
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "common/test_util.h"

/* tau (n) from the thin SVD of full (n x d row-major); returns the rank. */
static inline size_t ref_svd_scores(const double *full, size_t n, size_t d, double *tau) {
  return subq_test_svd_leverage(full, n, d, tau);
}

/* Ridge closed form: solve (K^T K + lambda I) X = K^T, tau_i = k_i . X[:, i]. */
static inline void ref_ridge_scores(const double *full, size_t n, size_t d, double lambda,
                                    double *tau) {
  double *M = calloc(d * d, sizeof(double)), *X = malloc(d * n * sizeof(double));
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)d, (int)n, 1.0, full,
              (int)d, full, (int)d, 0.0, M, (int)d);
  for (size_t j = 0; j < d; j++) M[j * d + j] += lambda;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < d; j++) X[j * n + i] = full[i * d + j];
  LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', (int)d, (int)n, M, (int)d, X, (int)n);
  for (size_t i = 0; i < n; i++) {
    double s = 0;
    for (size_t j = 0; j < d; j++) s += full[i * d + j] * X[j * n + i];
    tau[i] = s;
  }
  free(M); free(X);
}

/* max_i |a_i - b_i| / b_i over entries with b_i > floor * max_i b_i; entries below the
 * floor are compared absolutely against floor * max b. */
static inline double max_rel_err(const double *a, const double *b, size_t n, double floor) {
  double bmax = 0, e = 0;
  for (size_t i = 0; i < n; i++) bmax = b[i] > bmax ? b[i] : bmax;
  for (size_t i = 0; i < n; i++) {
    double den = b[i] > floor * bmax ? b[i] : floor * bmax;
    double t = fabs(a[i] - b[i]) / (den > 0 ? den : 1);
    e = t > e ? t : e;
  }
  return e;
}
#endif
