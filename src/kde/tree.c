/* Binary tree of KDE oracles for weighted edge sampling and random walks (BIKSZ,
 * weighted edge sampling: descend from the root, choosing a child with probability
 * proportional to its KDE estimate of sum_{j in child, j != i} k(x_i, x_j); O(log n)
 * queries per sample).  Nodes are contiguous global index ranges [lo, hi) split in
 * halves; a child with at most max(leaf_size, samples of one query) points gets an exact
 * oracle (cheaper than the estimator there); leaves are resolved by one exponential race
 * (argmin_j E_j / k(x_i, x_j), E_j = -ln U_j keyed by the global j), which picks j with
 * probability k(x_i, x_j) / sum and does not depend on the rank count. */
#include <math.h>
#include <string.h>

#include "kde/kde_impl.h"

typedef struct {
  size_t lo, hi;
  long left, right; /* child node ids, -1 for a leaf */
  subq_kde_t *kde;  /* oracle over [lo, hi); NULL for the root */
} node_t;

struct subq_kde_tree {
  const subq_dmat_t *X;
  subq_kernel_t kernel;
  node_t *nodes;
  size_t nnodes, cap, depth;
  uint64_t count; /* samples drawn so far (numbering) */
};

static int build_(subq_kde_tree_t *T, const subq_kde_t *proto, size_t lo, size_t hi,
                  size_t leaf, size_t depth, long *id) {
  long me = (long)T->nnodes++;
  node_t *v = T->nodes + me;
  v->lo = lo;
  v->hi = hi;
  v->left = v->right = -1;
  if (depth > T->depth) T->depth = depth;
  *id = me;
  if (me > 0) {
    size_t m = proto->per_group * proto->groups;
    subq_kde_type_t type = proto->type;
    if (hi - lo <= leaf || (type == SUBQ_KDE_SAMPLING && hi - lo <= m)) type = SUBQ_KDE_EXACT;
    SUBQ_CALL(subq_error_agree(proto->comm, subq_kde_create(proto->comm, type, &v->kde)));
    subq_kde_t *k = v->kde;
    k->kernel = proto->kernel;
    k->eps = proto->eps;
    k->delta = proto->delta;
    k->tau = proto->tau;
    k->per_group = proto->per_group;
    k->groups = proto->groups;
    k->clusters = proto->clusters;
    k->probe = proto->probe;
    k->seed = proto->seed;
    k->stream = (uint64_t)me + 1;
    SUBQ_CALL(subq_kde_setup_range_(k, T->X, lo, hi - lo));
  }
  if (hi - lo <= leaf) return SUBQ_OK;
  size_t mid = lo + (hi - lo) / 2;
  long l, r;
  SUBQ_CALL(build_(T, proto, lo, mid, leaf, depth + 1, &l));
  SUBQ_CALL(build_(T, proto, mid, hi, leaf, depth + 1, &r));
  T->nodes[me].left = l;
  T->nodes[me].right = r;
  return SUBQ_OK;
}

int subq_kde_tree_create(const subq_kde_t *proto, const subq_dmat_t *X, size_t leaf_size,
                         subq_kde_tree_t **out) {
  SUBQ_CHECK(out != NULL, SUBQ_ERR_ARG, "output pointer is NULL");
  *out = NULL;
  SUBQ_CHECK(proto && proto->ready, SUBQ_ERR_ARG, "prototype oracle is not set up");
  SUBQ_CHECK(X && X->n == proto->n && X->d == proto->d, SUBQ_ERR_ARG,
             "points X do not match the prototype oracle's points");
  SUBQ_CHECK(leaf_size >= 1, SUBQ_ERR_ARG, "leaf size must be >= 1, got 0");
  subq_kde_tree_t *T = NULL;
  int e = SUBQ_ZALLOC(T, 1);
  if (!e) {
    T->X = X;
    T->kernel = proto->kernel;
    /* halving gives at most 2 ceil(n / leaf) - 1 nodes; allow slack */
    T->cap = 4 * (X->n / leaf_size + 2);
    e = SUBQ_ZALLOC(T->nodes, T->cap);
  }
  SUBQ_CALL(subq_error_agree(proto->comm, e));
  long root;
  e = build_(T, proto, 0, X->n, leaf_size, 0, &root);
  if (e) {
    subq_kde_tree_destroy(&T);
    return subq_error_trace(e, __FILE__, __LINE__, __func__);
  }
  *out = T;
  return SUBQ_OK;
}

void subq_kde_tree_destroy(subq_kde_tree_t **pt) {
  if (!pt || !*pt) return;
  subq_kde_tree_t *T = *pt;
  for (size_t i = 0; T->nodes && i < T->nnodes; i++) subq_kde_destroy(&T->nodes[i].kde);
  subq_free(&T->nodes);
  subq_free(pt);
}

