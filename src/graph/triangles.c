/* Total triangle weight of the kernel graph: the estimator by weighted edge sampling and a
 * uniform third vertex (BIKSZ, weighted triangles), and the dense reference trace(W^3)/6.
 * See include/subq/graph.h. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "graph/graph_impl.h"

#define BATCH 1024 /* samples per collective (3 BATCH rows gathered) */
#define TILE 256   /* columns of W per dgemm in the dense reference */

/* Each sample: an ordered pair (i, j) with its exact probability pi_ij = P(i) q(j | i)
 * (subq_graph_sample_batch_) and k uniform on V \ {i, j}; since
 *   T = (1/6) sum over ordered (i, j), k != i, j of w_ij w_ik w_jk,
 * X = w_ij w_ik w_jk (n - 2) / (6 pi_ij) has E[X] = T exactly, whatever the KDE estimates'
 * errors (BIKSZ's estimator D (n - 2) w_ik w_jk / 6 is this X when pi_ij = w_ij / D). */
int subq_triangles_estimate(subq_kde_tree_t *tree, const subq_dmat_t *X,
                            const subq_kernel_t *kernel, const double *deg, size_t samples,
                            uint64_t seed, double *estimate, subq_triangles_stats_t *st) {
  SUBQ_CHECK(tree && X && kernel && deg && estimate && st, SUBQ_ERR_ARG, "NULL argument");
  SUBQ_CHECK(samples > 0, SUBQ_ERR_ARG, "triangle samples must be >= 1, got 0");
  SUBQ_CHECK(X->n >= 3, SUBQ_ERR_ARG, "a graph with n = %zu < 3 vertices has no triangles", X->n);
  const size_t n = X->n, d = X->d;
  const double t0 = subq_wtime();
  memset(st, 0, sizeof *st);
  st->n = n, st->samples = samples;
  double D = 0;
  SUBQ_CALL(subq_graph_total_degree_(deg, n, kernel, &D));
  subq_graph_sources_t S = {0};
  size_t *src = NULL, *nbr = NULL, *idx = NULL, nonzero = 0;
  double *rows = NULL, *pi = NULL, *kv = NULL;
  int e = subq_graph_sources_init_(&S, deg, n, samples, seed);
  if (!e) e = SUBQ_ALLOC(src, BATCH);
  if (!e) e = SUBQ_ALLOC(nbr, BATCH);
  if (!e) e = SUBQ_ALLOC(pi, BATCH);
  if (!e) e = SUBQ_ALLOC(kv, BATCH);
  if (!e) e = subq_malloc(BATCH, 3 * sizeof(size_t), &idx);
  if (!e) e = subq_malloc(3 * BATCH, d * sizeof(double), &rows);
  e = subq_error_agree(X->comm, e);
  /* running mean and sum of squared deviations (Welford), identical on every rank */
  double mean = 0, m2 = 0;
  for (size_t a = 0; !e && a < samples; a += BATCH) {
    const size_t b = samples - a < BATCH ? samples - a : BATCH;
    e = subq_graph_sample_batch_(tree, &S, a, b, seed, src, nbr, pi, kv, &st->sample_evals);
    for (size_t t = 0; !e && t < b; t++) { /* k uniform on V \ {i, j} */
      size_t i = src[t], j = nbr[t], lo = i < j ? i : j, hi = i < j ? j : i;
      size_t k = (size_t)subq_rng_below(seed, SUBQ_GRAPH_STREAM_TRIANGLE, a + t, n - 2);
      if (k >= lo) k++;
      if (k >= hi) k++;
      idx[3 * t] = i, idx[3 * t + 1] = j, idx[3 * t + 2] = k;
    }
    if (!e) e = subq_kde_gather_rows(X, 3 * b, idx, rows);
    for (size_t t = 0; !e && t < b; t++) {
      const double *xi = rows + 3 * t * d, *xj = xi + d, *xk = xj + d;
      double x = 0;
      if (kv[t] > 0) {
        x = kv[t] * subq_kernel_eval(kernel, xi, xk, d) * subq_kernel_eval(kernel, xj, xk, d) *
            (double)(n - 2) / (6.0 * pi[t]);
        nonzero++;
      }
      double dl = x - mean;
      mean += dl / (double)(a + t + 1);
      m2 += dl * (x - mean);
    }
    if (!e) st->sample_evals += 2 * b;
    subq_progress("triangle samples", (double)(a + b), (double)samples, t0);
  }
  if (!e && nonzero == 0) e = subq_graph_all_zero_(samples, idx[0], idx[1], kernel);
  subq_free(&src), subq_free(&nbr), subq_free(&pi), subq_free(&kv), subq_free(&idx);
  subq_free(&rows);
  subq_graph_sources_free_(&S);
  if (e) return subq_error_trace(e, __FILE__, __LINE__, __func__);
  *estimate = mean;
  st->std_err = samples > 1 ? sqrt(m2 / (double)(samples - 1) / (double)samples) : NAN;
  st->rel_std_err = st->std_err / fabs(mean);
  double t = 0;
  SUBQ_CALL(subq_time_max(X->comm, subq_wtime() - t0, &t));
  st->time_s = t;
  return SUBQ_OK;
}

