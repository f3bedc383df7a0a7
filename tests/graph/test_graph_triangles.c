/* Total triangle weight sum_{i<j<k} w_ij w_jk w_ik: the dense reference trace(W^3)/6
 * against the triple loop over all triangles; the KDE edge-sampling estimator (exact
 * oracles) within 4 standard errors and 5% of it, identical for any rank count; with
 * the sampling oracle within 10%; with degree estimates 20x off (exact tree) within 4
 * standard errors and 5%; bad arguments. */
#include "graph_test.h"

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  const size_t n = 150, d = 3;
  subq_kernel_t ker = {SUBQ_KERNEL_GAUSSIAN, 0.8};
  subq_dmat_t *X = kt_points(MPI_COMM_WORLD, n, d, 5), *Xs = kt_points(MPI_COMM_SELF, n, d, 5);
  double *A = kt_all_points(n, d, 5), *K = kt_dense_kernel(&ker, A, n, d);
  double brute = 0;
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++)
      for (size_t k = j + 1; k < n; k++) brute += K[i * n + j] * K[j * n + k] * K[i * n + k];
  double dense = 0;
  uint64_t ev = 0;
  CHECK_OK(subq_triangles_dense(X, &ker, &dense, &ev));
  CHECK_CLOSE(dense, brute, 1e-10);
  CHECK(ev == n * n);
  /* estimator: exact oracles (unbiased), 20000 samples; np = 1 vs this communicator */
  const size_t s = 10000;
  double est[4] = {0, 0, 0, 0};
  subq_triangles_stats_t st[4];
  for (int pass = 0; pass < 4; pass++) {
    subq_dmat_t *P = pass == 1 ? Xs : X;
    subq_kde_t *o = NULL;
    double deg[150];
    subq_kde_tree_t *tr = gt_tree(P, ker, pass == 2 ? SUBQ_KDE_SAMPLING : SUBQ_KDE_EXACT,
                                  pass == 2 ? 32 : 0, 4, 8, deg, &o);
    if (pass == 3) /* wrong degrees: 20x too large or 20x too small, alternately */
      for (size_t i = 0; i < n; i++) deg[i] *= i % 2 ? 20.0 : 0.05;
    CHECK_OK(subq_triangles_estimate(tr, P, &ker, deg, s, 23, &est[pass], &st[pass]));
    if (pass == 0)
      CHECK_ERR(subq_triangles_estimate(tr, P, &ker, deg, 0, 23, &est[pass], &st[pass]),
                SUBQ_ERR_ARG, "samples must be >= 1");
    subq_kde_tree_destroy(&tr);
    subq_kde_destroy(&o);
  }
  if (rank == 0)
    printf("triangle weight: brute force %.8g, dense %.8g, estimate %.8g +- %.3g (exact oracles), "
           "%.8g (sampling oracles), %.8g +- %.3g (exact tree, degrees off by 20x); kernel evals "
           "%llu vs n^2 = %zu\n", brute, dense, est[0], st[0].std_err, est[2], est[3],
           st[3].std_err, (unsigned long long)st[0].sample_evals, n * n);
  CHECK(fabs(est[0] - brute) <= 4 * st[0].std_err);
  CHECK(fabs(est[0] - brute) <= 0.05 * brute);
  CHECK(st[0].std_err > 0 && st[0].std_err < 0.03 * brute);
  CHECK(fabs(est[2] - brute) <= 0.1 * brute);
  /* wrong degrees change only the source distribution: the weights use the exact draw
   * probabilities (the old D (n - 2) w_ik w_jk / 6 with D = sum(deg) was ~10x off here) */
  CHECK(fabs(est[3] - brute) <= 4 * st[3].std_err);
  CHECK(fabs(est[3] - brute) <= 0.05 * brute);
  CHECK(fabs(est[1] - est[0]) <= 1e-12 * est[0]); /* rank-count independent */
  subq_dmat_t *X2 = kt_points(MPI_COMM_WORLD, 2, d, 5);
  CHECK_ERR(subq_triangles_dense(X2, &ker, &dense, NULL), SUBQ_ERR_ARG, "n >= 3");
  subq_dmat_destroy(&X2);
  free(A), free(K);
  subq_dmat_destroy(&X);
  subq_dmat_destroy(&Xs);
  CHECK_FINISH();
}
