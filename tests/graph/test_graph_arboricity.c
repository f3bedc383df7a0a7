/* Arboricity max_{|S|>=2} w(E(S)) / (|S| - 1) against brute force over all subsets:
 * (1) the exact flow-based routine on random weighted graphs (sparse, complete, with a
 * planted dense block, with repeated edges) and on complete kernel graphs of 12 points;
 * (2) the dense kernel-graph reference against brute force on 12 points; (3) the KDE
 * edge-sampling estimator within its stated error of the exact value on 240 clustered
 * points, identical for any rank count, also with DEANN oracles in the tree nodes at 8
 * samples per node where the sampling tree fails; bad arguments; (4) the estimator at a small
 * bandwidth with wrong (8-sample KDE) degree estimates against the exact value. */
#include "graph_test.h"

/* max over subsets with >= 2 vertices, by enumeration (n <= 16); *size its |S|. */
static double brute_(size_t n, size_t m, const size_t *E, const double *w, size_t *size) {
  double best = 0;
  for (unsigned s = 0; s < (1u << n); s++) {
    int k = __builtin_popcount(s);
    if (k < 2) continue;
    double t = 0;
    for (size_t e = 0; e < m; e++)
      if ((s >> E[2 * e] & 1) && (s >> E[2 * e + 1] & 1)) t += w[e];
    if (t / (k - 1) > best * (1 + 1e-12)) best = t / (k - 1), *size = (size_t)k;
  }
  return best;
}

