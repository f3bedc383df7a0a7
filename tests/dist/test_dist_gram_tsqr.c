/* Gram matrix, TSQR and ScaLAPACK pdgeqrf R factors and the product with a small matrix,
 * each against a dense computation on the gathered matrix (cblas_dgemm, LAPACKE_dgeqrf),
 * for shapes with ranks holding zero rows (n = 2 on 3 ranks) and n < d. */
#include <cblas.h>
#include <lapacke.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dist/fill.h"

/* Reference R of the gathered n x d matrix (row-major), d x d with zero rows below
 * min(n, d), non-negative diagonal. */
static void ref_r(const double *full, size_t n, size_t d, double *R) {
  double *a = malloc((n * d + 1) * sizeof(double)), *tau = malloc((d + 1) * sizeof(double));
  memcpy(a, full, n * d * sizeof(double));
  memset(R, 0, d * d * sizeof(double));
  if (n > 0) {
    CHECK(LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, (int)n, (int)d, a, (int)d, tau) == 0);
    for (size_t i = 0; i < (n < d ? n : d); i++)
      for (size_t j = i; j < d; j++) R[i * d + j] = a[i * d + j];
  }
  for (size_t i = 0; i < d; i++)
    if (R[i * d + i] < 0)
      for (size_t j = i; j < d; j++) R[i * d + j] = -R[i * d + j];
  free(a);
  free(tau);
}

static void one_case(size_t n, size_t d, subq_dtype_t dt, int rank) {
  subq_dmat_t *A = NULL;
  CHECK_OK(subq_dmat_create(MPI_COMM_WORLD, n, d, dt, &A));
  if (!A) return;
  fill_gauss(A, 1000 + n + d, NULL);
  double *full = malloc((n * d + 1) * sizeof(double));
  double *G = malloc(d * d * sizeof(double)), *Gr = calloc(d * d, sizeof(double));
  double *R = malloc(d * d * sizeof(double)), *Rr = malloc(d * d * sizeof(double));
  double *Rs = malloc(d * d * sizeof(double));
  CHECK_OK(subq_dmat_gather(A, 0, full));
  MPI_Bcast(full, (int)(n * d), MPI_DOUBLE, 0, MPI_COMM_WORLD);
  double tol = dt == SUBQ_F64 ? 1e-12 : 1e-5;

  /* Gram vs dgemm of the gathered matrix. */
  CHECK_OK(subq_dmat_gram(A, G));
  if (n > 0)
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)d, (int)n, 1.0, full,
                (int)d, full, (int)d, 0.0, Gr, (int)d);
  double eg = rel_maxdiff(G, Gr, d * d);
  CHECK(eg <= tol);

  /* TSQR vs dgeqrf of the gathered matrix (R computed in float64 even for float32). */
  CHECK_OK(subq_dmat_tsqr(A, R));
  ref_r(full, n, d, Rr);
  double er = rel_maxdiff(R, Rr, d * d);
  CHECK(er <= 1e-10);
  /* Replicated bitwise. */
  double *R0 = malloc(d * d * sizeof(double));
  memcpy(R0, R, d * d * sizeof(double));
  MPI_Bcast(R0, (int)(d * d), MPI_DOUBLE, 0, MPI_COMM_WORLD);
  CHECK(memcmp(R0, R, d * d * sizeof(double)) == 0);

  /* ScaLAPACK pdgeqrf on the most square grid with small blocks, and on a p x 1 grid. */
  int size;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  CHECK_OK(subq_dmat_qr_scalapack(A, 0, 0, 2, Rs));
  double es = rel_maxdiff(Rs, R, d * d);
  CHECK(es <= 1e-10);
  CHECK_OK(subq_dmat_qr_scalapack(A, size, 1, 3, Rs));
  CHECK(rel_maxdiff(Rs, R, d * d) <= 1e-10);

  /* C = A B with B d x 3. */
  double *B = malloc(d * 3 * sizeof(double)), *Cf = malloc((n * 3 + 1) * sizeof(double));
  double *Cr = calloc(n * 3 + 1, sizeof(double));
  for (size_t t = 0; t < d * 3; t++) B[t] = subq_rng_gauss(5, 1, t);
  subq_dmat_t *C = NULL;
  CHECK_OK(subq_dmat_mul_small(A, B, 3, &C));
  if (C) {
    CHECK(C->nloc == A->nloc && C->n == n && C->d == 3);
    CHECK_OK(subq_dmat_gather(C, 0, Cf));
    if (rank == 0 && n > 0) {
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, 3, (int)d, 1.0, full,
                  (int)d, B, 3, 0.0, Cr, 3);
      CHECK(rel_maxdiff(Cf, Cr, n * 3) <= tol);
    }
  }
  if (rank == 0)
    printf("n=%zu d=%zu %s: gram %.2e tsqr %.2e scalapack %.2e\n", n, d,
           dt == SUBQ_F64 ? "f64" : "f32", eg, er, es);
  subq_dmat_destroy(&C);
  subq_dmat_destroy(&A);
  free(full); free(G); free(Gr); free(R); free(Rr); free(Rs); free(R0); free(B); free(Cf); free(Cr);
}

/* Row-block -> block-cyclic -> row-block is the identity, on several grids/blocks. */
static void roundtrip(size_t n, size_t d, int nprow, int npcol, int mb, int nb) {
  subq_dmat_t *A = NULL, *A2 = NULL;
  CHECK_OK(subq_dmat_create(MPI_COMM_WORLD, n, d, SUBQ_F64, &A));
  CHECK_OK(subq_dmat_create(MPI_COMM_WORLD, n, d, SUBQ_F64, &A2));
  fill_gauss(A, 3, NULL);
  subq_blacs_grid_t *g = NULL;
  subq_bcmat_t *B = NULL;
  CHECK_OK(subq_blacs_grid_create(MPI_COMM_WORLD, nprow, npcol, &g));
  CHECK_OK(subq_dmat_to_block_cyclic(A, g, mb, nb, &B));
  CHECK_OK(subq_dmat_from_block_cyclic(B, A2));
  CHECK(memcmp(A->data, A2->data, A->nloc * d * sizeof(double)) == 0);
  subq_bcmat_destroy(&B);
  subq_blacs_grid_destroy(&g);
  subq_dmat_destroy(&A);
  subq_dmat_destroy(&A2);
}

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  size_t r0, nl;
  subq_dist_block(5, 3, 1, &r0, &nl);
  CHECK(r0 == 2 && nl == 2);
  subq_dist_block(2, 3, 2, &r0, &nl);
  CHECK(r0 == 2 && nl == 0);
  one_case(300, 7, SUBQ_F64, rank);
  one_case(5, 3, SUBQ_F64, rank);
  one_case(2, 3, SUBQ_F64, rank);   /* one rank with zero rows at np = 3, n < d */
  one_case(4, 6, SUBQ_F64, rank);   /* n < d */
  one_case(9000, 12, SUBQ_F64, rank); /* several TSQR chunks per rank */
  one_case(300, 7, SUBQ_F32, rank);
  roundtrip(37, 5, 0, 0, 4, 2);
  roundtrip(37, 5, 1, size, 3, 1);
  roundtrip(2, 3, size, 1, 1, 1);
  CHECK_FINISH();
}
