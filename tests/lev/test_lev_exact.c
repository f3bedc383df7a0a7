/* Exact leverage scores (qr and gram methods) against an SVD of the gathered matrix on
 * rank 0 (tau_i = ||U_{i,1:r}||^2), each rank comparing its own rows, so np = 1, 2, 3
 * all agree with one reference (Fashion-MNIST: test_lev_fmnist.c): an ill-conditioned
 * synthetic matrix (Gaussian x diag(1 .. 1e-8)), ridge scores
 * against the closed form, float32 storage. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dist/fill.h"
#include "lev/lev_ref.h"
#include "subq/lev.h"

#include "lev_compare.h"

  /* Ill-conditioned: Gaussian x diag(geometric 1 .. 1e-8), 1200 x 40. */
  {
    size_t n = 1200, d = 40;
    double sc[40];
    for (size_t j = 0; j < d; j++) sc[j] = pow(1e-8, (double)j / (double)(d - 1));
    CHECK_OK(subq_dmat_create(MPI_COMM_WORLD, n, d, SUBQ_F64, &A));
    fill_gauss(A, 11, sc);
    ref = malloc(n * sizeof(double));
    size_t r = reference(A, 0, ref);
    CHECK(r == d);
    CHECK(compare(A, SUBQ_LEV_QR, 0, ref, r, "illcond 1200x40 (1e-8)") <= 1e-9);
    /* gram cannot resolve sigma below ~1e-7 sigma_max: only the ridge form is exact. */
    reference(A, 1e-3, ref);
    CHECK(compare(A, SUBQ_LEV_QR, 1e-3, ref, 0, "illcond ridge 1e-3") <= 1e-9);
    free(ref);
    subq_dmat_destroy(&A);
  }

  /* Well-conditioned Gaussian with two zero columns: gram and qr, float64 and float32. */
  {
    size_t n = 500, d = 12;
    double sc[12];
    for (size_t j = 0; j < d; j++) sc[j] = (j == 3 || j == 8) ? 0.0 : 1.0 + j;
    for (int dt = 0; dt < 2; dt++) {
      CHECK_OK(subq_dmat_create(MPI_COMM_WORLD, n, d, dt ? SUBQ_F32 : SUBQ_F64, &A));
      fill_gauss(A, 12, sc);
      ref = malloc(n * sizeof(double));
      size_t r = reference(A, 0, ref);
      CHECK(r == d - 2);
      double tol = dt ? 1e-9 : 1e-9; /* the reference uses the same float-rounded data */
      CHECK(compare(A, SUBQ_LEV_QR, 0, ref, r, dt ? "gauss 500x12 f32" : "gauss 500x12") <= tol);
      CHECK(compare(A, SUBQ_LEV_GRAM, 0, ref, r, dt ? "gauss 500x12 f32" : "gauss 500x12") <= 1e-9);
      free(ref);
      subq_dmat_destroy(&A);
    }
  }

  /* n < d and n = 2 on 3 ranks: every row has score 1 (full row rank). */
  {
    CHECK_OK(subq_dmat_create(MPI_COMM_WORLD, 2, 5, SUBQ_F64, &A));
    fill_gauss(A, 13, NULL);
    double tau[2] = {0, 0};
    subq_lev_opts_t o;
    subq_lev_opts_default(&o);
    subq_lev_info_t info;
    CHECK_OK(subq_leverage_scores(A, &o, tau, &info));
    CHECK(info.numerical_rank == 2);
    for (size_t i = 0; i < A->nloc; i++) CHECK_CLOSE(tau[i], 1.0, 1e-12);
    subq_dmat_destroy(&A);
  }
  CHECK_FINISH();
}
