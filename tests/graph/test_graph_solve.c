/* Laplacian solves with PETSc KSP against a dense solve made here (LAPACK dgesv on
 * L + 1 1^T / n): CG + GAMG on the sparsifier, and CG on the exact matrix-free L
 * preconditioned by GAMG of the sparsifier; true residual on the exact L; the library's
 * dense reference; bad inputs (disconnected sparsifier, bad tolerance). */
#include "graph_test.h"

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  const size_t n = 80, d = 3;
  subq_kernel_t ker = {SUBQ_KERNEL_GAUSSIAN, 1.5};
  subq_dmat_t *X = kt_points(MPI_COMM_WORLD, n, d, 4);
  double *A = kt_all_points(n, d, 4), *K = kt_dense_kernel(&ker, A, n, d), *L = gt_laplacian(K, n);
  const size_t nl = X->nloc, r0 = X->r0;
  /* dense reference: (L + 11^T/n) x = b - mean(b) */
  double *b = malloc(n * sizeof *b), *xd = malloc(n * sizeof *xd), mean = 0;
  for (size_t i = 0; i < n; i++) b[i] = subq_rng_gauss(3, 4, i), mean += b[i] / (double)n;
  for (size_t i = 0; i < n; i++) xd[i] = b[i] - mean;
  for (size_t i = 0; i < n * n; i++) L[i] += 1.0 / (double)n;
  lapack_int *piv = malloc(n * sizeof *piv);
  CHECK(LAPACKE_dgesv(LAPACK_ROW_MAJOR, (lapack_int)n, 1, L, (lapack_int)n, piv, xd, 1) == 0);
  double xn = 0;
  for (size_t i = 0; i < n; i++) xn += xd[i] * xd[i];

  subq_sparsifier_t *sp = NULL;
  CHECK_OK(subq_sparsifier_create(MPI_COMM_WORLD, &sp));
  CHECK_OK(subq_sparsifier_set_eps(sp, 0.5, 2.0));
  CHECK_OK(subq_sparsifier_set_kde(sp, SUBQ_KDE_EXACT, 0, 0, 4));
  CHECK_OK(subq_sparsifier_setup(sp, X, &ker));
  double *x = malloc((nl + 1) * sizeof *x);
  const char *pcs[] = {"gamg", "hypre"};
  for (int mode = 0; mode < 2; mode++)
    for (int p = 0; p < 2; p++) {
      subq_lsolve_stats_t st;
      CHECK_OK(subq_laplacian_solve(sp, X, &ker, (subq_lsolve_mode_t)mode, pcs[p], 1e-10, 500,
                                    b + r0, x, &st));
      double err = 0;
      for (size_t i = 0; i < nl; i++) err += (x[i] - xd[r0 + i]) * (x[i] - xd[r0 + i]);
      MPI_Allreduce(MPI_IN_PLACE, &err, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
      err = sqrt(err / xn);
      if (rank == 0)
        printf("mode %d pc %s: %d iterations, true rel. residual %.3g, error vs dense %.3g\n",
               mode, pcs[p], st.iterations, st.true_rel_residual, err);
      if (mode == SUBQ_LSOLVE_PRECOND) {
        CHECK(st.true_rel_residual <= 1e-9);
        CHECK(err <= 1e-7);
      } else {
        /* L~^+ b: a spectral approximation of L^+ b (within eps-ish) */
        CHECK(err <= 0.5);
      }
    }
  /* the library's dense reference */
  CHECK_OK(subq_laplacian_dense_solve(X, &ker, b + r0, x));
  for (size_t i = 0; i < nl; i++) CHECK_CLOSE(x[i], xd[r0 + i], 1e-9);

  /* bad inputs */
  CHECK_ERR(subq_laplacian_solve(sp, X, &ker, SUBQ_LSOLVE_PRECOND, "gamg", 2.0, 10, b + r0, x, NULL),
            SUBQ_ERR_ARG, "tolerance");
  CHECK_ERR(subq_laplacian_solve(sp, X, &ker, SUBQ_LSOLVE_PRECOND, "ilu0", 1e-6, 10, b + r0, x, NULL),
            SUBQ_ERR_ARG, "preconditioner must be");
  CHECK_ERR(subq_laplacian_solve(sp, X, &ker, SUBQ_LSOLVE_PRECOND, "none", 1e-12, 2, b + r0, x, NULL),
            SUBQ_ERR_NUMERIC, "did not converge");
  subq_sparsifier_t *sf = NULL;
  CHECK_OK(subq_sparsifier_create(MPI_COMM_WORLD, &sf));
  CHECK_OK(subq_sparsifier_set_samples(sf, 10));
  CHECK_OK(subq_sparsifier_setup(sf, X, &ker));
  CHECK_ERR(subq_laplacian_solve(sf, X, &ker, SUBQ_LSOLVE_SPARSIFIER, "gamg", 1e-6, 10, b + r0, x, NULL),
            SUBQ_ERR_NUMERIC, "connected components");
  subq_sparsifier_destroy(&sf);
  subq_sparsifier_destroy(&sp);
  free(A), free(K), free(L), free(b), free(xd), free(piv), free(x);
  subq_dmat_destroy(&X);
  CHECK_FINISH();
}