/* Complete graph of a dense matrix K (upper triangle). */
static size_t complete_(const double *K, size_t n, size_t *E, double *w) {
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++) E[2 * m] = i, E[2 * m + 1] = j, w[m++] = K[i * n + j];
  return m;
}

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  size_t E[2 * 200], bs = 0, es = 0, fl = 0;
  double w[200], a = 0, b = 0;
  /* (1) random graphs: 40 instances of 11 vertices */
  for (uint64_t inst = 0; inst < 40; inst++) {
    const size_t n = 11;
    size_t m = 0;
    const double p = inst % 4 == 0 ? 1.0 : 0.3 + 0.15 * (double)(inst % 4);
    for (size_t i = 0; i < n; i++)
      for (size_t j = i + 1; j < n; j++) {
        uint64_t id = (inst * 64 + i) * 64 + j;
        double u = subq_rng_uniform(3, 1, id);
        if (u > p) continue;
        double wt = 0.05 + subq_rng_uniform(3, 2, id);
        if (inst % 5 == 1 && i < 4 && j < 4) wt += 3; /* planted dense block */
        E[2 * m] = i, E[2 * m + 1] = j, w[m++] = wt;
        if (inst % 7 == 3 && (i + j) % 5 == 0) /* a repeated edge: weights add */
          E[2 * m] = j, E[2 * m + 1] = i, w[m++] = 0.5;
      }
    if (m == 0) continue;
    a = brute_(n, m, E, w, &bs);
    CHECK_OK(subq_graph_arboricity_exact(n, m, E, w, &b, &es, &fl));
    CHECK_CLOSE(b, a, 1e-10);
    if (fabs(b - a) > 1e-10 * a && rank == 0)
      printf("instance %llu: exact %.12g brute force %.12g (|S| %zu vs %zu)\n",
             (unsigned long long)inst, b, a, es, bs);
  }
  /* complete kernel graphs of 12 clustered points at three bandwidths */
  const size_t n12 = 12, d = 3;
  double *A12 = kt_all_points(n12, d, 11);
  for (int t = 0; t < 3; t++) {
    subq_kernel_t ker = {SUBQ_KERNEL_GAUSSIAN, 0.3 + 0.6 * t};
    double *K = kt_dense_kernel(&ker, A12, n12, d);
    size_t m = complete_(K, n12, E, w);
    a = brute_(n12, m, E, w, &bs);
    CHECK_OK(subq_graph_arboricity_exact(n12, m, E, w, &b, &es, &fl));
    CHECK_CLOSE(b, a, 1e-10);
    CHECK(es == bs);
    /* (2) the dense kernel-graph reference, distributed points */
    subq_dmat_t *X12 = kt_points(MPI_COMM_WORLD, n12, d, 11);
    double c = 0;
    size_t cs = 0;
    uint64_t ev = 0;
    CHECK_OK(subq_arboricity_dense(X12, &ker, &c, &cs, &ev));
    CHECK_CLOSE(c, a, 1e-10);
    CHECK(ev == n12 * (n12 - 1) / 2);
    if (rank == 0)
      printf("12 points, h = %.1f: arboricity %.6f (|S| = %zu), brute force %.6f (|S| = %zu)\n",
             ker.h, b, es, a, bs);
    subq_dmat_destroy(&X12);
    free(K);
  }
  free(A12);
  /* bad arguments */
  E[0] = 1, E[1] = 1, w[0] = 1;
  CHECK_ERR(subq_graph_arboricity_exact(3, 1, E, w, &b, NULL, NULL), SUBQ_ERR_ARG, "self-loop");
  E[1] = 2, w[0] = -1;
  CHECK_ERR(subq_graph_arboricity_exact(3, 1, E, w, &b, NULL, NULL), SUBQ_ERR_ARG, "weight -1");
  CHECK_ERR(subq_graph_arboricity_exact(1, 1, E, w, &b, NULL, NULL), SUBQ_ERR_ARG, "at least 2");

  /* (3) the estimator: 240 points in 3 clusters, h = 0.5 (the maximiser is a cluster-sized
   * set, not all of V); exact KDE oracles, so the only error is the edge sampling:
   * T = n ln n / eps^2 samples with eps = 0.25.  Stated error: 10%. */
  const size_t n = 240;
  subq_kernel_t ker = {SUBQ_KERNEL_GAUSSIAN, 0.5};
  subq_dmat_t *X = kt_points(MPI_COMM_WORLD, n, d, 5), *Xs = kt_points(MPI_COMM_SELF, n, d, 5);
  double exact = 0, est[2] = {0, 0};
  size_t xs = 0;
  CHECK_OK(subq_arboricity_dense(X, &ker, &exact, &xs, NULL));
  subq_arboricity_stats_t st[2];
  const size_t T = (size_t)ceil((double)n * log((double)n) / 0.0625);
  for (int pass = 0; pass < 2; pass++) {
    subq_dmat_t *P = pass ? Xs : X;
    subq_kde_t *o = NULL;
    double deg[240];
    subq_kde_tree_t *tr = gt_tree(P, ker, SUBQ_KDE_EXACT, 0, 0, 8, deg, &o);
    CHECK_OK(subq_arboricity_estimate(tr, P, &ker, deg, T, 17, &est[pass], &st[pass]));
    if (!pass)
      CHECK_ERR(subq_arboricity_estimate(tr, P, &ker, deg, 0, 17, &b, &st[0]), SUBQ_ERR_ARG,
                "edge samples must be >= 1");
    subq_kde_tree_destroy(&tr);
    subq_kde_destroy(&o);
  }
  if (rank == 0)
    printf("240 points: estimate %.6f (|S| = %zu, %zu samples, %zu edges, %zu flows), exact %.6f "
           "(|S| = %zu), relative error %.4f\n", est[0], st[0].set_size, T, st[0].edges,
           st[0].flows, exact, xs, fabs(est[0] - exact) / exact);
  CHECK(fabs(est[0] - exact) <= 0.1 * exact);
  CHECK(xs > 2 && xs < n); /* a proper subset: the test is not just the total weight */
  /* same on one rank: the same samples; degrees (hence w(E)) agree to rounding */
  CHECK(st[1].edges == st[0].edges && st[1].set_size == st[0].set_size);
  CHECK_CLOSE(est[1], est[0], 1e-12);
  for (size_t pg = 16; pg >= 8; pg -= 8) {
    /* a sampling tree, 16 points per node: stated error 10%; 8 per node (the default
     * mixing weight): printed, not asserted -- one outlier edge, 8.3x off, the failure
     * the DEANN case below fixes (results/graph) */
    subq_kde_t *o = NULL;
    double deg[240], e8 = 0;
    subq_kde_tree_t *tr = gt_tree(X, ker, SUBQ_KDE_SAMPLING, pg, 5, 8, deg, &o);
    CHECK_OK(subq_arboricity_estimate(tr, X, &ker, deg, T, 17, &e8, &st[1]));
    if (rank == 0)
      printf("240 points, sampling tree (%zu per node): estimate %.6f (|S| = %zu), relative error "
             "%.4f, %llu kernel evaluations (%.3f of n(n-1)/2)\n", pg, e8, st[1].set_size,
             fabs(e8 - exact) / exact, (unsigned long long)st[1].sample_evals,
             (double)st[1].sample_evals / (0.5 * n * (n - 1)));
    if (pg == 16) CHECK(fabs(e8 - exact) <= 0.1 * exact);
    subq_kde_tree_destroy(&tr);
    subq_kde_destroy(&o);
  }
  { /* the same small bandwidth with 8 points per node: DEANN oracles in the tree nodes
     * (Karppa-Aumueller-Pagh 2022: the nearest IVF cluster exactly + 8 samples) and the
     * defensive mixing weight 0.5 (results/graph: digits h = 7, the sampling tree with 8
     * per node is 4590x off, this setting 1.25%).  Stated error: 10%. */
    subq_kde_t *o = NULL;
    double deg[240], ed = 0;
    subq_kde_tree_t *tr = NULL;
    CHECK_OK(subq_kde_create(X->comm, SUBQ_KDE_DEANN, &o));
    CHECK_OK(subq_kde_set_kernel(o, ker));
    CHECK_OK(subq_kde_set_samples(o, 8, 1));
    CHECK_OK(subq_kde_set_deann(o, 0, 1));
    CHECK_OK(subq_kde_set_seed(o, 5));
    CHECK_OK(subq_kde_setup(o, X));
    CHECK_OK(subq_kde_query_points(o, 1.0, deg, NULL));
    CHECK_OK(subq_kde_tree_create(o, X, 8, &tr));
    CHECK_ERR(subq_kde_tree_set_mix(tr, 1.0), SUBQ_ERR_ARG, "mixing weight");
    CHECK_OK(subq_kde_tree_set_mix(tr, 0.5));
    CHECK_OK(subq_arboricity_estimate(tr, X, &ker, deg, T, 17, &ed, &st[1]));
    if (rank == 0)
      printf("240 points, DEANN tree (8 per node, mix 0.5): estimate %.6f (|S| = %zu), relative "
             "error %.4f, %llu kernel evaluations (%.3f of n(n-1)/2)\n", ed, st[1].set_size,
             fabs(ed - exact) / exact, (unsigned long long)st[1].sample_evals,
             (double)st[1].sample_evals / (0.5 * n * (n - 1)));
    CHECK(fabs(ed - exact) <= 0.1 * exact);
    subq_kde_tree_destroy(&tr);
    subq_kde_destroy(&o);
  }
  subq_dmat_destroy(&X);
  subq_dmat_destroy(&Xs);

  /* (4) small bandwidth: 300 points, h = 0.15 (nearest-neighbour distances are about
   * 0.2: a local graph, most kernel values about 0), the case where KDE degree estimates
   * fail and the old weights w(E) / T with w(E) = sum(deg) / 2 were far off (digits h = 7:
   * 2.6x).  The degrees come from a sampling oracle with 8 samples per query (mostly 0 or
   * many times too large here); the tree is exact.  The degrees only shape the source
   * distribution and the weights use the exact draw probabilities, so the estimate must
   * be within 10% of the exact (igraph) arboricity and w_H(E) within 5% of the exact w(E)
   * (dense sum by the scalar definition); the old estimator gives w(E) = sum(deg) / 2,
   * off by the degree estimates' error (printed). */
  const size_t n4 = 300;
  subq_kernel_t k4 = {SUBQ_KERNEL_GAUSSIAN, 0.15};
  double *A4 = kt_all_points(n4, d, 9), *K4 = kt_dense_kernel(&k4, A4, n4, d), wE = 0;
  for (size_t i = 0; i < n4; i++)
    for (size_t j = i + 1; j < n4; j++) wE += K4[i * n4 + j];
  free(A4), free(K4);
  subq_dmat_t *X4 = kt_points(MPI_COMM_WORLD, n4, d, 9), *X4s = kt_points(MPI_COMM_SELF, n4, d, 9);
  double exact4 = 0, est4[2] = {0, 0}, deg4[300], deg_bad[300], sum_bad = 0;
  size_t xs4 = 0;
  CHECK_OK(subq_arboricity_dense(X4, &k4, &exact4, &xs4, NULL));
  const size_t T4 = (size_t)ceil((double)n4 * log((double)n4) / 0.0625);
  subq_arboricity_stats_t st4[2];
  for (int pass = 0; pass < 2; pass++) {
    subq_dmat_t *P = pass ? X4s : X4;
    subq_kde_t *o = NULL, *bad = NULL;
    CHECK_OK(subq_kde_create(P->comm, SUBQ_KDE_SAMPLING, &bad));
    CHECK_OK(subq_kde_set_kernel(bad, k4));
    CHECK_OK(subq_kde_set_samples(bad, 8, 1));
    CHECK_OK(subq_kde_set_seed(bad, 3));
    CHECK_OK(subq_kde_setup(bad, P));
    CHECK_OK(subq_kde_query_points(bad, 1.0, deg_bad, NULL));
    subq_kde_destroy(&bad);
    subq_kde_tree_t *tr = gt_tree(P, k4, SUBQ_KDE_EXACT, 0, 0, 8, deg4, &o);
    CHECK_OK(subq_arboricity_estimate(tr, P, &k4, deg_bad, T4, 23, &est4[pass], &st4[pass]));
    subq_kde_tree_destroy(&tr);
    subq_kde_destroy(&o);
  }
  size_t zero = 0;
  for (size_t i = 0; i < n4; i++) sum_bad += deg_bad[i], zero += !(deg_bad[i] > 0);
  if (rank == 0)
    printf("300 points, h = 0.15: estimate %.6f (|S| = %zu), exact %.6f (|S| = %zu), relative "
           "error %.4f; w_H(E) %.4f vs w(E) %.4f; the 8-sample degree estimates: %zu of %zu "
           "are 0, sum(deg)/2 = %.4f\n", est4[0], st4[0].set_size, exact4, xs4,
           fabs(est4[0] - exact4) / exact4, st4[0].total_weight, wE, zero, n4, 0.5 * sum_bad);
  CHECK(fabs(est4[0] - exact4) <= 0.1 * exact4);
  CHECK(fabs(st4[0].total_weight - wE) <= 0.05 * wE);
  CHECK(xs4 > 2 && xs4 < n4 / 3); /* a local maximiser, not a whole cluster */
  CHECK(zero > 0);                /* the degree estimates are really wrong */
  CHECK(st4[1].edges == st4[0].edges && st4[1].set_size == st4[0].set_size);
  CHECK_CLOSE(est4[1], est4[0], 1e-12);
  subq_dmat_destroy(&X4);
  subq_dmat_destroy(&X4s);
  CHECK_FINISH();
}
