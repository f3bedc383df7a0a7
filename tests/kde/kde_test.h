/* Helpers for the kde tests: deterministic clustered points, dense kernel matrices. */
#ifndef SUBQ_KDE_TEST_H
#define SUBQ_KDE_TEST_H
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "subq/kde.h"

/* Point i, coordinate t: center (i % 3) * 1.5 along every axis + 0.5 N(0,1) noise, from the
 * counter RNG keyed by the global index (so any communicator holds the same points). */
static inline double kt_coord_(size_t i, size_t t, size_t d, uint64_t seed) {
  return 1.5 * (double)(i % 3) + 0.5 * subq_rng_gauss(seed, 77, i * d + t);
}

static inline subq_dmat_t *kt_points(MPI_Comm comm, size_t n, size_t d, uint64_t seed) {
  subq_dmat_t *X = NULL;
  if (subq_dmat_create(comm, n, d, SUBQ_F64, &X)) return NULL;
  double *x = (double *)X->data;
  for (size_t i = 0; i < X->nloc; i++)
    for (size_t t = 0; t < d; t++) x[i * d + t] = kt_coord_(X->r0 + i, t, d, seed);
  return X;
}

/* All points, replicated (n x d). */
static inline double *kt_all_points(size_t n, size_t d, uint64_t seed) {
  double *A = malloc(n * d * sizeof *A);
  for (size_t i = 0; i < n; i++)
    for (size_t t = 0; t < d; t++) A[i * d + t] = kt_coord_(i, t, d, seed);
  return A;
}

/* Dense kernel matrix by the scalar definition (independent of the dgemm path). */
static inline double *kt_dense_kernel(const subq_kernel_t *k, const double *A, size_t n, size_t d) {
  double *K = malloc(n * n * sizeof *K);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) {
      double s = 0;
      for (size_t t = 0; t < d; t++) {
        double z = A[i * d + t] - A[j * d + t];
        s += k->type == SUBQ_KERNEL_LAPLACIAN ? fabs(z) : z * z;
      }
      K[i * n + j] = k->type == SUBQ_KERNEL_GAUSSIAN ? exp(-s / (2 * k->h * k->h))
                     : k->type == SUBQ_KERNEL_EXPONENTIAL ? exp(-sqrt(s) / k->h)
                                                          : exp(-s / k->h);
    }
  return K;
}

/* Chi-square statistic of counts against probabilities p (cells with p = 0 must have 0
 * counts, else +inf). */
static inline double kt_chi2(const long *cnt, const double *p, size_t cells, long total) {
  double c2 = 0;
  for (size_t i = 0; i < cells; i++) {
    double ex = p[i] * (double)total;
    if (ex == 0) {
      if (cnt[i]) return INFINITY;
      continue;
    }
    c2 += (cnt[i] - ex) * (cnt[i] - ex) / ex;
  }
  return c2;
}
/* Dense spectrum of the kernel matrix K (n x n) by LAPACK dsyev (independent of the
 * library's dsyevr / ScaLAPACK): vecs (n x n, allocated, caller frees) the eigenvectors as
 * columns, ev (n, allocated) the eigenvalues ascending, *nrm2 = ||K||_F^2 and *best2 =
 * ||K - K_k||_F^2 = nrm2 - sum of the k largest squared eigenvalues.  Returns dsyev's info. */
static inline int kt_dense_spectrum(const double *K, size_t n, size_t k, double **vecs,
                                    double **ev, double *nrm2, double *best2) {
  *vecs = malloc(n * n * sizeof **vecs);
  *ev = malloc(n * sizeof **ev);
  memcpy(*vecs, K, n * n * sizeof **vecs);
  int info = LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'U', (lapack_int)n, *vecs, (lapack_int)n, *ev);
  *nrm2 = 0;
  for (size_t i = 0; i < n * n; i++) *nrm2 += K[i] * K[i];
  *best2 = *nrm2;
  for (size_t j = 0; j < k; j++) *best2 -= (*ev)[n - 1 - j] * (*ev)[n - 1 - j];
  return info;
}

#endif
