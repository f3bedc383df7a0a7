/* Binary tree of KDE estimates for weighted edge sampling and random walks (BIKSZ,
 * weighted edge sampling: descend from the root, choosing a child with probability
 * proportional to its estimate of sum_{j in child, j != i} k(x_i, x_j); O(log n)
 * estimates per sample).  Nodes are contiguous global index ranges [lo, hi) split in
 * halves.
 *
 * Exact and sampling prototypes ("shared-sample" trees): every node v keeps one random
 * multiset S_v of m global indices drawn uniformly from [lo, hi) at build time (counter
 * RNG keyed by (seed, node id, t), so independent of the rank count), or all of [lo, hi)
 * when hi - lo <= max(leaf, m) or the prototype is exact.  The estimate of a query i at v
 * is (|v| - [i in v]) * mean_{s in S_v, s != i} k(x_i, x_s), and all queries that sit at
 * one node in one level are answered by one kernel block (subq_kernel_block, dgemm) per
 * rank against the locally owned points of S_v, one MPI_Allreduce per level.  Queries of
 * the same source at the same node are answered once.  HBE and DEANN prototypes keep one
 * oracle of their type per node (over [lo, hi), stream node id + 1; DEANN: its own IVF
 * clusters of the node's points, ceil(sqrt(|v|)) unless set), asked once per sample and
 * level through subq_kde_query_multi_; below the leaf size a node's oracle is exact.
 *
 * The child is chosen with probability p_c = (1 - a) e_c / (e_l + e_r) + a s_c / (s_l + s_r)
 * (s_c: points of c other than i; a = the tree's mixing weight (0.02 unless set by
 * subq_kde_tree_set_mix; Owen, Zhou 2000, "Safe and effective importance sampling", JASA
 * 95(449), defensive mixtures) when an estimate is approximate,
 * 0 when both are exact), so every j with k(x_i, x_j) > 0 has a positive probability.
 * Leaves are resolved by one exponential race (argmin_j E_j / k(x_i, x_j), E_j = -ln U_j
 * keyed by the global j), which picks j with probability k(x_i, x_j) / (leaf sum) exactly.
 * The product of the chosen p_c and that leaf ratio is the exact probability q(j | i) of
 * the draw, returned with k(x_i, x_j) by subq_kde_tree_sample_neighbors_prob for
 * importance weights (BIKSZ Sec. 4 with the sampled probability). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kde/kde_impl.h"

#define SUBQ_KDE_TREE_MIX 0.02 /* default defensive mixing weight (subq_kde_tree_set_mix) */
enum { RB = 256, CB = 1024 };  /* row and column chunks of the kernel blocks */

typedef struct {
  size_t lo, hi;
  long left, right; /* child node ids, -1 for a leaf */
  subq_kde_t *kde;  /* HBE/DEANN trees: oracle over [lo, hi) (NULL for the root) */
  size_t ns;        /* shared-sample trees: |S_v| */
  size_t *sidx;     /* sorted global indices of S_v (with repetition); NULL: S_v = [lo, hi) */
  int exact;        /* estimates at this node are exact */
  uint64_t setup_evals; /* this rank's evaluations in the setup of kde */
} node_t;

struct subq_kde_tree {
  const subq_dmat_t *X;
  subq_kernel_t kernel;
  int shared;   /* 1: shared-sample tree (exact/sampling prototype), 0: per-node oracles
                 * (HBE, DEANN) */
  double *xn2;  /* ||x_j||^2 of the local rows (nloc) */
  node_t *nodes;
  size_t nnodes, cap, depth;
  uint64_t count; /* samples drawn so far (numbering) */
  double mix;     /* defensive mixing weight a of the subtree-size distribution */
  subq_kde_tree_stats_t st;
};

static int cmp_size_(const void *a, const void *b) {
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  return (x > y) - (x < y);
}

