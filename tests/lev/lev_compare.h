/* Shared by the exact leverage-score tests: the SVD/closed-form reference of a
 * distributed matrix (computed on rank 0, broadcast), and the comparison of a method with
 * it on every rank. Include after check.h and lev/lev_ref.h. */
#ifndef SUBQ_TEST_LEV_COMPARE_H
#define SUBQ_TEST_LEV_COMPARE_H

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
#endif
