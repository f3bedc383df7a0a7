/* Exact fractional arboricity of a weighted graph by forced-vertex minimum cuts (igraph's
 * push-relabel maximum flow), and the arboricity of the kernel graph: the estimator by
 * weighted edge sampling (BIKSZ) and the dense reference.  See include/subq/graph.h. */
#include <igraph/igraph.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph_impl.h"

#define REL 1e-12 /* relative tolerance of the ratio comparisons */

/* Symmetric adjacency (CSR) with merged duplicates. */
typedef struct {
  size_t n;
  size_t *ptr; /* n + 1 */
  size_t *adj; /* ptr[n] */
  double *w;   /* ptr[n] */
} csr_t;

typedef struct {
  size_t j;
  double w;
} ent_t;

static int cmp_ent_(const void *a, const void *b) {
  size_t x = ((const ent_t *)a)->j, y = ((const ent_t *)b)->j;
  return (x > y) - (x < y);
}

static void csr_free_(csr_t *g) {
  subq_free(&g->ptr), subq_free(&g->adj), subq_free(&g->w);
}

static int csr_build_(size_t n, size_t m, const size_t *E, const double *w, csr_t *g) {
  ent_t *buf = NULL;
  memset(g, 0, sizeof *g);
  g->n = n;
  size_t *fill = NULL, nnz = 2 * m;
  int e = SUBQ_ZALLOC(g->ptr, n + 1);
  if (!e) e = SUBQ_ALLOC(fill, n);
  if (!e) e = SUBQ_ALLOC(buf, nnz);
  if (!e) e = SUBQ_ALLOC(g->adj, nnz);
  if (!e) e = SUBQ_ALLOC(g->w, nnz);
  if (e) goto done;
  for (size_t k = 0; k < m; k++) g->ptr[E[2 * k] + 1]++, g->ptr[E[2 * k + 1] + 1]++;
  for (size_t i = 0; i < n; i++) g->ptr[i + 1] += g->ptr[i], fill[i] = g->ptr[i];
  for (size_t k = 0; k < m; k++) {
    size_t a = E[2 * k], b = E[2 * k + 1];
    buf[fill[a]++] = (ent_t){b, w[k]};
    buf[fill[b]++] = (ent_t){a, w[k]};
  }
  size_t out = 0;
  for (size_t i = 0; i < n; i++) { /* sort each row, merge repeated neighbours */
    size_t lo = g->ptr[i], hi = g->ptr[i + 1];
    qsort(buf + lo, hi - lo, sizeof *buf, cmp_ent_);
    g->ptr[i] = out;
    for (size_t p = lo; p < hi; p++) {
      if (out > g->ptr[i] && g->adj[out - 1] == buf[p].j) {
        g->w[out - 1] += buf[p].w;
      } else {
        g->adj[out] = buf[p].j;
        g->w[out++] = buf[p].w;
      }
    }
  }
  g->ptr[n] = out;
done:
  subq_free(&fill), subq_free(&buf);
  if (e) csr_free_(g);
  return e;
}

/* State of the search: alive vertices and their degrees among the alive ones. */
typedef struct {
  const csr_t *g;
  char *alive;
  double *deg;
  size_t nalive;
  size_t *queue;
  double wmax;
  double *heavy; /* heavy[q] = sum of the q heaviest edge weights of the graph, q <= m */
  size_t m;
} state_t;

/* B(k): the C(k, 2) heaviest edges of the whole graph (an upper bound on w(E(S)), |S| = k). */
static double heavy_(const state_t *s, size_t k) {
  size_t q = k * (k - 1) / 2;
  return s->heavy[q < s->m ? q : s->m];
}

static void kill_(state_t *s, size_t v) {
  s->alive[v] = 0;
  s->nalive--;
  for (size_t p = s->g->ptr[v]; p < s->g->ptr[v + 1]; p++)
    if (s->alive[s->g->adj[p]]) s->deg[s->g->adj[p]] -= s->g->w[p];
}

/* Remove every vertex whose degree among the alive ones is below lambda (not in any set
 * of ratio > lambda that is optimal), repeatedly. */
