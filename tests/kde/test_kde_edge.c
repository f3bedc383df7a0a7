/* Numerical edge cases of the KDE layer (issue 11): duplicate points, all-identical points,
 * n = 1, d = 0, a tiny (1e-200) and a huge (1e300) bandwidth.  Every oracle, the sampling
 * tree, the low-rank approximation, the power method and the dense ScaLAPACK reference
 * give the mathematically right value -- checked against an fp64 dense reference computed
 * here from the kernel's definition in a form that cannot divide 0 by 0
 * (exp(-(dist/h)^2/2), exp(-dist/h)) and LAPACK dsyev -- or a clear error; never NaN. */
#include <lapacke.h>

#include "kde_test.h"

static const double base_[6][3] = {{0.1, 0.2, 0.3}, {1.5, -0.5, 0.0}, {-1.0, 2.0, 0.5},
                                   {0.7, 0.7, -1.2}, {2.5, 1.0, 1.0}, {-0.3, -2.0, 0.8}};

/* Point sets by global index: DUP: point i = base (i / 2) (pairs of duplicates); SAME:
 * every point equal; SPREAD: base (i % 6) shifted by i (all distinct). */
enum { DUP, SAME, SPREAD };
static double coord_(int set, size_t i, size_t t) {
  if (set == DUP) return base_[(i / 2) % 6][t];
  if (set == SAME) return base_[4][t];
  return base_[i % 6][t] + 0.37 * (double)i;
}

static subq_dmat_t *make_(int set, size_t n, double *all) {
  subq_dmat_t *X = NULL;
  if (subq_dmat_create(MPI_COMM_WORLD, n, 3, SUBQ_F64, &X)) return NULL;
  for (size_t i = 0; i < n; i++)
    for (size_t t = 0; t < 3; t++) {
      all[i * 3 + t] = coord_(set, i, t);
      if (i >= X->r0 && i < X->r0 + X->nloc) ((double *)X->data)[(i - X->r0) * 3 + t] = all[i * 3 + t];
    }
  return X;
}

/* fp64 reference kernel from the definition, safe for any h > 0. */
static double ref_k_(const subq_kernel_t *k, const double *x, const double *y) {
  double s2 = 0, s1 = 0;
  for (size_t t = 0; t < 3; t++) {
    s2 += (x[t] - y[t]) * (x[t] - y[t]);
    s1 += fabs(x[t] - y[t]);
  }
  if (k->type == SUBQ_KERNEL_GAUSSIAN) {
    double z = sqrt(s2) / k->h;
    return exp(-0.5 * z * z);
  }
  return exp(-(k->type == SUBQ_KERNEL_EXPONENTIAL ? sqrt(s2) : s1) / k->h);
}

/* KDE row sums (n) and top eigenvalue/eigenvector of the dense reference K. */
static void ref_(const subq_kernel_t *k, const double *A, size_t n, double *kde, double *lam1,
                 double *u1, double *lam2) {
  double *K = malloc(n * n * sizeof *K), *w = malloc(n * sizeof *w);
  for (size_t i = 0; i < n; i++) {
    kde[i] = 0;
    for (size_t j = 0; j < n; j++) kde[i] += K[i * n + j] = ref_k_(k, A + i * 3, A + j * 3);
  }
  LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'U', (lapack_int)n, K, (lapack_int)n, w);
  *lam1 = w[n - 1];
  *lam2 = n > 1 ? w[n - 2] : -INFINITY;
  for (size_t i = 0; i < n; i++) u1[i] = K[i * n + (n - 1)];
  free(K);
  free(w);
}

static int rank_;

