/* Dense references for the LevAttention tests: leverage scores by SVD of the explicit
 * tensor power (LAPACK dgesvd, an independent algorithm from the library's Gram + pivoted
 * Cholesky), heavy entries of the dense attention matrix, balanced row blocks. */
#ifndef SUBQ_TEST_LEVATT_REF_H
#define SUBQ_TEST_LEVATT_REF_H
#include <lapacke.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/test_util.h"

static inline void ref_block(size_t n, int size, int rank, size_t *r0, size_t *nl) {
  size_t b = n / (size_t)size, x = n % (size_t)size, r = (size_t)rank;
  *nl = b + (r < x);
  *r0 = r * b + (r < x ? r : x);
}

/* Full tensor power k^{(x)m} (d^m columns), not the symmetric reduction. */
static inline void ref_tensor(size_t n, size_t d, int m, const double *K, double *T) {
  size_t Dm = 1;
  for (int t = 0; t < m; t++) Dm *= d;
  for (size_t i = 0; i < n; i++)
    for (size_t f = 0; f < Dm; f++) {
      double v = 1;
      size_t g = f;
      for (int t = 0; t < m; t++) {
        v *= K[i * d + g % d];
        g /= d;
      }
      T[i * Dm + f] = v;
    }
}

/* tau_j = ||U_j,1:r||^2 from the thin SVD of A (n x D); returns the numerical rank. */
static inline size_t ref_leverage(size_t n, size_t D, const double *A, double *tau) {
  return subq_test_svd_leverage(A, n, D, tau);
}

static inline double ref_pow(double x, int p) {
  double r = 1;
  for (int t = 0; t < p; t++) r *= fabs(x);
  return r;
}

/* Heavy entries of A_ij = |q_i.k_j|^p / sum_j' |q_i.k_j'|^p (non-causal), A_ij >= eps:
 * *heavy counts them, *missed those whose j is not in U (sorted, nU). */
static inline void ref_heavy(size_t nq, size_t n, size_t d, int p, const double *Q,
                             const double *K, double eps, const int64_t *U, size_t nU,
                             size_t *heavy, size_t *missed) {
  char *inU = calloc(n, 1);
  for (size_t t = 0; t < nU; t++) inU[U[t]] = 1;
  double *row = malloc(n * sizeof *row);
  *heavy = *missed = 0;
  for (size_t i = 0; i < nq; i++) {
    double sum = 0;
    for (size_t j = 0; j < n; j++) {
      double s = 0;
      for (size_t c = 0; c < d; c++) s += Q[i * d + c] * K[j * d + c];
      row[j] = ref_pow(s, p);
      sum += row[j];
    }
    for (size_t j = 0; sum > 0 && j < n; j++)
      if (row[j] / sum >= eps) {
        (*heavy)++;
        if (!inU[j]) (*missed)++;
      }
  }
  free(row);
  free(inU);
}
#endif