static void peel_(state_t *s, double lambda) {
  const double thr = lambda * (1 - REL);
  size_t qn = 0;
  for (size_t v = 0; v < s->g->n; v++)
    if (s->alive[v] && s->deg[v] <= thr) s->queue[qn++] = v, s->alive[v] = 2;
  for (size_t q = 0; q < qn; q++) {
    size_t v = s->queue[q];
    s->alive[v] = 1;
    kill_(s, v);
    for (size_t p = s->g->ptr[v]; p < s->g->ptr[v + 1]; p++) {
      size_t u = s->g->adj[p];
      if (s->alive[u] == 1 && s->deg[u] <= thr) s->queue[qn++] = u, s->alive[u] = 2;
    }
  }
}

static int cmp_desc_(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x < y) - (x > y);
}

/* Upper bound on the ratio of any set S of k alive vertices (tmp: n doubles), the max over
 * k of the least of three bounds on w(E(S)) / (k - 1): B(k) (the C(k, 2) heaviest edges of
 * the whole graph), half the k largest alive degrees, and, through the complement U of
 * j = |A| - k vertices, w(E(A)) - (the j smallest alive degrees) + B(j). */
static double bound_(const state_t *s, double *tmp) {
  size_t k = 0;
  double WA = 0;
  for (size_t v = 0; v < s->g->n; v++)
    if (s->alive[v]) tmp[k++] = s->deg[v], WA += 0.5 * s->deg[v];
  if (k < 2) return 0;
  qsort(tmp, k, sizeof *tmp, cmp_desc_);
  /* tmp[k..2k): suffix sums of the smallest degrees: small[j] = sum of the j smallest */
  double best = 0, top = tmp[0], *small = tmp + k;
  small[0] = 0;
  for (size_t j = 1; j < k; j++) small[j] = small[j - 1] + tmp[k - j];
  for (size_t j = 2; j <= k; j++) {
    top += tmp[j - 1];
    double b = fmin(heavy_(s, j), 0.5 * top);
    if (j < k) b = fmin(b, WA - small[k - j] + heavy_(s, k - j));
    best = fmax(best, b / (double)(j - 1));
  }
  return best;
}

static double set_weight_(const csr_t *g, const char *in, const size_t *S, size_t k) {
  double t = 0;
  for (size_t a = 0; a < k; a++)
    for (size_t p = g->ptr[S[a]]; p < g->ptr[S[a] + 1]; p++)
      if (in[g->adj[p]]) t += g->w[p];
  return 0.5 * t;
}

/* The best set S containing v among the alive vertices for
 * max w(E(S)) - lambda |S| (Goldberg's network, v tied to the source): S in S (its size
 * in *k).  id, S, in: n each (scratch). */
