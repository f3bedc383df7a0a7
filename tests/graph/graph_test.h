/* Helpers for the graph tests: clustered points (as the kde tests), dense kernel-graph
 * Laplacians built by the scalar definition, dense LAPACK references. */
#ifndef SUBQ_GRAPH_TEST_H
#define SUBQ_GRAPH_TEST_H
#include <lapacke.h>

#include "../kde/kde_test.h"
#include "subq/graph.h"

/* Degree oracle of `type` over P (per_group samples when > 0), the degrees deg (n) and
 * the KDE tree with leaves of `leaf` points; the oracle in *o (destroy after the tree). */
static inline subq_kde_tree_t *gt_tree(subq_dmat_t *P, subq_kernel_t ker, subq_kde_type_t type,
                                       size_t per_group, uint64_t seed, size_t leaf,
                                       double *deg, subq_kde_t **o) {
  subq_kde_tree_t *T = NULL;
  CHECK_OK(subq_kde_create(P->comm, type, o));
  CHECK_OK(subq_kde_set_kernel(*o, ker));
  if (per_group) CHECK_OK(subq_kde_set_samples(*o, per_group, 1));
  CHECK_OK(subq_kde_set_seed(*o, seed));
  CHECK_OK(subq_kde_setup(*o, P));
  CHECK_OK(subq_kde_query_points(*o, 1.0, deg, NULL));
  CHECK_OK(subq_kde_tree_create(*o, P, leaf, &T));
  return T;
}

/* Dense Laplacian D - W of the kernel graph (n x n) from the dense kernel matrix K. */
static inline double *gt_laplacian(const double *K, size_t n) {
  double *L = malloc(n * n * sizeof *L);
  for (size_t i = 0; i < n; i++) {
    double s = 0;
    for (size_t j = 0; j < n; j++)
      if (j != i) s += K[i * n + j], L[i * n + j] = -K[i * n + j];
    L[i * n + i] = s;
  }
  return L;
}

/* Dense Laplacian of a weighted edge list. */
static inline double *gt_edge_laplacian(size_t n, size_t m, const size_t *E, const double *w) {
  double *L = calloc(n * n, sizeof *L);
  for (size_t e = 0; e < m; e++) {
    size_t a = E[2 * e], b = E[2 * e + 1];
    L[a * n + a] += w[e], L[b * n + b] += w[e];
    L[a * n + b] -= w[e], L[b * n + a] -= w[e];
  }
  return L;
}

/* All eigenvalues (ascending) of a symmetric n x n matrix (copied), LAPACK dsyev. */
static inline void gt_eigvals(const double *A, size_t n, double *ev, double *vecs) {
  double *B = malloc(n * n * sizeof *B);
  memcpy(B, A, n * n * sizeof *B);
  LAPACKE_dsyev(LAPACK_ROW_MAJOR, vecs ? 'V' : 'N', 'U', (lapack_int)n, B, (lapack_int)n, ev);
  if (vecs) memcpy(vecs, B, n * n * sizeof *B);
  free(B);
}

/* Normalised Laplacian D^{-1/2} L D^{-1/2} with D = diag L. */
static inline double *gt_normalized(const double *L, size_t n) {
  double *N = malloc(n * n * sizeof *N);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) N[i * n + j] = L[i * n + j] / sqrt(L[i * n + i] * L[j * n + j]);
  return N;
}
#endif
