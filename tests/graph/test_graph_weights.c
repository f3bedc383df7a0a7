/* Importance weights of the KDE-tree edge sampling (include/subq/kde.h,
 * subq_kde_tree_sample_neighbors_prob; include/subq/graph.h, subq_sparsifier_setup):
 *  1. the returned q(j | i) equals the probability of the draw's path recomputed here by
 *     brute force from the tree's definition (halving, preorder node ids, per-node sample
 *     multisets from the counter RNG, estimate ratios with 2% size mixing, leaf ratio
 *     k_ij / leaf sum) on n = 40, and sums to 1 over j; the empirical neighbour counts
 *     follow it (chi-square); an exact tree returns q = k_ij / d_i;
 *  2. the sparsifier is unbiased: over many seeds, the mean of x^T L~ x equals the exact
 *     x^T L x within 4 standard errors (n = 60, crude estimates: 2 samples per node). */
#include "graph_test.h"

/* ---- brute-force reference of the tree (same definition, written independently) ---- */
typedef struct {
  size_t lo, hi;
  long l, r;
  size_t ns, s[8]; /* sample multiset; ns = hi - lo and s unused when exact */
  int exact;
} rnode_t;

static long ref_build_(rnode_t *nd, long *cnt, size_t lo, size_t hi, size_t leaf, size_t m,
                       uint64_t seed) {
  long me = (*cnt)++;
  rnode_t *v = nd + me;
  v->lo = lo, v->hi = hi, v->l = v->r = -1, v->exact = 1, v->ns = hi - lo;
  if (me > 0 && hi - lo > leaf && hi - lo > m) {
    v->exact = 0, v->ns = m;
    for (size_t t = 0; t < m; t++) /* stream (node id + 1) << 8 | 1, as kde_impl.h */
      v->s[t] = lo + subq_rng_below(seed, ((uint64_t)me + 1) << 8 | 1, t, hi - lo);
  }
  if (hi - lo <= leaf) return me;
  size_t mid = lo + (hi - lo) / 2;
  long l = ref_build_(nd, cnt, lo, mid, leaf, m, seed), r = ref_build_(nd, cnt, mid, hi, leaf, m, seed);
  nd[me].l = l, nd[me].r = r;
  return me;
}

/* estimate of sum_{j in v, j != i} K_ij */
static double ref_est_(const rnode_t *v, const double *K, size_t n, size_t i) {
  double s = 0;
  size_t c = 0, in = i >= v->lo && i < v->hi;
  if (v->exact) {
    for (size_t j = v->lo; j < v->hi; j++) s += j == i ? 0 : K[i * n + j];
    return s;
  }
  for (size_t t = 0; t < v->ns; t++)
    if (v->s[t] != i) s += K[i * n + v->s[t]], c++;
  return c ? (double)(v->hi - v->lo - in) * s / (double)c : 0;
}

static double ref_prob_(const rnode_t *nd, const double *K, size_t n, size_t i, size_t j) {
  double q = 1;
  const rnode_t *v = nd;
  while (v->l >= 0) {
    const rnode_t *L = nd + v->l, *R = nd + v->r;
    double el = ref_est_(L, K, n, i), er = ref_est_(R, K, n, i);
    double sl = (double)(L->hi - L->lo) - (i >= L->lo && i < L->hi);
    double sr = (double)(R->hi - R->lo) - (i >= R->lo && i < R->hi);
    double pl = el + er > 0 ? el / (el + er) : sl / (sl + sr);
    if (el + er > 0 && !(L->exact && R->exact)) pl = 0.98 * pl + 0.02 * sl / (sl + sr);
    int left = j < L->hi;
    q *= left ? pl : 1 - pl;
    v = left ? L : R;
  }
  double sum = 0;
  for (size_t l = v->lo; l < v->hi; l++) sum += l == i ? 0 : K[i * n + l];
  return q * K[i * n + j] / sum;
}