static int build_(subq_kde_tree_t *T, const subq_kde_t *proto, size_t lo, size_t hi,
                  size_t leaf, size_t depth, long *id) {
  long me = (long)T->nnodes++;
  node_t *v = T->nodes + me;
  v->lo = lo;
  v->hi = hi;
  v->left = v->right = -1;
  if (depth > T->depth) T->depth = depth;
  *id = me;
  const size_t m = proto->per_group * proto->groups, size = hi - lo;
  if (me > 0 && T->shared) {
    v->ns = size;
    v->exact = 1;
    if (proto->type != SUBQ_KDE_EXACT && size > leaf && size > m) {
      int e = SUBQ_ALLOC(v->sidx, m);
      SUBQ_CALL(subq_error_agree(proto->comm, e));
      const uint64_t st = ((uint64_t)me + 1) << 8 | SUBQ_KDE_P_SAMPLE;
      for (size_t t = 0; t < m; t++) v->sidx[t] = lo + subq_rng_below(proto->seed, st, t, size);
      qsort(v->sidx, m, sizeof *v->sidx, cmp_size_);
      v->ns = m;
      v->exact = 0;
    }
  } else if (me > 0) {
    subq_kde_type_t type = proto->type;
    if (size <= leaf) type = SUBQ_KDE_EXACT;
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
    SUBQ_CALL(subq_kde_setup_range_(k, T->X, lo, size));
    v->setup_evals = k->evals_local;
    v->exact = k->type == SUBQ_KDE_EXACT || k->fallback_m > 0;
  }
  if (size <= leaf) return SUBQ_OK;
  size_t mid = lo + size / 2;
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
    T->shared = proto->type == SUBQ_KDE_EXACT || proto->type == SUBQ_KDE_SAMPLING;
    T->mix = SUBQ_KDE_TREE_MIX;
    /* halving gives at most 2 ceil(n / leaf) - 1 nodes; allow slack */
    T->cap = 4 * (X->n / leaf_size + 2);
    e = SUBQ_ZALLOC(T->nodes, T->cap);
  }
  if (!e) e = SUBQ_ALLOC(T->xn2, X->nloc + 1);
  if (!e) subq_kde_norms2_(X->nloc, X->d, (const double *)X->data, T->xn2);
  e = subq_error_agree(proto->comm, e);
  long root;
  if (!e) e = build_(T, proto, 0, X->n, leaf_size, 0, &root);
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
  for (size_t i = 0; T->nodes && i < T->nnodes; i++) {
    subq_kde_destroy(&T->nodes[i].kde);
    subq_free(&T->nodes[i].sidx);
  }
  subq_free(&T->nodes);
  subq_free(&T->xn2);
  subq_free(pt);
}

/* ---- kernel blocks against a node's local columns ------------------------------------ */

typedef struct {
  long node;
  size_t src, t;
} item_t;

static int cmp_item_(const void *a, const void *b) {
  const item_t *x = a, *y = b;
  if (x->node != y->node) return x->node < y->node ? -1 : 1;
  if (x->src != y->src) return x->src < y->src ? -1 : 1;
  return (x->t > y->t) - (x->t < y->t);
}

/* Scratch of one sampling call: samples grouped into distinct (node, source) pairs. */
typedef struct {
  item_t *it;       /* active samples sorted by (node, source, sample) */
  size_t *pstart;   /* pair p holds it[pstart[p] .. pstart[p + 1]) */
  size_t *pair_of;  /* sample t -> its pair */
  size_t *row;      /* sample t -> its source's row in Ys (distinct sources gathered once) */
  double *part;     /* per-pair partial sums (2 P + 1) */
  double *Q, *qn, *B, *bn, *K; /* RB x d, RB, CB x d, CB, RB x CB */
} work_t;

static size_t pairs_(work_t *w, size_t na, const size_t *act, const long *cur, const size_t *src) {
  for (size_t a = 0; a < na; a++) w->it[a] = (item_t){cur[act[a]], src[act[a]], act[a]};
  qsort(w->it, na, sizeof *w->it, cmp_item_);
  size_t P = 0;
  for (size_t a = 0; a < na; a++) {
    if (a == 0 || w->it[a].node != w->it[a - 1].node || w->it[a].src != w->it[a - 1].src)
      w->pstart[P++] = a;
    w->pair_of[w->it[a].t] = P - 1;
  }
  w->pstart[P] = na;
  return P;
}

static size_t lower_(const size_t *v, size_t n, size_t x) {
  size_t a = 0, b = n;
  while (a < b) {
    size_t c = a + (b - a) / 2;
    if (v[c] < x) a = c + 1;
    else b = c;
  }
  return a;
}

