/* Random-walk local clustering on the kernel graph with an exact sweep cut. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph_impl.h"

typedef struct {
  double score;
  size_t v;
} cand_t;

static int cmp_cand_(const void *a, const void *b) {
  const cand_t *x = a, *y = b;
  if (x->score != y->score) return x->score > y->score ? -1 : 1;
  return (x->v > y->v) - (x->v < y->v);
}

static int cmp_size_(const void *a, const void *b) {
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  return (x > y) - (x < y);
}

int subq_local_cluster(subq_kde_tree_t *tree, const subq_dmat_t *X, const subq_kernel_t *kernel,
                       const double *deg, size_t seed_vertex, size_t walks, size_t steps,
                       uint64_t seed, size_t max_size, size_t *members, subq_cluster_stats_t *st) {
  int e = 0;
  if (!tree || !X || !kernel || !deg || !members || !st) e = SUBQ_FAIL(SUBQ_ERR_ARG, "NULL argument");
  else if (seed_vertex >= X->n)
    e = SUBQ_FAIL(SUBQ_ERR_ARG, "seed vertex %zu out of range: n = %zu", seed_vertex, X->n);
  else if (walks == 0 || steps == 0 || max_size == 0)
    e = SUBQ_FAIL(SUBQ_ERR_ARG, "walks (%zu), steps (%zu) and max size (%zu) must be >= 1", walks,
                  steps, max_size);
  SUBQ_CALL(subq_error_agree(X ? X->comm : MPI_COMM_WORLD, e));
  memset(st, 0, sizeof *st);
  const size_t d = X->d, n = X->n;
  size_t *start = NULL, *paths = NULL, *ends = NULL;
  cand_t *c = NULL;
  double *rows = NULL, *dex = NULL, *dall = NULL, *Kr = NULL;
  subq_kde_t *ex = NULL;
  e = SUBQ_ALLOC(start, walks);
  if (!e) e = subq_malloc(walks, (steps + 1) * sizeof(size_t), &paths);
  if (!e) e = SUBQ_ALLOC(ends, walks);
  if (!e) e = SUBQ_ALLOC(c, walks);
  if (!e) e = SUBQ_ALLOC(dall, n);
  if (!e) e = subq_malloc(1, (d ? d : 1) * sizeof(double), &rows);
  SUBQ_CALL(subq_error_agree(X->comm, e));
  /* The seed's exact degree (n kernel evaluations): at small bandwidths the estimated
   * degrees deg[] are often 0 for vertices that do have neighbours, so they cannot tell an
   * isolated seed.  The exact oracle also gives the conductance below. */
  double dseed = 0;
  uint64_t ev = 0;
  e = subq_kde_gather_rows(X, 1, &seed_vertex, rows);
  if (!e) e = subq_kde_create(X->comm, SUBQ_KDE_EXACT, &ex);
  if (!e) e = subq_kde_set_kernel(ex, *kernel);
  e = subq_error_agree(X->comm, e);
  if (!e) e = subq_kde_setup(ex, X);
  if (!e) e = subq_kde_query(ex, rows, 1, &dseed, &ev);
  st->exact_evals += ev;
  if (!e && !(dseed - 1.0 > SUBQ_GRAPH_EDGELESS))
    e = SUBQ_FAIL(SUBQ_ERR_NUMERIC,
                  "seed vertex %zu has exact degree %g: the seed is isolated in the kernel "
                  "graph (bandwidth h = %g too small?)", seed_vertex, dseed - 1.0, kernel->h);
  subq_free(&rows);
  e = subq_error_agree(X->comm, e);
  for (size_t t = 0; !e && t < walks; t++) start[t] = seed_vertex;
  if (!e) e = subq_kde_random_walks(tree, walks, start, steps, seed, paths, &st->walk_evals);
  /* empirical endpoint distribution; candidates by p(v)/deg(v) */
  size_t ns = 0;
  for (size_t t = 0; !e && t < walks; t++) ends[t] = paths[t * (steps + 1) + steps];
  if (!e) qsort(ends, walks, sizeof *ends, cmp_size_);
  for (size_t t = 0; !e && t < walks;) {
    size_t u = t;
    while (u < walks && ends[u] == ends[t]) u++;
    c[ns].v = ends[t];
    c[ns].score = (double)(u - t) / (double)walks / fmax(deg[ends[t]], 1e-300);
    ns++;
    t = u;
  }
  if (!e) qsort(c, ns, sizeof *c, cmp_cand_);
  const size_t m = ns < max_size ? ns : max_size;
  st->support = ns;
  /* exact degrees of the candidates and vol V with an exact oracle */
  if (!e) e = subq_malloc(m, d * sizeof(double), &rows);
  if (!e) e = SUBQ_ALLOC(dex, m);
  if (!e) e = SUBQ_ALLOC(Kr, m);
  e = subq_error_agree(X->comm, e);
  for (size_t k = 0; !e && k < m; k++) ends[k] = c[k].v;
  if (!e) e = subq_kde_gather_rows(X, m, ends, rows);
  if (!e) e = subq_kde_query(ex, rows, m, dex, &ev);
  st->exact_evals += ev;
  if (!e) e = subq_kde_query_points(ex, 1.0, dall, &ev);
  st->exact_evals += ev;
  if (!e) {
    double volV = 0, vol = 0, internal = 0, best = INFINITY;
    size_t bestk = 1;
    for (size_t i = 0; i < n; i++) volV += dall[i];
    for (size_t k = 0; k < m; k++) {
      double dk = dex[k] - 1.0; /* minus k(x, x) */
      if (k > 0) {
        e = subq_kernel_block(kernel, 1, k, d, rows + k * d, NULL, rows, NULL, Kr);
        if (e) break;
        st->exact_evals += k;
        for (size_t j = 0; j < k; j++) internal += 2 * Kr[j];
      }
      vol += dk;
      double den = fmin(vol, volV - vol);
      double phi = den > 0 ? (vol - internal) / den : INFINITY;
      if (phi < best) {
        best = phi;
        bestk = k + 1;
        st->volume = vol;
      }
    }
    if (!isfinite(best))
      e = SUBQ_FAIL(SUBQ_ERR_NUMERIC,
                    "every sweep set around seed vertex %zu has exact volume 0 (total volume %g): "
                    "the seed is isolated in the kernel graph (bandwidth h = %g too small?)",
                    seed_vertex, volV, kernel->h);
    st->size = bestk;
    st->conductance = best;
    st->total_volume = volV;
    memcpy(members, ends, bestk * sizeof *members);
  }
  e = subq_error_agree(X->comm, e);
  subq_kde_destroy(&ex);
  subq_free(&start), subq_free(&paths), subq_free(&ends), subq_free(&c);
  subq_free(&rows), subq_free(&dex), subq_free(&dall), subq_free(&Kr);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : SUBQ_OK;
}
