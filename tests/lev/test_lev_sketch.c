/* Sketched leverage scores (Drineas et al. 2012 with a CountSketch Pi1 of m = 20 d rows
 * and a Gaussian JL Pi2) against the exact scores.  Documented tolerance: with m = 20 d
 * and r2 = 64 JL columns, the largest relative error over all rows stays below 0.5
 * (fixed seed).  With JL the error per score is that of a chi-square with r2 degrees
 * of freedom: checked loosely (mean < 0.3 for r2 = 32, max < 1.5).
 */
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

/* K: n x d Gaussian x diag(geometric 1 .. 1e-3), every 997th row scaled by 30 (high
 * leverage). */
static subq_dmat_t *make(size_t n, size_t d) {
  subq_dmat_t *A = NULL;
  double *sc = malloc(d * sizeof(double));
  for (size_t j = 0; j < d; j++) sc[j] = pow(1e-3, (double)j / (double)(d - 1));
  CHECK_OK(subq_dmat_create(MPI_COMM_WORLD, n, d, SUBQ_F64, &A));
  if (A) {
    fill_gauss(A, 21, sc);
    for (size_t i = 0; i < A->nloc; i++)
      if ((A->r0 + i) % 997 == 0)
        for (size_t j = 0; j < d; j++) ((double *)A->data)[i * d + j] *= 30.0;
  }
  free(sc);
  return A;
}

/* Sketched vs exact scores with the given options; prints and returns max/mean error
 * and the ratio of the score sums. */
static void run(const subq_dmat_t *A, subq_lev_opts_t o, const char *what, double *emax,
                double *emean, double *ratio, subq_lev_info_t *info) {
  double *ex = malloc((A->nloc + 1) * sizeof(double)), *t = malloc((A->nloc + 1) * sizeof(double));
  subq_lev_opts_t oe;
  subq_lev_opts_default(&oe);
  oe.ridge = o.ridge;
  CHECK_OK(subq_leverage_scores(A, &oe, ex, NULL));
  CHECK_OK(subq_leverage_scores(A, &o, t, info));
  errors(A, t, ex, emax, emean);
  double s[2] = {0, 0};
  for (size_t i = 0; i < A->nloc; i++) {
    s[0] += t[i];
    s[1] += ex[i];
  }
  MPI_Allreduce(MPI_IN_PLACE, s, 2, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  *ratio = s[0] / s[1];
  if (A->rank == 0)
    printf("%-34s m=%5zu r2=%3zu: max rel err %.3f, mean %.3f, sum ratio %.3f\n", what,
           info->sketch_rows, info->jl_cols, *emax, *emean, *ratio);
  free(ex);
  free(t);
}

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  double emax, emean, ratio;
  subq_lev_info_t info;
  subq_lev_opts_t o;
  subq_lev_opts_default(&o);
  o.method = SUBQ_LEV_SKETCH;
  o.seed = 7;

  /* d = 16: default r2 = ceil(8 ln 6000) = 70 >= rank, so JL is skipped and only the
   * CountSketch (m = 20 d) error remains. */
  subq_dmat_t *A = make(6000, 16);
  run(A, o, "countsketch, no JL", &emax, &emean, &ratio, &info);
  CHECK(info.sketch_rows == 320 && info.jl_cols == 0 && info.numerical_rank == 16);
  CHECK(emax < 0.5 && emean < 0.1 && fabs(ratio - 1) < 0.1);
  o.ridge = 1.0;
  run(A, o, "countsketch, no JL, ridge 1", &emax, &emean, &ratio, &info);
  CHECK(emax < 0.5 && emean < 0.1 && fabs(ratio - 1) < 0.1);
  o.ridge = 0;
  /* Bad options are agreed argument errors. */
  double *t = malloc((A->nloc + 1) * sizeof(double));
  o.sketch_rows = 15;
  CHECK_ERR(subq_leverage_scores(A, &o, t, NULL), SUBQ_ERR_ARG, "sketch rows must be >= d");
  o.sketch_rows = 0;
  o.ridge = -1;
  CHECK_ERR(subq_leverage_scores(A, &o, t, NULL), SUBQ_ERR_ARG, "ridge");
  o.ridge = 0;
  free(t);
  subq_dmat_destroy(&A);

  /* d = 64 with r2 = 32 JL columns: each score gets a chi-square(32)/32 factor
   * (relative sd sqrt(2/32) = 0.25), so the mean error is ~0.2 and the max over 6000
   * rows ~4 sd; the sum stays close (unbiased JL). */
  A = make(6000, 64);
  o.jl_cols = 32;
  run(A, o, "countsketch + JL", &emax, &emean, &ratio, &info);
  CHECK(info.jl_cols == 32 && info.weight_cols == 32 && info.numerical_rank == 64);
  CHECK(emax < 1.5 && emean < 0.3 && fabs(ratio - 1) < 0.1);

  /* Same seed, any rank count: each rank's slice agrees with a reference computed the
   * same way on one rank (MPI_COMM_SELF on rank 0, broadcast).  The JL step used to
   * depend on the SVD's sign choices, so rounding in the reduction changed scores by
   * ~0.1 between np 1 and np 2. */
  {
    size_t n = A->n, d = A->d;
    double *full = malloc(n * d * sizeof(double)), *ref = malloc(n * sizeof(double));
    double *t2 = malloc((A->nloc + 1) * sizeof(double));
    /* gather K row by row (n d doubles) on every rank */
    int size = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int *cnt = malloc(size * sizeof(int)), *dsp = malloc(size * sizeof(int));
    int my = (int)(A->nloc * d);
    MPI_Allgather(&my, 1, MPI_INT, cnt, 1, MPI_INT, MPI_COMM_WORLD);
    for (int r = 0, o2 = 0; r < size; r++) {
      dsp[r] = o2;
      o2 += cnt[r];
    }
    MPI_Allgatherv(A->data, my, MPI_DOUBLE, full, cnt, dsp, MPI_DOUBLE, MPI_COMM_WORLD);
    if (A->rank == 0) {
      subq_dmat_t *B = NULL;
      CHECK_OK(subq_dmat_create(MPI_COMM_SELF, n, d, SUBQ_F64, &B));
      memcpy(B->data, full, n * d * sizeof(double));
      CHECK_OK(subq_leverage_scores(B, &o, ref, NULL));
      subq_dmat_destroy(&B);
    }
    MPI_Bcast(ref, (int)n, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    CHECK_OK(subq_leverage_scores(A, &o, t2, NULL));
    double dmax = 0;
    for (size_t i = 0; i < A->nloc; i++) dmax = fmax(dmax, fabs(t2[i] - ref[A->r0 + i]));
    MPI_Allreduce(MPI_IN_PLACE, &dmax, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    if (A->rank == 0) printf("JL sketch, this np vs np 1: max |diff| %.3g\n", dmax);
    CHECK(dmax < 1e-10);
    free(cnt);
    free(dsp);
    free(full);
    free(ref);
    free(t2);
  }
  subq_dmat_destroy(&A);
  CHECK_FINISH();
}