static subq_kde_t *oracle_(subq_kde_type_t type, subq_kernel_t ker, subq_dmat_t *X, size_t m,
                           uint64_t seed) {
  subq_kde_t *k = NULL;
  CHECK_OK(subq_kde_create(MPI_COMM_WORLD, type, &k));
  CHECK_OK(subq_kde_set_kernel(k, ker));
  if (m) CHECK_OK(subq_kde_set_samples(k, m, 1));
  CHECK_OK(subq_kde_set_seed(k, seed));
  CHECK_OK(subq_kde_setup(k, X));
  return k;
}

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  subq_kernel_t ker = {SUBQ_KERNEL_GAUSSIAN, 1.5};

  /* 1. q(j | i) against the brute-force path probability, n = 40, leaf 4, m = 3 */
  {
    const size_t n = 40, d = 3, leaf = 4, m = 3, S = 6000;
    const uint64_t kseed = 7;
    subq_dmat_t *X = kt_points(MPI_COMM_WORLD, n, d, 3);
    double *A = kt_all_points(n, d, 3), *K = kt_dense_kernel(&ker, A, n, d);
    rnode_t nd[64];
    long cnt = 0;
    ref_build_(nd, &cnt, 0, n, leaf, m, kseed);
    subq_kde_t *o = oracle_(SUBQ_KDE_SAMPLING, ker, X, m, kseed);
    subq_kde_tree_t *T = NULL;
    CHECK_OK(subq_kde_tree_create(o, X, leaf, &T));
    size_t *src = malloc(S * sizeof *src), *nb = malloc(S * sizeof *nb);
    double *q = malloc(S * sizeof *q), *kv = malloc(S * sizeof *kv), *dg = malloc(S * sizeof *dg);
    const size_t srcs[3] = {0, 17, 39};
    for (int a = 0; a < 3; a++) {
      const size_t i = srcs[a];
      for (size_t t = 0; t < S; t++) src[t] = i;
      CHECK_OK(subq_kde_tree_sample_neighbors_prob(T, S, src, 5, nb, q, kv, dg, NULL));
      double tot = 0, p[40], worst = 0;
      long c[40] = {0};
      for (size_t j = 0; j < n; j++) tot += p[j] = j == i ? 0 : ref_prob_(nd, K, n, i, j);
      CHECK_CLOSE(tot, 1.0, 1e-12);
      for (size_t t = 0; t < S; t++) {
        c[nb[t]]++;
        worst = fmax(worst, fabs(q[t] - p[nb[t]]) / p[nb[t]]);
        CHECK_CLOSE(kv[t], K[i * n + nb[t]], 1e-12);
      }
      CHECK(worst < 1e-12);
      CHECK(c[i] == 0);
      double c2 = kt_chi2(c, p, n, (long)S), df = (double)n - 2;
      if (rank == 0)
        printf("source %zu: max rel. |q - brute force| %.2e, chi2 %.1f (df %.0f)\n", i, worst, c2, df);
      CHECK(c2 < df + 6 * sqrt(2 * df));
    }
    subq_kde_tree_destroy(&T);
    subq_kde_destroy(&o);
    /* exact tree: q(j | i) = k_ij / d_i, degree exact */
    o = oracle_(SUBQ_KDE_EXACT, ker, X, 0, kseed);
    CHECK_OK(subq_kde_tree_create(o, X, leaf, &T));
    for (size_t t = 0; t < S; t++) src[t] = t % n;
    CHECK_OK(subq_kde_tree_sample_neighbors_prob(T, S, src, 9, nb, q, kv, dg, NULL));
    for (size_t t = 0; t < S; t++) {
      double di = 0;
      for (size_t j = 0; j < n; j++) di += j == src[t] ? 0 : K[src[t] * n + j];
      CHECK_CLOSE(dg[t], di, 1e-12);
      CHECK_CLOSE(q[t], K[src[t] * n + nb[t]] / di, 1e-12);
    }
    subq_kde_tree_destroy(&T);
    subq_kde_destroy(&o);
    free(src), free(nb), free(q), free(kv), free(dg), free(A), free(K);
    subq_dmat_destroy(&X);
  }

  /* 2. unbiasedness of the sparsifier's weights over seeds, n = 60, 2 samples per node;
   * seeds dealt round-robin to the ranks, each building on MPI_COMM_SELF (same per-seed
   * values for every rank count), sums reduced */
  {
    const size_t n = 60, d = 3, R = 400, T = 960;
    int size;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    subq_dmat_t *X = kt_points(MPI_COMM_SELF, n, d, 3);
    double *A = kt_all_points(n, d, 3), *K = kt_dense_kernel(&ker, A, n, d), x[60];
    for (size_t i = 0; i < n; i++) x[i] = subq_rng_gauss(3, 4, i);
    double exact = 0, acc[2] = {0, 0};
    for (size_t i = 0; i < n; i++)
      for (size_t j = i + 1; j < n; j++) exact += K[i * n + j] * (x[i] - x[j]) * (x[i] - x[j]);
    for (size_t r = (size_t)rank; r < R; r += (size_t)size) {
      subq_sparsifier_t *sp = NULL;
      CHECK_OK(subq_sparsifier_create(MPI_COMM_SELF, &sp));
      CHECK_OK(subq_sparsifier_set_kde(sp, SUBQ_KDE_SAMPLING, 2, 1, 4));
      CHECK_OK(subq_sparsifier_set_samples(sp, T));
      CHECK_OK(subq_sparsifier_set_seed(sp, 100 + r));
      CHECK_OK(subq_sparsifier_setup(sp, X, &ker));
      size_t m = 0;
      const size_t *E = NULL;
      const double *w = NULL;
      CHECK_OK(subq_sparsifier_edges(sp, &m, &E, &w));
      double v = 0;
      for (size_t e = 0; e < m; e++) v += w[e] * (x[E[2 * e]] - x[E[2 * e + 1]]) * (x[E[2 * e]] - x[E[2 * e + 1]]);
      acc[0] += v, acc[1] += v * v;
      subq_sparsifier_destroy(&sp);
    }
    MPI_Allreduce(MPI_IN_PLACE, acc, 2, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    double mean = acc[0] / (double)R, sd = sqrt(fmax(0, acc[1] / (double)R - mean * mean));
    double se = sd / sqrt((double)R);
    if (rank == 0)
      printf("x^T L~ x over %zu seeds: mean %.5f +- %.5f (sd %.4f), exact x^T L x %.5f\n", R, mean,
             se, sd, exact);
    CHECK(sd > 0);
    CHECK(fabs(mean - exact) <= 4 * se);
    free(A), free(K);
    subq_dmat_destroy(&X);
  }
  CHECK_FINISH();
}