/* The columns of node v on this rank: S_v's local entries (cols), or with all = 1 or an
 * exact node, the contiguous local part of [lo, hi) starting at *j0 (cols = NULL). */
static void local_cols_(const subq_kde_tree_t *T, const node_t *v, int all, const size_t **cols,
                        size_t *j0, size_t *nb) {
  const size_t a = T->X->r0, b = T->X->r0 + T->X->nloc;
  if (all || !v->sidx) {
    size_t lo = v->lo > a ? v->lo : a, hi = v->hi < b ? v->hi : b;
    *cols = NULL;
    *j0 = lo;
    *nb = hi > lo ? hi - lo : 0;
    return;
  }
  size_t p = lower_(v->sidx, v->ns, a), q = lower_(v->sidx, v->ns, b);
  *cols = v->sidx + p;
  *j0 = 0;
  *nb = q - p;
}

/* Query rows of pairs [p0, p0 + u) into w->Q, w->qn. */
static void gather_q_(const subq_kde_tree_t *T, work_t *w, size_t p0, size_t u, const double *Ys,
                      const double *yn) {
  const size_t d = T->X->d;
  for (size_t r = 0; r < u; r++) {
    size_t t = w->it[w->pstart[p0 + r]].t;
    memcpy(w->Q + r * d, Ys + w->row[t] * d, d * sizeof *w->Q);
    w->qn[r] = yn[w->row[t]];
  }
}

/* w->K (u x nc) = k(Q_r, x_g) for the columns g of chunk [c0, c0 + nc) of (cols, j0). */
static int kblock_(const subq_kde_tree_t *T, work_t *w, size_t u, const size_t *cols, size_t j0,
                   size_t c0, size_t nc) {
  const subq_dmat_t *X = T->X;
  const size_t d = X->d;
  const double *Xl = (const double *)X->data, *B = w->B, *bn = w->bn;
  if (!cols) {
    B = Xl + (j0 + c0 - X->r0) * d;
    bn = T->xn2 + (j0 + c0 - X->r0);
  } else {
    for (size_t c = 0; c < nc; c++) {
      memcpy(w->B + c * d, Xl + (cols[c0 + c] - X->r0) * d, d * sizeof *w->B);
      w->bn[c] = T->xn2[cols[c0 + c] - X->r0];
    }
  }
  return subq_kernel_block(&T->kernel, u, nc, d, w->Q, w->qn, B, bn, w->K);
}

static size_t count_in_(const node_t *v, size_t j) {
  if (j < v->lo || j >= v->hi) return 0;
  if (!v->sidx) return 1;
  size_t a = lower_(v->sidx, v->ns, j), b = a;
  while (b < v->ns && v->sidx[b] == j) b++;
  return b - a;
}

/* One level of a shared-sample tree: est[2p + c] = estimate of sum_{j in child c, j != i}
 * k(x_i, x_j) for the P pairs (node, source i).  One MPI_Allreduce. */
