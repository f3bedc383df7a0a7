/* Edge samples of the kernel graph with the exact probability of every draw, for the
 * estimators of src/graph that sum importance weights over sampled edges (arboricity,
 * weighted triangles): systematic sources from a defensive mixture of the degree
 * estimates and the uniform distribution, neighbours from the KDE tree with their exact
 * probability q(j | i) (BIKSZ arXiv 2212.00642, weighted edge sampling, with the sampled
 * probability in the weights as for the sparsifier).  See graph_impl.h. */
#include <math.h>
#include <stdlib.h>

#include "graph/graph_impl.h"

#define SOURCE_MIX 0.5 /* weight a of the uniform distribution in the source mixture */

int subq_graph_sources_init_(subq_graph_sources_t *S, const double *deg, size_t n, size_t T,
                             uint64_t seed) {
  S->n = n, S->T = T, S->cum = NULL;
  SUBQ_CALL(SUBQ_ALLOC(S->cum, n + 1));
  double D = 0;
  for (size_t i = 0; i < n; i++) D += deg[i] > 0 ? deg[i] : 0;
  const double a = D > 0 && isfinite(D) ? SOURCE_MIX : 1.0;
  S->cum[0] = 0;
  for (size_t i = 0; i < n; i++) {
    const double di = a < 1 && deg[i] > 0 ? deg[i] / D : 0;
    S->cum[i + 1] = S->cum[i] + (1 - a) * di + a / (double)n;
  }
  S->u = subq_rng_uniform(seed, SUBQ_GRAPH_STREAM_SOURCE, 0);
  return SUBQ_OK;
}

void subq_graph_sources_free_(subq_graph_sources_t *S) { subq_free(&S->cum); }

/* The source of global sample g: the i with cum[i] <= y < cum[i + 1]. */
static size_t source_(const subq_graph_sources_t *S, size_t g) {
  const double y = ((double)g + S->u) / (double)S->T * S->cum[S->n];
  size_t lo = 0, hi = S->n; /* invariant: cum[lo] <= y, answer < hi */
  while (hi - lo > 1) {
    const size_t mid = lo + (hi - lo) / 2;
    if (S->cum[mid] <= y) lo = mid;
    else hi = mid;
  }
  return lo;
}

int subq_graph_sample_batch_(subq_kde_tree_t *tree, const subq_graph_sources_t *S, size_t b0,
                             size_t bs, uint64_t seed, size_t *src, size_t *nbr, double *pi,
                             double *kval, uint64_t *evals) {
  for (size_t t = 0; t < bs; t++) src[t] = source_(S, b0 + t);
  uint64_t ev = 0;
  SUBQ_CALL(subq_kde_tree_sample_neighbors_prob(tree, bs, src, seed, nbr, pi, kval, NULL, &ev));
  const double total = S->cum[S->n];
  for (size_t t = 0; t < bs; t++) pi[t] *= (S->cum[src[t] + 1] - S->cum[src[t]]) / total;
  *evals += ev;
  return SUBQ_OK;
}

static int cmp_edge_(const void *a, const void *b) {
  const subq_graph_edge_t *x = a, *y = b;
  if (x->i != y->i) return x->i < y->i ? -1 : 1;
  return (x->j > y->j) - (x->j < y->j);
}

size_t subq_graph_merge_edges_(subq_graph_edge_t *E, size_t T) {
  qsort(E, T, sizeof *E, cmp_edge_);
  size_t m = 0;
  for (size_t t = 0; t < T; t++) {
    if (!(E[t].w > 0)) continue; /* a sample of kernel value 0 adds nothing */
    if (m > 0 && E[m - 1].i == E[t].i && E[m - 1].j == E[t].j) E[m - 1].w += E[t].w;
    else E[m++] = E[t];
  }
  return m;
}

int subq_graph_all_zero_(size_t T, size_t i, size_t j, const subq_kernel_t *kernel) {
  return SUBQ_FAIL(SUBQ_ERR_NUMERIC,
                   "every one of the %zu sampled edges (e.g. (%zu, %zu)) has kernel value 0: the "
                   "degree estimates and the KDE tree saw no neighbours -- the kernel graph is "
                   "near-disconnected (bandwidth h = %g too small for these points?)", T, i, j,
                   kernel->h);
}
