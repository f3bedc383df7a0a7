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
#include "subq.h"

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

/* Gaussian keys with Pareto(1.5) norms: a few outlier keys carry heavy attention. */
static inline void ref_pareto_keys(size_t n, size_t d, uint64_t seed, double *K) {
  for (size_t j = 0; j < n; j++) {
    double r = pow(subq_rng_uniform(seed, 2, j), -1.0 / 1.5);
    for (size_t c = 0; c < d; c++) K[j * d + c] = r * subq_rng_gauss(seed, 1, j * d + c);
  }
}

static inline void ref_gauss(size_t n, uint64_t seed, double *X) {
  for (size_t i = 0; i < n; i++) X[i] = subq_rng_gauss(seed, 3, i);
}

/* Adversarial keys (n = 300, d = 6): one huge key (17, x 1e6), 60 duplicates (100..159 of
 * key 99), 5 zero keys (200..204); nq queries, the first 10 along the duplicate. */
static inline void ref_adversarial(double *K, size_t nq, double *Q) {
  const size_t n = 300, d = 6;
  ref_gauss(n * d, 9, K);
  for (size_t c = 0; c < d; c++) K[17 * d + c] *= 1e6;
  for (size_t j = 100; j < 160; j++) memcpy(K + j * d, K + 99 * d, d * sizeof *K);
  for (size_t j = 200; j < 205; j++) memset(K + j * d, 0, d * sizeof *K);
  ref_gauss(nq * d, 10, Q);
  for (size_t i = 0; i < 10; i++) memcpy(Q + i * d, K + 99 * d, d * sizeof *K);
}

/* Rank-deficient keys (n = 200, d = 10): Pareto keys of a 4-dimensional subspace. */
static inline void ref_subspace_keys(double *K) {
  const size_t n = 200, d = 10;
  double B[4 * 10], G[200 * 4];
  ref_gauss(40, 11, B);
  ref_pareto_keys(200, 4, 12, G);
  for (size_t j = 0; j < n; j++)
    for (size_t c = 0; c < d; c++) {
      double s = 0;
      for (int t = 0; t < 4; t++) s += G[j * 4 + t] * B[t * d + c];
      K[j * d + c] = s;
    }
}

/* Heavy entries of A_ij = |q_i.k_j|^p / sum_j' |q_i.k_j'|^p >= eps: *heavy counts them,
 * *missed those whose j is not in U (sorted, nU).  causal = 0: over all keys; causal = 1:
 * query i sits at position (7919 i) mod n and attends keys 0..position only. */
static inline void ref_heavy_mask(size_t nq, size_t n, size_t d, int p, const double *Q,
                                  const double *K, double eps, const int64_t *U, size_t nU,
                                  int causal, size_t *heavy, size_t *missed) {
  char *inU = calloc(n, 1);
  for (size_t t = 0; t < nU; t++) inU[U[t]] = 1;
  double *row = malloc(n * sizeof *row);
  *heavy = *missed = 0;
  for (size_t i = 0; i < nq; i++) {
    size_t len = causal ? (i * 7919) % n + 1 : n;
    double sum = 0;
    for (size_t j = 0; j < len; j++) {
      double s = 0;
      for (size_t c = 0; c < d; c++) s += Q[i * d + c] * K[j * d + c];
      row[j] = ref_pow(s, p);
      sum += row[j];
    }
    for (size_t j = 0; sum > 0 && j < len; j++)
      if (row[j] / sum >= eps) {
        (*heavy)++;
        if (!inU[j]) (*missed)++;
      }
  }
  free(row);
  free(inU);
}

/* Non-causal heavy entries (the theorem's setting). */
static inline void ref_heavy(size_t nq, size_t n, size_t d, int p, const double *Q,
                             const double *K, double eps, const int64_t *U, size_t nU,
                             size_t *heavy, size_t *missed) {
  ref_heavy_mask(nq, n, d, p, Q, K, eps, U, nU, 0, heavy, missed);
}
#endif
