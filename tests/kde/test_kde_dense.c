/* The ScaLAPACK dense reference (kernel matrix built block-cyclic, pdsyevr) and
 * the sampled-row error estimate, against LAPACK dsyev on the dense matrix formed here by
 * the scalar kernel definition (independent of the dgemm path), on several BLACS grids
 * (for np = 3: 3 x 1 and 1 x 3) and block sizes that do not divide n. */
#include <cblas.h>
#include <lapacke.h>

#include "kde_test.h"

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  int rank, np;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &np);
  const size_t n = 157, d = 3, k = 4;
  subq_kernel_t ker = {SUBQ_KERNEL_GAUSSIAN, 0.9};
  subq_dmat_t *X = kt_points(MPI_COMM_WORLD, n, d, 9);
  double *A = kt_all_points(n, d, 9), *K = kt_dense_kernel(&ker, A, n, d);
  double *Kc, *ev, nrm2, best2;
  CHECK(kt_dense_spectrum(K, n, k, &Kc, &ev, &nrm2, &best2) == 0);

  const int grids[3][2] = {{0, 0}, {np, 1}, {1, np}}, nbs[3] = {16, 64, 7};
  double *V = malloc((X->nloc + 1) * k * sizeof *V);
  /* tailored: 1 = pdsyntrd may copy the matrix to one square sub-grid (the default at this
   * n), 0 = the in-place 2D reduction used above n = 16,000 */
  for (int tailored = 1; tailored >= 0; tailored--)
  for (int gi = 0; gi < 3; gi++)
    for (int wv = 0; wv < 2; wv++) {
      subq_scalapack_eig_set_tailored_max(tailored ? 16000 : 0);
      double lam[4], best = 0, nf = 0;
      uint64_t evals = 0;
      CHECK_OK(subq_kernel_dense_eig_scalapack(X, &ker, k, grids[gi][0], grids[gi][1], nbs[gi],
                                               lam, wv ? V : NULL, &best, &nf, &evals));
      for (size_t j = 0; j < k; j++) CHECK_CLOSE(lam[j], ev[n - 1 - j], 1e-10);
      CHECK_CLOSE(best, sqrt(best2), 1e-8);
      CHECK_CLOSE(nf, sqrt(nrm2), 1e-12);
      CHECK(evals == n * n);
      if (wv)
        for (size_t j = 0; j < k; j++) { /* |<v_j, u_j>| = 1 (eigenvalues are simple here) */
          double al = 0;
          for (size_t i = 0; i < X->nloc; i++) al += V[i * k + j] * Kc[(X->r0 + i) * n + (n - 1 - j)];
          MPI_Allreduce(MPI_IN_PLACE, &al, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
          CHECK_CLOSE(fabs(al), 1.0, 1e-9);
        }
    }
  subq_scalapack_eig_set_tailored_max(16000);
  /* the LAPACK route agrees too */
  double lam2[4];
  CHECK_OK(subq_kernel_dense_eig(X, &ker, k, lam2, NULL, NULL, NULL));
  for (size_t j = 0; j < k; j++) CHECK_CLOSE(lam2[j], ev[n - 1 - j], 1e-10);

  /* sampled-row error of the exact top-k eigenvectors (V from pdsyevr above): the exact
   * error is sqrt(best2); with r rows the estimate is within 4 standard errors */
  double es = 0, ns = 0, se = 0;
  uint64_t ev_s = 0;
  CHECK_OK(subq_kernel_lra_error_sampled(X, &ker, V, k, 400, 5, &es, &ns, &se, &ev_s));
  CHECK(ev_s == 400 * n);
  if (rank == 0)
    printf("sampled error %.4f +- %.4f (exact %.4f), ||K|| %.3f (exact %.3f)\n", es, se,
           sqrt(best2), ns, sqrt(nrm2));
  CHECK(se > 0 && fabs(es - sqrt(best2)) <= 4 * se);
  CHECK(fabs(ns - sqrt(nrm2)) <= 0.1 * sqrt(nrm2));
  /* an uninformative V (one constant column): against the exact blocked error */
  for (size_t i = 0; i < X->nloc * k; i++) V[i] = (i % k == 0) / sqrt((double)n);
  double ex = 0;
  CHECK_OK(subq_kernel_lra_error(X, &ker, V, k, &ex, NULL));
  CHECK_OK(subq_kernel_lra_error_sampled(X, &ker, V, k, 400, 6, &es, NULL, &se, NULL));
  if (rank == 0) printf("sampled error %.4f +- %.4f (exact blocked %.4f)\n", es, se, ex);
  CHECK(fabs(es - ex) <= 4 * se);

  /* bad input */
  double l1;
  CHECK_ERR(subq_kernel_dense_eig_scalapack(X, &ker, 0, 0, 0, 0, &l1, NULL, NULL, NULL, NULL), SUBQ_ERR_ARG, "k must be");
  CHECK_ERR(subq_kernel_dense_eig_scalapack(X, &ker, 1, np + 1, 1, 0, &l1, NULL, NULL, NULL, NULL), SUBQ_ERR_ARG, "grid");
  CHECK_ERR(subq_kernel_lra_error_sampled(X, &ker, V, k, 1, 1, &es, NULL, NULL, NULL), SUBQ_ERR_ARG, "sampled rows");
  subq_error_clear();
  free(V);
  free(A);
  free(K);
  free(Kc);
  free(ev);
  subq_dmat_destroy(&X);
  CHECK_FINISH();
}