static int shared_level_(subq_kde_tree_t *T, work_t *w, size_t P, const double *Ys,
                         const double *yn, double *est, uint64_t *evals) {
  double *part = w->part;
  memset(part, 0, (2 * P + 1) * sizeof *part);
  double ev = 0;
  for (size_t p0 = 0, p1; p0 < P; p0 = p1) {
    const long vid = w->it[w->pstart[p0]].node;
    for (p1 = p0; p1 < P && w->it[w->pstart[p1]].node == vid; p1++) {}
    const node_t *v = T->nodes + vid;
    for (size_t r0 = p0; r0 < p1; r0 += RB) {
      const size_t u = p1 - r0 < RB ? p1 - r0 : RB;
      gather_q_(T, w, r0, u, Ys, yn);
      for (int c = 0; c < 2; c++) {
        const size_t *cols;
        size_t j0, nb;
        local_cols_(T, T->nodes + (c ? v->right : v->left), 0, &cols, &j0, &nb);
        for (size_t c0 = 0; c0 < nb; c0 += CB) {
          const size_t nc = nb - c0 < CB ? nb - c0 : CB;
          SUBQ_CALL(kblock_(T, w, u, cols, j0, c0, nc));
          ev += (double)u * (double)nc;
          for (size_t r = 0; r < u; r++) {
            const size_t i = w->it[w->pstart[r0 + r]].src;
            double s = 0;
            for (size_t k = 0; k < nc; k++)
              if ((cols ? cols[c0 + k] : j0 + c0 + k) != i) s += w->K[r * nc + k];
            part[2 * (r0 + r) + (size_t)c] += s;
          }
        }
      }
    }
  }
  part[2 * P] = ev;
  SUBQ_MPI(MPI_Allreduce(MPI_IN_PLACE, part, (int)(2 * P + 1), MPI_DOUBLE, MPI_SUM, T->X->comm));
  *evals += (uint64_t)llround(part[2 * P]);
  for (size_t p = 0; p < P; p++) {
    const item_t *q = w->it + w->pstart[p];
    const node_t *v = T->nodes + q->node;
    for (int c = 0; c < 2; c++) {
      const node_t *C = T->nodes + (c ? v->right : v->left);
      const size_t in = q->src >= C->lo && q->src < C->hi;
      const double sum = part[2 * p + (size_t)c];
      if (!C->sidx) {
        est[2 * p + (size_t)c] = sum;
      } else {
        const size_t cnt = C->ns - count_in_(C, q->src);
        est[2 * p + (size_t)c] = cnt ? (double)(C->hi - C->lo - in) * sum / (double)cnt : 0.0;
      }
    }
  }
  return SUBQ_OK;
}

/* Leaf phase: every sample t sits at leaf cur[t]; one exponential race over the leaf per
 * sample, kernel values computed once per (leaf, source) pair.  Multiplies prob[t] by
 * k(x_i, x_j) / (leaf sum) and sets kval[t] = k(x_i, x_j). */
static int leaf_race_(subq_kde_tree_t *T, work_t *w, size_t s, const size_t *src,
                      const double *Ys, const double *yn, const long *cur, uint64_t seed,
                      uint64_t first, size_t *act, size_t *nbr, double *prob, double *kval,
                      uint64_t *evals) {
  const subq_dmat_t *X = T->X;
  struct {
    double key;
    int j;
  } *mk = NULL;
  SUBQ_CALL(subq_malloc(s + 1, sizeof *mk, &mk));
  for (size_t t = 0; t < s; t++) {
    act[t] = t;
    mk[t].key = INFINITY;
    mk[t].j = -1;
  }
  const size_t P = pairs_(w, s, act, cur, src);
  T->st.leaf_pairs += P;
  double *part = w->part, ev = 0;
  memset(part, 0, (P + 1) * sizeof *part);
  int e = 0;
  for (size_t p0 = 0, p1; !e && p0 < P; p0 = p1) {
    const long vid = w->it[w->pstart[p0]].node;
    for (p1 = p0; p1 < P && w->it[w->pstart[p1]].node == vid; p1++) {}
    const node_t *v = T->nodes + vid;
    const size_t *cols;
    size_t j0, nb;
    local_cols_(T, v, 1, &cols, &j0, &nb);
    for (size_t r0 = p0; !e && r0 < p1; r0 += RB) {
      const size_t u = p1 - r0 < RB ? p1 - r0 : RB;
      gather_q_(T, w, r0, u, Ys, yn);
      for (size_t c0 = 0; !e && c0 < nb; c0 += CB) {
        const size_t nc = nb - c0 < CB ? nb - c0 : CB;
        e = kblock_(T, w, u, cols, j0, c0, nc);
        ev += (double)u * (double)nc;
        for (size_t r = 0; !e && r < u; r++) {
          const size_t i = w->it[w->pstart[r0 + r]].src;
          for (size_t k = 0; k < nc; k++) {
            const size_t j = j0 + c0 + k;
            if (j != i) part[r0 + r] += w->K[r * nc + k];
          }
          for (size_t a = w->pstart[r0 + r]; a < w->pstart[r0 + r + 1]; a++) {
            const size_t t = w->it[a].t;
            for (size_t k = 0; k < nc; k++) {
              const size_t j = j0 + c0 + k;
              if (j == i) continue;
              const double kv = w->K[r * nc + k];
              const double uu = subq_rng_uniform(seed, SUBQ_KDE_STREAM_LEAF, (first + t) * X->n + j);
              const double key = kv > 0 ? -log(uu) / kv : INFINITY;
              if (key < mk[t].key || mk[t].j < 0) {
                mk[t].key = key;
                mk[t].j = (int)(j - v->lo);
              }
            }
          }
        }
      }
    }
  }
  for (size_t t = 0; t < s; t++)
    if (mk[t].j < 0) mk[t].j = INT32_MAX; /* loses every MINLOC tie-break */
  part[P] = ev;
  if (!e && (MPI_Allreduce(MPI_IN_PLACE, mk, (int)s, MPI_DOUBLE_INT, MPI_MINLOC, X->comm) != MPI_SUCCESS ||
             MPI_Allreduce(MPI_IN_PLACE, part, (int)(P + 1), MPI_DOUBLE, MPI_SUM, X->comm) != MPI_SUCCESS))
    e = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce in the leaf race failed");
  for (size_t t = 0; !e && t < s; t++) {
    const node_t *v = T->nodes + cur[t];
    if (mk[t].j != INT32_MAX && isfinite(mk[t].key) && part[w->pair_of[t]] > 0) {
      const size_t j = v->lo + (size_t)mk[t].j;
      /* the winner's kernel value from its key (any rank can redo the owner's draw) */
      const double uu = subq_rng_uniform(seed, SUBQ_KDE_STREAM_LEAF, (first + t) * X->n + j);
      const double kv = -log(uu) / mk[t].key;
      nbr[t] = j;
      prob[t] *= kv / part[w->pair_of[t]];
      kval[t] = kv;
    } else {
      /* all weights 0 (underflow) or no other point in the leaf: uniform over the leaf
       * without src, else the adjacent index (documented degenerate fallback, weight 0) */
      size_t m = v->hi - v->lo - (src[t] >= v->lo && src[t] < v->hi);
      kval[t] = 0;
      if (m > 0) {
        size_t r = (size_t)subq_rng_below(seed, SUBQ_KDE_STREAM_LEAF ^ 1, first + t, m);
        size_t j = v->lo + r;
        if (src[t] >= v->lo && j >= src[t]) j++;
        nbr[t] = j;
        prob[t] /= (double)m;
      } else {
        nbr[t] = src[t] + 1 < X->n ? src[t] + 1 : src[t] - 1;
      }
    }
  }
  if (!e) *evals += (uint64_t)llround(part[P]);
  subq_free(&mk);
  return e;
}