int subq_triangles_dense(const subq_dmat_t *X, const subq_kernel_t *kernel, double *T,
                         uint64_t *evals) {
  SUBQ_CHECK(X && kernel && T, SUBQ_ERR_ARG, "NULL argument");
  SUBQ_CHECK(X->dtype == SUBQ_F64 && X->n >= 3, SUBQ_ERR_ARG,
             "points must be float64 with n >= 3 (n = %zu)", X->n);
  const size_t n = X->n, d = X->d, nl = X->nloc;
  double *A = NULL, *Wr = NULL, *Wc = NULL, *M = NULL;
  size_t *idx = NULL;
  int e = subq_malloc(n, d * sizeof(double), &A);
  if (!e) e = SUBQ_ALLOC(idx, n);
  if (!e) e = subq_malloc(nl + 1, n * sizeof(double), &Wr);
  if (!e) e = subq_malloc(n, TILE * sizeof(double), &Wc);
  if (!e) e = subq_malloc(nl + 1, TILE * sizeof(double), &M);
  for (size_t i = 0; !e && i < n; i++) idx[i] = i;
  SUBQ_CALL(subq_error_agree(X->comm, e));
  e = subq_kde_gather_rows(X, n, idx, A);
  /* W_r = K(local rows, all) - I restricted to the local rows */
  if (!e && nl > 0) e = subq_kernel_block(kernel, nl, n, d, A + X->r0 * d, NULL, A, NULL, Wr);
  for (size_t i = 0; !e && i < nl; i++) Wr[i * n + X->r0 + i] = 0;
  double part = 0;
  for (size_t c = 0; !e && c < n; c += TILE) {
    const size_t cb = n - c < TILE ? n - c : TILE;
    e = subq_kernel_block(kernel, n, cb, d, A, NULL, A + c * d, NULL, Wc); /* W[:, c..] */
    for (size_t j = 0; !e && j < cb; j++) Wc[(c + j) * cb + j] = 0;
    if (e || nl == 0) continue;
    /* M = W_r W[:, c..c+cb)  (nl x cb) */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nl, (int)cb, (int)n, 1.0, Wr,
                (int)n, Wc, (int)cb, 0.0, M, (int)cb);
    for (size_t i = 0; i < nl; i++)
      for (size_t j = 0; j < cb; j++) part += Wr[i * n + c + j] * M[i * cb + j];
  }
  e = subq_error_agree(X->comm, e);
  double tot = 0;
  if (!e && MPI_Allreduce(&part, &tot, 1, MPI_DOUBLE, MPI_SUM, X->comm) != MPI_SUCCESS)
    e = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce of the triangle weight failed");
  subq_free(&A), subq_free(&idx), subq_free(&Wr), subq_free(&Wc), subq_free(&M);
  if (e) return subq_error_trace(e, __FILE__, __LINE__, __func__);
  *T = tot / 6.0;
  if (evals) *evals = (uint64_t)n * n;
  return SUBQ_OK;
}