static int forced_cut_(const state_t *s, size_t v, double lambda, long *id, size_t *S, size_t *k,
                       char *in) {
  const csr_t *g = s->g;
  const size_t n = g->n;
  size_t na = 0, narcs = 0;
  for (size_t u = 0; u < n; u++) id[u] = s->alive[u] ? (long)na++ : -1;
  const igraph_integer_t src = (igraph_integer_t)na, snk = (igraph_integer_t)na + 1;
  for (size_t u = 0; u < n; u++) {
    if (!s->alive[u]) continue;
    narcs++;
    for (size_t p = g->ptr[u]; p < g->ptr[u + 1]; p++) narcs += s->alive[g->adj[p]] != 0;
  }
  igraph_vector_int_t arcs, part;
  igraph_vector_t cap;
  igraph_t net;
  int have_net = 0, e = 0;
  if (igraph_vector_int_init(&arcs, 2 * (igraph_integer_t)narcs) != IGRAPH_SUCCESS)
    return SUBQ_FAIL(SUBQ_ERR_MEM, "igraph: %zu arcs", narcs);
  if (igraph_vector_init(&cap, (igraph_integer_t)narcs) != IGRAPH_SUCCESS) {
    igraph_vector_int_destroy(&arcs);
    return SUBQ_FAIL(SUBQ_ERR_MEM, "igraph: %zu capacities", narcs);
  }
  if (igraph_vector_int_init(&part, 0) != IGRAPH_SUCCESS) {
    igraph_vector_int_destroy(&arcs), igraph_vector_destroy(&cap);
    return SUBQ_FAIL(SUBQ_ERR_MEM, "igraph: partition");
  }
  size_t a = 0;
  double total = 0;
  for (size_t u = 0; u < n; u++) {
    if (!s->alive[u]) continue;
    double c = 2 * lambda - s->deg[u];
    for (size_t p = g->ptr[u]; p < g->ptr[u + 1]; p++) {
      if (!s->alive[g->adj[p]]) continue;
      VECTOR(arcs)[2 * a] = id[u];
      VECTOR(arcs)[2 * a + 1] = id[g->adj[p]];
      VECTOR(cap)[a++] = g->w[p];
      total += g->w[p];
    }
    /* u in S costs c: c > 0 an arc u -> t; c < 0 an arc s -> u of -c (a constant off) */
    if (u == v) {
      VECTOR(arcs)[2 * a] = src, VECTOR(arcs)[2 * a + 1] = id[u], VECTOR(cap)[a++] = -1;
    } else if (c > 0) {
      VECTOR(arcs)[2 * a] = id[u], VECTOR(arcs)[2 * a + 1] = snk, VECTOR(cap)[a++] = c;
    } else {
      VECTOR(arcs)[2 * a] = src, VECTOR(arcs)[2 * a + 1] = id[u], VECTOR(cap)[a++] = -c;
    }
    total += fabs(c);
  }
  for (size_t q = 0; q < a; q++) /* v's arc: more than every other arc together */
    if (VECTOR(cap)[q] < 0) VECTOR(cap)[q] = 2 * total + 1;
  igraph_real_t flow = 0;
  if (igraph_create(&net, &arcs, (igraph_integer_t)na + 2, IGRAPH_DIRECTED) != IGRAPH_SUCCESS)
    e = SUBQ_FAIL(SUBQ_ERR_INTERNAL, "igraph_create of the flow network (%zu arcs) failed", narcs);
  else have_net = 1;
  if (!e && igraph_maxflow(&net, &flow, NULL, NULL, &part, NULL, src, snk, &cap, NULL) !=
                IGRAPH_SUCCESS)
    e = SUBQ_FAIL(SUBQ_ERR_INTERNAL, "igraph_maxflow on %zu vertices, %zu arcs failed", na + 2,
                  narcs);
  if (!e) {
    memset(in, 0, n);
    size_t np = (size_t)igraph_vector_int_size(&part);
    for (size_t q = 0; q < np; q++) {
      igraph_integer_t x = VECTOR(part)[q];
      if (x < src) in[x] = 1; /* x is an alive-vertex id */
    }
    *k = 0;
    for (size_t u = 0; u < n; u++) {
      int sel = id[u] >= 0 && in[id[u]];
      if (sel) S[(*k)++] = u;
    }
    memset(in, 0, n);
    for (size_t q = 0; q < *k; q++) in[S[q]] = 1;
    if (!in[v]) e = SUBQ_FAIL(SUBQ_ERR_INTERNAL, "forced vertex %zu not on the source side", v);
  }
  if (have_net) igraph_destroy(&net);
  igraph_vector_int_destroy(&arcs), igraph_vector_destroy(&cap), igraph_vector_int_destroy(&part);
  return e;
}

static int cmp_deg_(const void *a, const void *b, void *ctx) {
  const double *d = ctx;
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  if (d[x] != d[y]) return d[x] > d[y] ? -1 : 1;
  return (x > y) - (x < y);
}