/* Per-node-oracle trees (HBE, DEANN), one level: est[2a + c] for the na active samples, one oracle query each. */
static int oracle_level_(subq_kde_tree_t *T, size_t na, const size_t *act, const long *cur,
                         const size_t *src, const double *Ys, const size_t *row, uint64_t first, size_t level,
                         double *Yq, subq_kde_t **ok, uint64_t *qids, double *est,
                         uint64_t *evals) {
  const size_t d = T->X->d;
  for (size_t a = 0; a < na; a++) {
    const size_t t = act[a];
    const node_t *v = T->nodes + cur[t];
    for (int c = 0; c < 2; c++) {
      ok[2 * a + c] = T->nodes[c ? v->right : v->left].kde;
      qids[2 * a + c] = (first + t) * 256 + 2 * level + (uint64_t)c;
      memcpy(Yq + (2 * a + c) * d, Ys + row[t] * d, d * sizeof *Yq);
    }
  }
  uint64_t ev1 = 0;
  SUBQ_CALL(subq_kde_query_multi_(T->X->comm, 2 * na, ok, Yq, d, qids, est, &ev1));
  *evals += ev1;
  for (size_t a = 0; a < na; a++) {
    const size_t t = act[a];
    const node_t *v = T->nodes + cur[t];
    for (int c = 0; c < 2; c++) {
      const node_t *C = T->nodes + (c ? v->right : v->left);
      est[2 * a + c] = fmax(0.0, est[2 * a + c] - (src[t] >= C->lo && src[t] < C->hi));
    }
  }
  return SUBQ_OK;
}

