/* Sampling primitives on the kernel graph against exact distributions computed densely:
 * vertex sampling ~ degree, weighted edge sampling through the KDE tree, random walks
 * (distribution after 3 steps vs e_0 P^3), row norms by KDE of k^2; chi-square bounds at
 * fixed seeds (threshold df + 6 sqrt(2 df), a p-value below 1e-4); approximate trees
 * (sampling, HBE) within a total-variation bound; rank-count independence. */
#include "kde_test.h"

static double chi2_bound_(double df) { return df + 6 * sqrt(2 * df); }

static subq_kde_t *oracle_(MPI_Comm comm, subq_kde_type_t type, subq_kernel_t ker,
                           subq_dmat_t *X, size_t per_group, size_t groups) {
  subq_kde_t *k = NULL;
  CHECK_OK(subq_kde_create(comm, type, &k));
  CHECK_OK(subq_kde_set_kernel(k, ker));
  if (per_group) CHECK_OK(subq_kde_set_samples(k, per_group, groups));
  CHECK_OK(subq_kde_set_seed(k, 5));
  CHECK_OK(subq_kde_setup(k, X));
  return k;
}

/* TV distance of the empirical neighbour distribution of src from the exact one. */
static double tv_neighbors_(subq_kde_tree_t *T, const double *K, size_t n, size_t src, size_t S) {
  size_t *s = malloc(S * sizeof *s), *nb = malloc(S * sizeof *nb);
  long *cnt = calloc(n, sizeof *cnt);
  for (size_t t = 0; t < S; t++) s[t] = src;
  CHECK_OK(subq_kde_tree_sample_neighbors(T, S, s, 3, nb, NULL));
  for (size_t t = 0; t < S; t++) cnt[nb[t]]++;
  double deg = 0, tv = 0;
  for (size_t j = 0; j < n; j++) deg += j == src ? 0 : K[src * n + j];
  for (size_t j = 0; j < n; j++)
    tv += 0.5 * fabs((double)cnt[j] / (double)S - (j == src ? 0 : K[src * n + j] / deg));
  free(s);
  free(nb);
  free(cnt);
  return tv;
}

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  const size_t n = 12, d = 2, S = 20000;
  subq_kernel_t ker = {SUBQ_KERNEL_GAUSSIAN, 1.0};
  subq_dmat_t *X = kt_points(MPI_COMM_WORLD, n, d, 2), *Xs = kt_points(MPI_COMM_SELF, n, d, 2);
  double *A = kt_all_points(n, d, 2), *K = kt_dense_kernel(&ker, A, n, d);
  double dg[12], p[144], tot = 0;
  for (size_t i = 0; i < n; i++) {
    dg[i] = 0;
    for (size_t j = 0; j < n; j++) dg[i] += j == i ? 0 : K[i * n + j];
    tot += dg[i];
  }
  long cnt[144];
  size_t *idx = malloc(2 * S * sizeof *idx), *idx2 = malloc(2 * S * sizeof *idx2);

  /* vertex sampling ~ degree, exact oracle */
  subq_kde_t *k = oracle_(MPI_COMM_WORLD, SUBQ_KDE_EXACT, ker, X, 0, 0);
  double deg[12];
  uint64_t ev = 0;
  CHECK_OK(subq_kde_sample_vertices(k, S, 9, idx, deg, &ev));
  CHECK(ev == n * n);
  for (size_t i = 0; i < n; i++) CHECK_CLOSE(deg[i], dg[i], 1e-12);
  memset(cnt, 0, sizeof cnt);
  for (size_t t = 0; t < S; t++) cnt[idx[t]]++;
  for (size_t i = 0; i < n; i++) p[i] = dg[i] / tot;
  double c2 = kt_chi2(cnt, p, n, (long)S);
  if (rank == 0) printf("vertex sampling: chi2 %.1f (df %zu)\n", c2, n - 1);
  CHECK(c2 < chi2_bound_((double)n - 1));

  /* weighted edge sampling: P(i, j) = k_ij / sum_i d_i over ordered pairs, exact tree */
  subq_kde_tree_t *T = NULL, *Ts = NULL;
  CHECK_OK(subq_kde_tree_create(k, X, 2, &T));
  CHECK_OK(subq_kde_sample_edges(T, deg, S, 4, idx, &ev));
  memset(cnt, 0, sizeof cnt);
  for (size_t t = 0; t < S; t++) cnt[idx[2 * t] * n + idx[2 * t + 1]]++;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) p[i * n + j] = i == j ? 0 : K[i * n + j] / tot;
  c2 = kt_chi2(cnt, p, n * n, (long)S);
  if (rank == 0)
    printf("edge sampling: chi2 %.1f (df %zu), %.1f kernel evals per sample\n", c2,
           n * (n - 1) - 1, (double)ev / S);
  CHECK(c2 < chi2_bound_((double)(n * (n - 1) - 1)));
  /* the same samples on one rank */
  subq_kde_t *ks = oracle_(MPI_COMM_SELF, SUBQ_KDE_EXACT, ker, Xs, 0, 0);
  CHECK_OK(subq_kde_tree_create(ks, Xs, 2, &Ts));
  CHECK_OK(subq_kde_sample_edges(Ts, deg, S, 4, idx2, NULL));
  CHECK(memcmp(idx, idx2, 2 * S * sizeof *idx) == 0);

  /* random walks: position after 3 steps from vertex 0 vs e_0 P^3, P = D^-1 W */
  const size_t W = 5000, steps = 3;
  size_t *start = calloc(W, sizeof *start), *paths = malloc(W * (steps + 1) * sizeof *paths);
  CHECK_OK(subq_kde_random_walks(T, W, start, steps, 6, paths, NULL));
  double pr[12] = {1}, nx[12];
  for (size_t s = 0; s < steps; s++) {
    for (size_t j = 0; j < n; j++) nx[j] = 0;
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < n; j++) nx[j] += i == j ? 0 : pr[i] * K[i * n + j] / dg[i];
    memcpy(pr, nx, sizeof pr);
  }
  memset(cnt, 0, sizeof cnt);
  for (size_t t = 0; t < W; t++) {
    cnt[paths[t * (steps + 1) + steps]]++;
    for (size_t s = 0; s < steps; s++) CHECK(paths[t * (steps + 1) + s] != paths[t * (steps + 1) + s + 1]);
  }
  c2 = kt_chi2(cnt, pr, n, (long)W);
  if (rank == 0) printf("random walks: chi2 %.1f (df %zu)\n", c2, n - 1);
  CHECK(c2 < chi2_bound_((double)n - 1));

  /* row norms ||K_i||^2 by KDE of k^2 (importance sampling of rows) */
  subq_kernel_t k2 = subq_kernel_squared(&ker);
  subq_kde_t *kk = oracle_(MPI_COMM_WORLD, SUBQ_KDE_EXACT, k2, X, 0, 0);
  double rn[12];
  CHECK_OK(subq_kde_query_points(kk, 0.0, rn, NULL));
  for (size_t i = 0; i < n; i++) {
    double s = 0;
    for (size_t j = 0; j < n; j++) s += K[i * n + j] * K[i * n + j];
    CHECK_CLOSE(rn[i], s, 1e-12);
  }
  subq_kde_destroy(&kk);
  subq_kde_tree_destroy(&T);
  subq_kde_tree_destroy(&Ts);
  subq_kde_destroy(&k);
  subq_kde_destroy(&ks);

  /* approximate trees on n = 400: neighbour distribution of one vertex within TV 0.1
   * (sampling noise of 12000 draws alone is about 0.04 here) */
  {
    const size_t n2 = 400, d2 = 3;
    subq_dmat_t *X2 = kt_points(MPI_COMM_WORLD, n2, d2, 3);
    double *A2 = kt_all_points(n2, d2, 3), *K2 = kt_dense_kernel(&ker, A2, n2, d2);
    const subq_kde_type_t types[2] = {SUBQ_KDE_SAMPLING, SUBQ_KDE_HBE};
    for (int ti = 0; ti < 2; ti++) {
      subq_kde_t *o = oracle_(MPI_COMM_WORLD, types[ti], ker, X2, ti ? 16 : 40, 3);
      CHECK_OK(subq_kde_tree_create(o, X2, 8, &T));
      double tv = tv_neighbors_(T, K2, n2, 17, 12000);
      if (rank == 0) printf("%s tree: TV of neighbour distribution %.3f\n", subq_kde_type_name(types[ti]), tv);
      CHECK(tv < 0.1);
      subq_kde_tree_destroy(&T);
      subq_kde_destroy(&o);
    }
    free(A2);
    free(K2);
    subq_dmat_destroy(&X2);
  }

  /* bad input: one vertex has no neighbours; all degrees 0 */
  subq_dmat_t *X1 = kt_points(MPI_COMM_WORLD, 1, d, 2);
  k = oracle_(MPI_COMM_WORLD, SUBQ_KDE_EXACT, ker, X1, 0, 0);
  CHECK_ERR(subq_kde_sample_vertices(k, 5, 1, idx, NULL, NULL), SUBQ_ERR_ARG, "weights are 0");
  CHECK_OK(subq_kde_tree_create(k, X1, 4, &T));
  CHECK_ERR(subq_kde_tree_sample_neighbors(T, 1, idx, 1, idx2, NULL), SUBQ_ERR_ARG, "no neighbours");
  subq_kde_tree_destroy(&T);
  subq_kde_destroy(&k);
  subq_dmat_destroy(&X1);

  free(start);
  free(paths);
  free(idx);
  free(idx2);
  free(A);
  free(K);
  subq_dmat_destroy(&X);
  subq_dmat_destroy(&Xs);
  CHECK_FINISH();
}