int subq_graph_arboricity_exact(size_t n, size_t m, const size_t *edges, const double *w,
                                double *alpha, size_t *set_size, size_t *flows) {
  SUBQ_CHECK(alpha != NULL && (m == 0 || (edges && w)), SUBQ_ERR_ARG, "NULL argument");
  SUBQ_CHECK(n >= 2 && m >= 1, SUBQ_ERR_ARG,
             "arboricity needs at least 2 vertices and 1 edge, got n = %zu, m = %zu", n, m);
  for (size_t k = 0; k < m; k++) {
    SUBQ_CHECK(edges[2 * k] < n && edges[2 * k + 1] < n && edges[2 * k] != edges[2 * k + 1],
               SUBQ_ERR_ARG, "edge %zu = (%zu, %zu) is a self-loop or has an index >= n = %zu",
               k, edges[2 * k], edges[2 * k + 1], n);
    SUBQ_CHECK(w[k] > 0 && isfinite(w[k]), SUBQ_ERR_ARG, "edge %zu has weight %g (must be > 0)",
               k, w[k]);
  }
  static int igraph_quiet_ = 0; /* igraph's one-time setting: return errors, never abort */
  if (!igraph_quiet_) igraph_set_error_handler(igraph_error_handler_ignore), igraph_quiet_ = 1;
  csr_t g;
  SUBQ_CALL(csr_build_(n, m, edges, w, &g));
  state_t s = {&g, NULL, NULL, n, NULL, 0, NULL, g.ptr[n] / 2};
  size_t *order = NULL, *S = NULL, nflows = 0, best_k = 2;
  long *id = NULL;
  double *tmp = NULL;
  char *in = NULL;
  int e = SUBQ_ALLOC(s.alive, n);
  if (!e) e = SUBQ_ZALLOC(s.deg, n);
  if (!e) e = SUBQ_ALLOC(s.queue, n);
  if (!e) e = SUBQ_ALLOC(order, n);
  if (!e) e = SUBQ_ALLOC(S, n);
  if (!e) e = SUBQ_ALLOC(id, n);
  if (!e) e = SUBQ_ALLOC(tmp, 2 * n);
  if (!e) e = SUBQ_ALLOC(in, n);
  if (!e) e = SUBQ_ALLOC(s.heavy, s.m + 1);
  double lambda = 0, W = 0;
  if (!e) {
    for (size_t v = 0; v < n; v++) {
      s.alive[v] = 1;
      order[v] = v;
      for (size_t p = g.ptr[v]; p < g.ptr[v + 1]; p++)
        s.deg[v] += g.w[p], s.wmax = fmax(s.wmax, g.w[p]);
      W += 0.5 * s.deg[v];
    }
    qsort_r(order, n, sizeof *order, cmp_deg_, s.deg);
    size_t q = 0; /* the merged weights, each edge once, heaviest first */
    for (size_t v = 0; v < n; v++)
      for (size_t p = g.ptr[v]; p < g.ptr[v + 1]; p++)
        if (g.adj[p] > v) s.heavy[1 + q++] = g.w[p];
    qsort(s.heavy + 1, q, sizeof *s.heavy, cmp_desc_);
    s.heavy[0] = 0;
    for (size_t r = 1; r <= q; r++) s.heavy[r] += s.heavy[r - 1];
    lambda = s.wmax; /* the heaviest edge: a set of 2 */
    if (W / (double)(n - 1) > lambda) lambda = W / (double)(n - 1), best_k = n;
    peel_(&s, lambda);
  }
  const double t0 = subq_wtime();
  for (size_t i = 0; !e && i < n; i++) {
    const size_t v = order[i];
    if (!s.alive[v]) continue;
    if (bound_(&s, tmp) <= lambda * (1 + REL)) break;
    while (!e && s.alive[v]) {
      size_t k = 0;
      e = forced_cut_(&s, v, lambda, id, S, &k, in);
      nflows++;
      if (e || k < 2) break;
      double r = set_weight_(&g, in, S, k) / (double)(k - 1);
      if (!(r > lambda * (1 + REL))) break;
      lambda = r, best_k = k;
      peel_(&s, lambda);
    }
    if (!e && s.alive[v]) kill_(&s, v), peel_(&s, lambda);
    subq_progress("arboricity (exact) vertices", (double)(n - s.nalive), (double)n, t0);
  }
  if (!e) {
    *alpha = lambda;
    if (set_size) *set_size = best_k;
    if (flows) *flows = nflows;
  }
  csr_free_(&g);
  subq_free(&s.alive), subq_free(&s.deg), subq_free(&s.queue), subq_free(&order);
  subq_free(&S), subq_free(&id), subq_free(&tmp), subq_free(&in), subq_free(&s.heavy);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : SUBQ_OK;
}

int subq_graph_total_degree_(const double *deg, size_t n, const subq_kernel_t *kernel, double *D) {
  double t = 0;
  for (size_t i = 0; i < n; i++) t += deg[i];
  SUBQ_CHECK(t > SUBQ_GRAPH_EDGELESS * (double)n, SUBQ_ERR_NUMERIC,
             "mean degree estimate %g over %zu vertices: the kernel graph is numerically "
             "edgeless (disconnected or near-disconnected; bandwidth h = %g too small for these "
             "points?)", t / (double)n, n, kernel->h);
  *D = t;
  return SUBQ_OK;
}