int subq_kde_tree_sample_neighbors_prob(subq_kde_tree_t *T, size_t s, const size_t *src,
                                        uint64_t seed, size_t *nbr, double *prob, double *kval,
                                        double *deg, uint64_t *evals) {
  SUBQ_CHECK(T != NULL, SUBQ_ERR_ARG, "tree is NULL");
  SUBQ_CHECK(s == 0 || (src && nbr), SUBQ_ERR_ARG, "sources or output is NULL");
  const subq_dmat_t *X = T->X;
  const size_t d = X->d;
  SUBQ_CHECK(X->n >= 2, SUBQ_ERR_ARG, "kernel graph with n = %zu vertex has no neighbours",
             X->n);
  double *Ys = NULL, *yn = NULL, *Yq = NULL, *est = NULL, *pest = NULL, *q = NULL, *kv = NULL;
  long *cur = NULL;
  subq_kde_t **ok = NULL;
  uint64_t *qids = NULL, ev = 0;
  size_t *act = NULL, *usrc = NULL, nu = 0;
  work_t w = {0};
  const size_t s1 = s + 1;
  int e = 0;
  for (size_t t = 0; t < s; t++)
    if (src[t] >= X->n) e = SUBQ_FAIL(SUBQ_ERR_ARG, "source %zu >= n = %zu", src[t], X->n);
  if (!e) e = subq_malloc(s1, d * sizeof(double), &Ys);
  if (!e) e = SUBQ_ALLOC(yn, s1);
  if (!e) e = SUBQ_ALLOC(est, 2 * s1);
  if (!e) e = SUBQ_ALLOC(q, s1);
  if (!e) e = SUBQ_ALLOC(kv, s1);
  if (!e) e = SUBQ_ZALLOC(cur, s1);
  if (!e) e = SUBQ_ALLOC(act, s1);
  if (!e) e = SUBQ_ALLOC(w.it, s1);
  if (!e) e = SUBQ_ALLOC(w.pstart, s1 + 1);
  if (!e) e = SUBQ_ALLOC(w.pair_of, s1);
  if (!e) e = SUBQ_ALLOC(w.row, s1);
  if (!e) e = SUBQ_ALLOC(usrc, s1);
  if (!e) e = SUBQ_ALLOC(w.part, 2 * s1 + 1);
  if (!e) e = SUBQ_ALLOC(pest, 2 * s1);
  if (!e) e = subq_malloc(RB, d * sizeof(double), &w.Q);
  if (!e) e = SUBQ_ALLOC(w.qn, RB);
  if (!e) e = subq_malloc(CB, (d ? d : 1) * sizeof(double), &w.B);
  if (!e) e = SUBQ_ALLOC(w.bn, CB);
  if (!e) e = subq_malloc(RB, CB * sizeof(double), &w.K);
  if (!e && !T->shared) e = subq_malloc(2 * s1, d * sizeof(double), &Yq);
  if (!e && !T->shared) e = SUBQ_ALLOC(ok, 2 * s1);
  if (!e && !T->shared) e = SUBQ_ALLOC(qids, 2 * s1);
  e = subq_error_agree(X->comm, e);
  if (!e) { /* distinct sources, sorted; each sample's row among them */
    memcpy(usrc, src, s * sizeof *usrc);
    qsort(usrc, s, sizeof *usrc, cmp_size_);
    for (size_t t = 0; t < s; t++)
      if (nu == 0 || usrc[t] != usrc[nu - 1]) usrc[nu++] = usrc[t];
    for (size_t t = 0; t < s; t++) w.row[t] = lower_(usrc, nu, src[t]);
  }
  if (!e) e = subq_kde_gather_rows(X, nu, usrc, Ys);
  if (!e) {
    T->st.calls++;
    T->st.draws += s;
    T->st.rows += nu;
  }
  if (!e) subq_kde_norms2_(nu, d, Ys, yn);
  for (size_t t = 0; t < s; t++) q[t] = 1;
  const uint64_t first = T->count;
  for (size_t level = 0; !e; level++) {
    size_t na = 0;
    for (size_t t = 0; t < s; t++)
      if (T->nodes[cur[t]].left >= 0) act[na++] = t;
    if (na == 0) break;
    if (level < SUBQ_KDE_TREE_MAX_LEVELS) { /* halving: depth < 64 */
      T->st.level_calls[level]++;
      T->st.level_draws[level] += na;
      if (level >= T->st.levels) T->st.levels = level + 1;
    }
    if (T->shared) {
      const size_t P = pairs_(&w, na, act, cur, src);
      if (level < SUBQ_KDE_TREE_MAX_LEVELS) T->st.level_pairs[level] += P;
      e = shared_level_(T, &w, P, Ys, yn, pest, &ev);
      for (size_t a = 0; !e && a < na; a++)
        for (int c = 0; c < 2; c++) est[2 * a + c] = pest[2 * w.pair_of[act[a]] + (size_t)c];
    } else {
      e = oracle_level_(T, na, act, cur, src, Ys, w.row, first, level, Yq, ok, qids, est, &ev);
    }
    for (size_t a = 0; !e && a < na; a++) {
      const size_t t = act[a];
      const node_t *v = T->nodes + cur[t];
      const node_t *L = T->nodes + v->left, *R = T->nodes + v->right;
      const double sl = (double)(L->hi - L->lo) - (src[t] >= L->lo && src[t] < L->hi);
      const double sr = (double)(R->hi - R->lo) - (src[t] >= R->lo && src[t] < R->hi);
      const double wl = est[2 * a], wr = est[2 * a + 1];
      double pl;
      if (!(wl + wr > 0)) { /* zero estimated degree: fall back to subtree sizes */
        pl = sl / (sl + sr);
      } else {
        pl = wl / (wl + wr);
        if (!(L->exact && R->exact)) pl = (1 - T->mix) * pl + T->mix * sl / (sl + sr);
      }
      if (level == 0 && deg) deg[t] = wl + wr;
      double u = subq_rng_uniform(seed, SUBQ_KDE_STREAM_TREE, (first + t) * 256 + level);
      const int left = u < pl;
      cur[t] = left ? v->left : v->right;
      q[t] *= left ? pl : 1 - pl;
    }
  }
  if (!e) e = leaf_race_(T, &w, s, src, Ys, yn, cur, seed, first, act, nbr, q, kv, &ev);
  T->count += s;
  if (!e && deg && T->nodes[0].left < 0) /* the root is a leaf: its sum is exact */
    for (size_t t = 0; t < s; t++) deg[t] = kv[t] > 0 ? kv[t] / q[t] : 0;
  for (size_t t = 0; !e && t < s; t++) {
    if (prob) prob[t] = q[t];
    if (kval) kval[t] = kv[t];
  }
  subq_free(&Ys), subq_free(&yn), subq_free(&Yq), subq_free(&est), subq_free(&pest);
  subq_free(&q), subq_free(&kv), subq_free(&cur), subq_free(&ok), subq_free(&qids);
  subq_free(&act), subq_free(&usrc), subq_free(&w.row), subq_free(&w.it), subq_free(&w.pstart), subq_free(&w.pair_of);
  subq_free(&w.part), subq_free(&w.Q), subq_free(&w.qn), subq_free(&w.B), subq_free(&w.bn);
  subq_free(&w.K);
  if (e) return subq_error_trace(e, __FILE__, __LINE__, __func__);
  if (evals) *evals = ev;
  return SUBQ_OK;
}