/* Leaf phase: every sample t sits at leaf cur[t]; exponential race over the leaf. */
static int leaf_race_(subq_kde_tree_t *T, size_t s, const size_t *src, const double *Ys,
                      const long *cur, uint64_t seed, uint64_t first, size_t *nbr,
                      uint64_t *evals) {
  const subq_dmat_t *X = T->X;
  const size_t d = X->d;
  const double *Xl = (const double *)X->data;
  struct {
    double key;
    int j;
  } *mk = NULL;
  SUBQ_CALL(subq_malloc(s, sizeof *mk, &mk));
  uint64_t ev = 0;
  for (size_t t = 0; t < s; t++) {
    const node_t *v = T->nodes + cur[t];
    mk[t].key = INFINITY;
    mk[t].j = -1;
    for (size_t j = v->lo; j < v->hi; j++) {
      if (j == src[t] || j < X->r0 || j >= X->r0 + X->nloc) continue;
      double kv = subq_kernel_eval(&T->kernel, Xl + (j - X->r0) * d, Ys + t * d, d);
      ev++;
      double u = subq_rng_uniform(seed, SUBQ_KDE_STREAM_LEAF, (first + t) * X->n + j);
      double key = kv > 0 ? -log(u) / kv : INFINITY;
      if (key < mk[t].key || mk[t].j < 0) {
        mk[t].key = key;
        mk[t].j = (int)(j - v->lo);
      }
    }
    if (mk[t].j < 0) mk[t].j = INT32_MAX; /* loses every MINLOC tie-break */
  }
  double evd = (double)ev;
  int e = 0;
  if (MPI_Allreduce(MPI_IN_PLACE, mk, (int)s, MPI_DOUBLE_INT, MPI_MINLOC, X->comm) != MPI_SUCCESS ||
      MPI_Allreduce(MPI_IN_PLACE, &evd, 1, MPI_DOUBLE, MPI_SUM, X->comm) != MPI_SUCCESS)
    e = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce in the leaf race failed");
  for (size_t t = 0; !e && t < s; t++) {
    const node_t *v = T->nodes + cur[t];
    if (mk[t].j != INT32_MAX && isfinite(mk[t].key)) {
      nbr[t] = v->lo + (size_t)mk[t].j;
    } else {
      /* all weights 0 (underflow) or no other point in the leaf: uniform over the leaf
       * without src, else the adjacent index (documented degenerate fallback) */
      size_t m = v->hi - v->lo - (src[t] >= v->lo && src[t] < v->hi);
      if (m > 0) {
        size_t r = (size_t)subq_rng_below(seed, SUBQ_KDE_STREAM_LEAF ^ 1, first + t, m);
        size_t j = v->lo + r;
        if (src[t] >= v->lo && j >= src[t]) j++;
        nbr[t] = j;
      } else {
        nbr[t] = src[t] + 1 < X->n ? src[t] + 1 : src[t] - 1;
      }
    }
  }
  if (!e) *evals += (uint64_t)llround(evd);
  subq_free(&mk);
  return e;
}