/* Rank 0 computes, everyone gets (alpha, set size, flows) and the agreed error. */
static int exact_on_root_(MPI_Comm comm, size_t n, size_t m, const size_t *E, const double *w,
                          double *alpha, size_t *set_size, size_t *flows) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  double out[3] = {0, 0, 0};
  int e = 0;
  if (rank == 0) {
    size_t k = 0, f = 0;
    e = subq_graph_arboricity_exact(n, m, E, w, &out[0], &k, &f);
    out[1] = (double)k, out[2] = (double)f;
  }
  SUBQ_CALL(subq_error_agree(comm, e));
  if (MPI_Bcast(out, 3, MPI_DOUBLE, 0, comm) != MPI_SUCCESS)
    return SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Bcast of the arboricity failed");
  *alpha = out[0];
  if (set_size) *set_size = (size_t)out[1];
  if (flows) *flows = (size_t)out[2];
  return SUBQ_OK;
}

#define BATCH 8192

/* The estimator (BIKSZ arXiv 2212.00642, arboricity estimation: the arboricity of a
 * reweighted sample of edges; McGregor-Tench-Vorotnikova-Vu 2015, Thm 1, for the
 * concentration of every w(E(S)) at once).  BIKSZ draw an edge with probability
 * p_e = w_e / w(E) and give every sample the weight w(E) / T, which is right only when
 * the degree estimates (hence w(E) and p_e) are.  Here each sample is an ordered pair
 * (i, j) drawn with the exact probability pi_ij = P(i) q(j | i) (systematic sources P,
 * the tree's q) and adds the Hansen-Hurwitz weight w_ij / (2 T pi_ij) to the edge {i, j}:
 * since E[samples of (i, j)] = T pi_ij, E[w_H({i, j})] = w_ij / 2 + w_ji / 2 = w_ij for
 * every edge, so E[w_H(E(S))] = w(E(S)) for every S, whatever the KDE estimates' errors
 * (the same importance weights as the sparsifier's, BIKSZ Sec. 4 with the sampled
 * probability).  When the estimates are exact a sample from i weighs
 * (w(E) / T) * 2 / (1 + dbar / d_i) < 2 w(E) / T (dbar the mean degree): BIKSZ's w(E) / T
 * up to the source mixture's factor. */
int subq_arboricity_estimate(subq_kde_tree_t *tree, const subq_dmat_t *X,
                             const subq_kernel_t *kernel, const double *deg, size_t samples,
                             uint64_t seed, double *alpha, subq_arboricity_stats_t *st) {
  SUBQ_CHECK(tree && X && kernel && deg && alpha && st, SUBQ_ERR_ARG, "NULL argument");
  SUBQ_CHECK(samples > 0, SUBQ_ERR_ARG, "edge samples must be >= 1, got 0");
  const size_t n = X->n;
  const double t0 = subq_wtime();
  memset(st, 0, sizeof *st);
  st->n = n, st->samples = samples;
  double D = 0;
  SUBQ_CALL(subq_graph_total_degree_(deg, n, kernel, &D));
  subq_graph_sources_t S = {0};
  subq_graph_edge_t *H = NULL;
  size_t *src = NULL, *nbr = NULL, *E = NULL, m = 0;
  double *pi = NULL, *kv = NULL, *w = NULL;
  int e = subq_graph_sources_init_(&S, deg, n, samples, seed);
  if (!e) e = subq_malloc(samples, sizeof *H, &H);
  if (!e) e = SUBQ_ALLOC(src, BATCH);
  if (!e) e = SUBQ_ALLOC(nbr, BATCH);
  if (!e) e = SUBQ_ALLOC(pi, BATCH);
  if (!e) e = SUBQ_ALLOC(kv, BATCH);
  e = subq_error_agree(X->comm, e);
  for (size_t a = 0; !e && a < samples; a += BATCH) {
    const size_t b = samples - a < BATCH ? samples - a : BATCH;
    e = subq_graph_sample_batch_(tree, &S, a, b, seed, src, nbr, pi, kv, &st->sample_evals);
    for (size_t t = 0; !e && t < b; t++) {
      const size_t i = src[t], j = nbr[t];
      H[a + t] = (subq_graph_edge_t){i < j ? i : j, i < j ? j : i,
                                     kv[t] > 0 ? kv[t] / (2.0 * (double)samples * pi[t]) : 0.0};
    }
    subq_progress("arboricity edge samples", (double)(a + b), (double)samples, t0);
  }
  if (!e) {
    const size_t i0 = H[0].i, j0 = H[0].j;
    m = subq_graph_merge_edges_(H, samples);
    if (m == 0) e = subq_graph_all_zero_(samples, i0, j0, kernel);
  }
  if (!e) e = subq_malloc(m, 2 * sizeof(size_t), &E);
  if (!e) e = SUBQ_ALLOC(w, m);
  e = subq_error_agree(X->comm, e);
  for (size_t k = 0; !e && k < m; k++) {
    E[2 * k] = H[k].i, E[2 * k + 1] = H[k].j, w[k] = H[k].w;
    st->total_weight += H[k].w;
  }
  st->edges = m;
  subq_free(&H), subq_free(&src), subq_free(&nbr), subq_free(&pi), subq_free(&kv);
  subq_graph_sources_free_(&S);
  if (!e) e = exact_on_root_(X->comm, n, m, E, w, alpha, &st->set_size, &st->flows);
  subq_free(&E), subq_free(&w);
  double t = 0;
  if (!e) e = subq_time_max(X->comm, subq_wtime() - t0, &t);
  st->time_s = t;
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : SUBQ_OK;
}