uint64_t subq_kde_tree_setup_evals_local(const subq_kde_tree_t *T) {
  uint64_t t = 0;
  for (size_t i = 0; T && i < T->nnodes; i++) t += T->nodes[i].setup_evals;
  return t;
}

int subq_kde_tree_set_mix(subq_kde_tree_t *T, double mix) {
  SUBQ_CHECK(T != NULL, SUBQ_ERR_ARG, "tree is NULL");
  SUBQ_CHECK(mix >= 0 && mix < 1, SUBQ_ERR_ARG, "tree mixing weight must be in [0, 1), got %g",
             mix);
  T->mix = mix;
  return SUBQ_OK;
}

int subq_kde_tree_stats(const subq_kde_tree_t *T, subq_kde_tree_stats_t *st) {
  SUBQ_CHECK(T != NULL && st != NULL, SUBQ_ERR_ARG, "tree or stats pointer is NULL");
  *st = T->st;
  return SUBQ_OK;
}

int subq_kde_tree_sample_neighbors(subq_kde_tree_t *T, size_t s, const size_t *src,
                                   uint64_t seed, size_t *nbr, uint64_t *evals) {
  return subq_kde_tree_sample_neighbors_prob(T, s, src, seed, nbr, NULL, NULL, NULL, evals);
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
