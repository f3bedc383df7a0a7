/* Exact leverage scores on Fashion-MNIST rows (fmnist:train:2000, 2000 x 784; K is
 * rank-deficient through pixels that are zero in every image) against an SVD of the
 * gathered matrix on rank 0 (tau_i = ||U_{i,1:r}||^2, dgesvd), each rank comparing its
 * own rows, so np = 1, 2, 3 agree with one reference; ridge scores by the gram method
 * against the closed form (K^T K + lambda I)^{-1} by dposv. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dist/fill.h"
#include "lev/lev_ref.h"
#include "subq/lev.h"

/* Reference scores of A (gathered to 0, computed there, broadcast); returns the rank. */
static size_t reference(const subq_dmat_t *A, double lambda, double *ref) {
  size_t n = A->n, d = A->d;
  double *full = malloc((n * d + 1) * sizeof(double));
  CHECK_OK(subq_dmat_gather(A, 0, full));
  long r = 0;
  if (A->rank == 0) {
    if (lambda > 0) {
      ref_ridge_scores(full, n, d, lambda, ref);
      r = (long)d;
    } else {
      r = (long)ref_svd_scores(full, n, d, ref);
    }
  }
  MPI_Bcast(ref, (int)n, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  MPI_Bcast(&r, 1, MPI_LONG, 0, MPI_COMM_WORLD);
  free(full);
  return (size_t)r;
}

/* Scores by `method` vs ref on this rank's rows; returns the max relative error over all
 * ranks. */
static double compare(const subq_dmat_t *A, subq_lev_method_t method, double lambda,
                      const double *ref, size_t rank_ref, const char *what) {
  subq_lev_opts_t o;
  subq_lev_opts_default(&o);
  o.method = method;
  o.ridge = lambda;
  subq_lev_info_t info;
  double *tau = malloc((A->nloc + 1) * sizeof(double));
  CHECK_OK(subq_leverage_scores(A, &o, tau, &info));
  double e = max_rel_err(tau, ref + A->r0, A->nloc, 1e-6), emax = 0, s = 0, sum = 0;
  for (size_t i = 0; i < A->nloc; i++) s += tau[i];
  MPI_Allreduce(&e, &emax, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  MPI_Allreduce(&s, &sum, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  if (lambda == 0) {
    CHECK(info.numerical_rank == rank_ref);
    CHECK_CLOSE(sum, (double)info.numerical_rank, 1e-9);
  }
  if (A->rank == 0)
    printf("%-28s %-6s rank %4zu (ref %4zu) sum %.10f  max rel err %.2e\n", what,
           subq_lev_method_name(method), info.numerical_rank, rank_ref, sum, emax);
  free(tau);
  return emax;
}

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  subq_dmat_t *A = NULL;
  double *ref = NULL;

  /* Fashion-MNIST, 2000 x 784, rank-deficient. */
  CHECK_OK(subq_dmat_load(MPI_COMM_WORLD, "fmnist:train:2000", SUBQ_F64, &A));
  if (A) {
    ref = malloc(A->n * sizeof(double));
    size_t r = reference(A, 0, ref);
    CHECK(r < A->d);
    CHECK(compare(A, SUBQ_LEV_QR, 0, ref, r, "fmnist:train:2000") <= 1e-9);
    /* Ridge on the same data vs the closed form (gram here; qr on the ill-conditioned
     * matrix below). */
    reference(A, 0.5, ref);
    CHECK(compare(A, SUBQ_LEV_GRAM, 0.5, ref, 0, "fmnist:train:2000 ridge 0.5") <= 1e-9);
    free(ref);
    subq_dmat_destroy(&A);
  }

  CHECK_FINISH();
}