int subq_arboricity_dense(const subq_dmat_t *X, const subq_kernel_t *kernel, double *alpha,
                          size_t *set_size, uint64_t *evals) {
  SUBQ_CHECK(X && kernel && alpha, SUBQ_ERR_ARG, "NULL argument");
  SUBQ_CHECK(X->dtype == SUBQ_F64 && X->n >= 2, SUBQ_ERR_ARG,
             "points must be float64 with n >= 2 (n = %zu)", X->n);
  const size_t n = X->n, d = X->d;
  double *A = NULL, *K = NULL, *w = NULL;
  size_t *idx = NULL, *E = NULL, m = 0;
  int rank;
  MPI_Comm_rank(X->comm, &rank);
  int e = subq_malloc(n, d * sizeof(double), &A);
  if (!e) e = SUBQ_ALLOC(idx, n);
  for (size_t i = 0; !e && i < n; i++) idx[i] = i;
  if (!e && rank == 0) {
    size_t half = n * (n - 1) / 2;
    e = subq_malloc(half, 2 * sizeof(size_t), &E);
    if (!e) e = SUBQ_ALLOC(w, half);
    if (!e) e = subq_malloc(256, n * sizeof(double), &K);
  }
  SUBQ_CALL(subq_error_agree(X->comm, e));
  e = subq_kde_gather_rows(X, n, idx, A);
  for (size_t r = 0; !e && rank == 0 && r < n; r += 256) { /* row tiles of K */
    size_t rb = n - r < 256 ? n - r : 256;
    e = subq_kernel_block(kernel, rb, n, d, A + r * d, NULL, A, NULL, K);
    for (size_t i = r; !e && i < r + rb; i++)
      for (size_t j = i + 1; j < n; j++) {
        double kv = K[(i - r) * n + j];
        if (kv > 1e-300) E[2 * m] = i, E[2 * m + 1] = j, w[m++] = kv;
      }
  }
  if (!e && rank == 0 && m == 0)
    e = SUBQ_FAIL(SUBQ_ERR_NUMERIC,
                  "every kernel value is below 1e-300: the kernel graph has no edges (bandwidth "
                  "h = %g too small for these points?)", kernel->h);
  subq_free(&K), subq_free(&A), subq_free(&idx);
  e = subq_error_agree(X->comm, e);
  if (!e) e = exact_on_root_(X->comm, n, m, E, w, alpha, set_size, NULL);
  subq_free(&E), subq_free(&w);
  if (!e && evals) *evals = (uint64_t)n * (n - 1) / 2;
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : SUBQ_OK;
}
