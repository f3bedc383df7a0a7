/* Sketched leverage scores (Drineas et al. 2012 with a CountSketch Pi1 of m = 20 d rows
 * and a Gaussian JL Pi2) against the exact scores.  Documented tolerance: with m = 20 d
 * and r2 = 64 JL columns, the largest relative error over all rows stays below 0.5
 * (fixed seed; the JL part alone has relative standard deviation sqrt(2/r2) = 0.18), and
 * the mean relative error below 0.2.  Without JL (r2 >= rank) only the subspace
 * embedding error remains: max below 0.25. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dist/fill.h"
#include "subq/lev.h"

static void errors(const subq_dmat_t *A, const double *t, const double *ex, double *emax,
                   double *emean) {
  double e = 0, s = 0;
  for (size_t i = 0; i < A->nloc; i++) {
    double r = fabs(t[i] - ex[i]) / ex[i];
    e = r > e ? r : e;
    s += r;
  }
  MPI_Allreduce(&e, emax, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  MPI_Allreduce(&s, emean, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  *emean /= (double)A->n;
}

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  size_t n = 6000, d = 16;
  double sc[16];
  for (size_t j = 0; j < d; j++) sc[j] = pow(1e-3, (double)j / (double)(d - 1));
  subq_dmat_t *A = NULL;
  CHECK_OK(subq_dmat_create(MPI_COMM_WORLD, n, d, SUBQ_F64, &A));
  if (!A) CHECK_FINISH();
  fill_gauss(A, 21, sc);
  /* Heavier rows: a few rows scaled up to have large leverage. */
  for (size_t i = 0; i < A->nloc; i++)
    if ((A->r0 + i) % 997 == 0)
      for (size_t j = 0; j < d; j++) ((double *)A->data)[i * d + j] *= 30.0;
  double *ex = malloc((A->nloc + 1) * sizeof(double)), *t = malloc((A->nloc + 1) * sizeof(double));
  subq_lev_opts_t o;
  subq_lev_opts_default(&o);
  subq_lev_info_t info;
  CHECK_OK(subq_leverage_scores(A, &o, ex, &info));
  o.method = SUBQ_LEV_SKETCH;
  o.seed = 7;
  o.jl_cols = 64;
  /* r2 = 64 >= rank 16: JL skipped, only the CountSketch error. */
  CHECK_OK(subq_leverage_scores(A, &o, t, &info));
  CHECK(info.sketch_rows == 20 * d && info.jl_cols == 0 && info.numerical_rank == d);
  double emax, emean;
  errors(A, t, ex, &emax, &emean);
  if (A->rank == 0) printf("countsketch m=%zu, no JL: max rel err %.3f mean %.3f\n", info.sketch_rows, emax, emean);
  CHECK(emax < 0.25);
  /* d = 16 < r2: to exercise JL, use r2 = 8 < rank and a looser bound, then r2 = 12. */
  o.jl_cols = 12;
  CHECK_OK(subq_leverage_scores(A, &o, t, &info));
  CHECK(info.jl_cols == 12 && info.weight_cols == 12);
  errors(A, t, ex, &emax, &emean);
  if (A->rank == 0) printf("countsketch m=%zu, JL r2=12: max rel err %.3f mean %.3f\n", info.sketch_rows, emax, emean);
  CHECK(emax < 1.5 && emean < 0.45);
  /* Ridge with the sketch. */
  o.jl_cols = 64;
  o.ridge = 1.0;
  subq_lev_opts_t oe;
  subq_lev_opts_default(&oe);
  oe.ridge = 1.0;
  CHECK_OK(subq_leverage_scores(A, &oe, ex, NULL));
  CHECK_OK(subq_leverage_scores(A, &o, t, &info));
  errors(A, t, ex, &emax, &emean);
  if (A->rank == 0) printf("countsketch ridge 1: max rel err %.3f mean %.3f\n", emax, emean);
  CHECK(emax < 0.25);
  /* Bad options are agreed argument errors. */
  o.sketch_rows = d - 1;
  CHECK_ERR(subq_leverage_scores(A, &o, t, NULL), SUBQ_ERR_ARG, "sketch rows must be >= d");
  o.sketch_rows = 0;
  o.ridge = -1;
  CHECK_ERR(subq_leverage_scores(A, &o, t, NULL), SUBQ_ERR_ARG, "ridge");
  free(ex);
  free(t);
  subq_dmat_destroy(&A);
  CHECK_FINISH();
}