int subq_kde_tree_sample_neighbors(subq_kde_tree_t *T, size_t s, const size_t *src,
                                   uint64_t seed, size_t *nbr, uint64_t *evals) {
  SUBQ_CHECK(T != NULL, SUBQ_ERR_ARG, "tree is NULL");
  SUBQ_CHECK(s == 0 || (src && nbr), SUBQ_ERR_ARG, "sources or output is NULL");
  const subq_dmat_t *X = T->X;
  const size_t d = X->d;
  SUBQ_CHECK(X->n >= 2, SUBQ_ERR_ARG, "kernel graph with n = %zu vertex has no neighbours",
             X->n);
  double *Ys = NULL, *Yq = NULL, *est = NULL;
  long *cur = NULL;
  subq_kde_t **ok = NULL;
  uint64_t *qids = NULL, ev = 0;
  size_t *act = NULL;
  int e = 0;
  for (size_t t = 0; t < s; t++)
    if (src[t] >= X->n) e = SUBQ_FAIL(SUBQ_ERR_ARG, "source %zu >= n = %zu", src[t], X->n);
  if (!e) e = subq_malloc(s ? s : 1, d * sizeof(double), &Ys);
  if (!e) e = subq_malloc(2 * (s ? s : 1), d * sizeof(double), &Yq);
  if (!e) e = SUBQ_ALLOC(est, 2 * s + 1);
  if (!e) e = SUBQ_ZALLOC(cur, s + 1);
  if (!e) e = SUBQ_ALLOC(ok, 2 * s + 1);
  if (!e) e = SUBQ_ALLOC(qids, 2 * s + 1);
  if (!e) e = SUBQ_ALLOC(act, s + 1);
  e = subq_error_agree(X->comm, e);
  if (!e) e = subq_kde_gather_rows(X, s, src, Ys);
  const uint64_t first = T->count;
  for (size_t level = 0; !e; level++) {
    size_t na = 0;
    for (size_t t = 0; t < s; t++)
      if (T->nodes[cur[t]].left >= 0) act[na++] = t;
    if (na == 0) break;
    for (size_t a = 0; a < na; a++) {
      size_t t = act[a];
      const node_t *v = T->nodes + cur[t];
      for (int c = 0; c < 2; c++) {
        ok[2 * a + c] = T->nodes[c ? v->right : v->left].kde;
        qids[2 * a + c] = (first + t) * 256 + 2 * level + (uint64_t)c;
        memcpy(Yq + (2 * a + c) * d, Ys + t * d, d * sizeof *Yq);
      }
    }
    uint64_t ev1 = 0;
    e = subq_kde_query_multi_(X->comm, 2 * na, ok, Yq, d, qids, est, &ev1);
    ev += ev1;
    for (size_t a = 0; !e && a < na; a++) {
      size_t t = act[a];
      const node_t *v = T->nodes + cur[t];
      const node_t *L = T->nodes + v->left, *R = T->nodes + v->right;
      int inL = src[t] >= L->lo && src[t] < L->hi, inR = src[t] >= R->lo && src[t] < R->hi;
      double wl = fmax(0.0, est[2 * a] - inL), wr = fmax(0.0, est[2 * a + 1] - inR);
      if (!(wl + wr > 0)) { /* zero estimated degree: fall back to subtree sizes */
        wl = (double)(L->hi - L->lo - inL);
        wr = (double)(R->hi - R->lo - inR);
      }
      double u = subq_rng_uniform(seed, SUBQ_KDE_STREAM_TREE, (first + t) * 256 + level);
      cur[t] = u * (wl + wr) < wl ? v->left : v->right;
    }
  }
  if (!e) e = leaf_race_(T, s, src, Ys, cur, seed, first, nbr, &ev);
  T->count += s;
  subq_free(&Ys);
  subq_free(&Yq);
  subq_free(&est);
  subq_free(&cur);
  subq_free(&ok);
  subq_free(&qids);
  subq_free(&act);
  if (e) return subq_error_trace(e, __FILE__, __LINE__, __func__);
  if (evals) *evals = ev;
  return SUBQ_OK;
}

int subq_kde_sample_edges(subq_kde_tree_t *T, const double *deg, size_t s, uint64_t seed,
                          size_t *edges, uint64_t *evals) {
  SUBQ_CHECK(T && deg && (s == 0 || edges), SUBQ_ERR_ARG, "tree, degrees or output is NULL");
  size_t *src = NULL, *nbr = NULL;
  int e = SUBQ_ALLOC(src, s + 1);
  if (!e) e = SUBQ_ALLOC(nbr, s + 1);
  if (!e) e = subq_sample_weighted(deg, T->X->n, s, seed, SUBQ_KDE_STREAM_VERTEX ^ T->count, src);
  e = subq_error_agree(T->X->comm, e);
  if (!e) e = subq_kde_tree_sample_neighbors(T, s, src, seed, nbr, evals);
  for (size_t t = 0; !e && t < s; t++) {
    edges[2 * t] = src[t];
    edges[2 * t + 1] = nbr[t];
  }
  subq_free(&src);
  subq_free(&nbr);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : SUBQ_OK;
}

int subq_kde_random_walks(subq_kde_tree_t *T, size_t w, const size_t *start, size_t steps,
                          uint64_t seed, size_t *paths, uint64_t *evals) {
  SUBQ_CHECK(T && (w == 0 || (start && paths)), SUBQ_ERR_ARG, "tree, starts or paths is NULL");
  size_t *a = NULL, *b = NULL;
  uint64_t total = 0;
  int e = SUBQ_ALLOC(a, w + 1);
  if (!e) e = SUBQ_ALLOC(b, w + 1);
  SUBQ_CALL(subq_error_agree(T->X->comm, e));
  for (size_t t = 0; t < w; t++) a[t] = paths[t * (steps + 1)] = start[t];
  for (size_t st = 0; !e && st < steps; st++) {
    uint64_t ev = 0;
    e = subq_kde_tree_sample_neighbors(T, w, a, seed, b, &ev);
    total += ev;
    for (size_t t = 0; !e && t < w; t++) paths[t * (steps + 1) + st + 1] = a[t] = b[t];
  }
  subq_free(&a);
  subq_free(&b);
  if (e) return subq_error_trace(e, __FILE__, __LINE__, __func__);
  if (evals) *evals = total;
  return SUBQ_OK;
}