/* One (point set, n, kernel) case through every estimator and application. */
static void run_case_(int set, size_t n, subq_kernel_t ker, const char *what) {
  double *A = malloc(n * 3 * sizeof *A), *kde = malloc(n * sizeof *kde), *u1 = malloc(n * sizeof *u1);
  double lam1, lam2;
  subq_dmat_t *X = make_(set, n, A);
  ref_(&ker, A, n, kde, &lam1, u1, &lam2);
  if (rank_ == 0) printf("%-34s n = %2zu: lambda_1 = %.6g, lambda_2 = %.6g\n", what, n, lam1, lam2);

  /* kernel block vs reference (all three kernel types are covered by the cases) */
  double *Kb = malloc(n * n * sizeof *Kb);
  CHECK_OK(subq_kernel_block(&ker, n, n, 3, A, NULL, A, NULL, Kb));
  for (size_t i = 0; i < n * n; i++) CHECK_CLOSE(Kb[i], ref_k_(&ker, A + (i / n) * 3, A + (i % n) * 3), 1e-12);
  for (size_t i = 0; i < n; i++) CHECK(subq_kernel_eval(&ker, A + i * 3, A + i * 3, 3) == 1.0);

  /* oracles: exact to rounding; estimators finite, and exact where every sample sees the
   * same kernel value (K = all ones: identical points or a huge bandwidth; n = 1) */
  const int flat = set == SAME || ker.h > 1e100 || n == 1;
  for (int ty = 0; ty < 3; ty++) {
    if (ty == SUBQ_KDE_HBE && ker.type == SUBQ_KERNEL_LAPLACIAN) continue;
    subq_kde_t *o = NULL;
    double *est = malloc(n * sizeof *est), *deg = malloc(n * sizeof *deg);
    uint64_t ev = 0;
    CHECK_OK(subq_kde_create(MPI_COMM_WORLD, (subq_kde_type_t)ty, &o));
    CHECK_OK(subq_kde_set_kernel(o, ker));
    if (ty != SUBQ_KDE_EXACT) CHECK_OK(subq_kde_set_samples(o, 16, 3));
    CHECK_OK(subq_kde_setup(o, X));
    CHECK_OK(subq_kde_query(o, A, n, est, &ev));
    CHECK_OK(subq_kde_query_points(o, 1.0, deg, NULL));
    for (size_t i = 0; i < n; i++) {
      CHECK(isfinite(est[i]) && est[i] >= 0 && isfinite(deg[i]) && deg[i] >= 0);
      if (ty == SUBQ_KDE_EXACT || flat) {
        CHECK_CLOSE(est[i], kde[i], 1e-9);
        CHECK_CLOSE(deg[i], kde[i] - 1, 1e-9); /* degree of a single point: 0 */
      }
    }
    free(est);
    free(deg);
    subq_kde_destroy(&o);
  }

  /* neighbour sampling through the tree (exact oracles): P(j | i) ~ k(x_i, x_j) */
  subq_kde_t *ex = NULL;
  CHECK_OK(subq_kde_create(MPI_COMM_WORLD, SUBQ_KDE_EXACT, &ex));
  CHECK_OK(subq_kde_set_kernel(ex, ker));
  CHECK_OK(subq_kde_setup(ex, X));
  subq_kde_tree_t *tree = NULL;
  CHECK_OK(subq_kde_tree_create(ex, X, 2, &tree));
  if (n == 1) {
    size_t src = 0, nbr = 0;
    CHECK_ERR(subq_kde_tree_sample_neighbors(tree, 1, &src, 1, &nbr, NULL), SUBQ_ERR_ARG, "neighbour");
  } else {
    size_t src[8], nbr[8];
    for (size_t t = 0; t < 8; t++) src[t] = t % n;
    CHECK_OK(subq_kde_tree_sample_neighbors(tree, 8, src, 5, nbr, NULL));
    for (size_t t = 0; t < 8; t++) {
      CHECK(nbr[t] < n && nbr[t] != src[t]);
      /* tiny bandwidth: a duplicate's only neighbour of non-zero weight is its twin */
      if (set == DUP && ker.h < 1e-100) CHECK(nbr[t] == (src[t] ^ 1));
    }
  }
  subq_kde_tree_destroy(&tree);
  subq_kde_destroy(&ex);

  /* top eigenpair: dense ScaLAPACK (workspace of small n) and the power method */
  double lam = 0, *v = malloc((X->nloc + 1) * sizeof *v), *vs = malloc((X->nloc + 1) * sizeof *vs);
  CHECK_OK(subq_kernel_dense_eig_scalapack(X, &ker, 1, 0, 0, 0, &lam, vs, NULL, NULL, NULL));
  CHECK_CLOSE(lam, lam1, 1e-10);
  if (lam1 - lam2 > 1e-6 * lam1) { /* simple lambda_1: the eigenvector is defined */
    double al = 0;
    for (size_t i = 0; i < X->nloc; i++) al += vs[i] * u1[X->r0 + i];
    MPI_Allreduce(MPI_IN_PLACE, &al, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    CHECK_CLOSE(fabs(al), 1.0, 1e-8);
  }
  uint64_t ev = 0;
  CHECK_OK(subq_kernel_top_eig(X, &ker, n, 4, 3, &lam, v, &ev));
  CHECK(isfinite(lam) && lam > 0);
  if (flat) CHECK_CLOSE(lam, lam1, 1e-10); /* K = all ones: every sampled column is 1 */

  /* low-rank approximation, rank 2: K V V^T never NaN; exact when K has rank <= 2 */
  if (n > 2) {
    double *V = malloc((X->nloc + 1) * 2 * sizeof *V), err = -1, nrm = 0;
    subq_lra_stats_t st;
    CHECK_OK(subq_kernel_lra(X, &ker, NULL, 2, n, 7, V, &st));
    CHECK_OK(subq_kernel_lra_error(X, &ker, V, 2, &err, &nrm));
    CHECK(isfinite(err) && err >= 0 && err <= nrm * (1 + 1e-12));
    if (flat) {
      CHECK(st.rank == 1);
      CHECK(err <= 1e-6 * nrm);
    }
    if (ker.h < 1e-100 && set == SPREAD) { /* K = I: best rank-2 error sqrt(n - 2) */
      CHECK(st.rank == 2);
      CHECK(err >= sqrt((double)n - 2) * (1 - 1e-9));
    }
    free(V);
  } else {
    double V[2];
    CHECK_ERR(subq_kernel_lra(X, &ker, NULL, n, 4, 7, V, NULL), SUBQ_ERR_ARG, "must be < n");
  }
  free(v);
  free(vs);
  free(Kb);
  free(A);
  free(kde);
  free(u1);
  subq_dmat_destroy(&X);
}

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  const subq_kernel_t g1 = {SUBQ_KERNEL_GAUSSIAN, 1.0}, tiny = {SUBQ_KERNEL_GAUSSIAN, 1e-200},
                      huge = {SUBQ_KERNEL_GAUSSIAN, 1e300}, e1 = {SUBQ_KERNEL_EXPONENTIAL, 1.0},
                      l1 = {SUBQ_KERNEL_LAPLACIAN, 1e-200}, et = {SUBQ_KERNEL_EXPONENTIAL, 1e-200};
  run_case_(DUP, 12, g1, "duplicates, gaussian h = 1");
  run_case_(DUP, 12, e1, "duplicates, exponential h = 1");
  run_case_(DUP, 12, tiny, "duplicates, gaussian h = 1e-200");
  run_case_(DUP, 12, et, "duplicates, exponential h = 1e-200");
  run_case_(DUP, 12, l1, "duplicates, laplacian h = 1e-200");
  run_case_(SAME, 9, g1, "all identical, gaussian h = 1");
  run_case_(SAME, 9, tiny, "all identical, gaussian h = 1e-200");
  run_case_(SPREAD, 10, tiny, "distinct, gaussian h = 1e-200 (K = I)");
  run_case_(SPREAD, 10, huge, "distinct, gaussian h = 1e300 (K = 1)");
  run_case_(SPREAD, 5, g1, "distinct, n = 5");
  run_case_(SPREAD, 1, g1, "n = 1");

  /* d = 0 and bandwidth checks: clear errors */
  subq_dmat_t *Z = NULL;
  int zc = subq_dmat_create(MPI_COMM_WORLD, 4, 0, SUBQ_F64, &Z);
  CHECK(zc == 0 || zc == SUBQ_ERR_ARG); /* refused at creation, or by the oracle below */
  if (zc == 0) {
    subq_kde_t *o = NULL;
    CHECK_OK(subq_kde_create(MPI_COMM_WORLD, SUBQ_KDE_EXACT, &o));
    CHECK_ERR(subq_kde_setup(o, Z), SUBQ_ERR_ARG, "d");
    subq_kde_destroy(&o);
    subq_dmat_destroy(&Z);
  }
  subq_kde_t *o = NULL;
  CHECK_OK(subq_kde_create(MPI_COMM_WORLD, SUBQ_KDE_SAMPLING, &o));
  subq_kernel_t bad = {SUBQ_KERNEL_GAUSSIAN, NAN};
  CHECK_ERR(subq_kde_set_kernel(o, bad), SUBQ_ERR_ARG, "bandwidth");
  bad.h = 0;
  CHECK_ERR(subq_kde_set_kernel(o, bad), SUBQ_ERR_ARG, "bandwidth");
  bad.h = INFINITY;
  CHECK_ERR(subq_kde_set_kernel(o, bad), SUBQ_ERR_ARG, "bandwidth");
  subq_kde_destroy(&o);
  CHECK_FINISH();
}
