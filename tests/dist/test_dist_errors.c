/* Error agreement of the dist collectives: a bad input on rank 1 only makes every rank
 * return the same error (no rank left waiting); int-count overflow of a gather is
 * detected before any communication. */
#include <limits.h>
#include <string.h>

#include "check.h"

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int bad = size > 1 ? 1 : 0;
  subq_dmat_t *A = NULL;

  /* Bad dtype on rank `bad` only. */
  CHECK_ERR(subq_dmat_create(MPI_COMM_WORLD, 10, 3, rank == bad ? SUBQ_U8 : SUBQ_F64, &A),
            SUBQ_ERR_ARG, "dtype must be float64 or float32");
  CHECK(A == NULL);
  if (size > 1) CHECK(strstr(subq_error_message(), "rank 1: ") != NULL);

  /* A missing file on rank `bad` only, a valid source elsewhere. */
  const char *spec = rank == bad ? "npy:/nonexistent/subq_missing.npy" : "synthetic:gauss:10,3";
  CHECK_ERR(subq_dmat_load(MPI_COMM_WORLD, spec, SUBQ_F64, &A), SUBQ_ERR_IO, "subq_missing.npy");
  CHECK(A == NULL);

  /* Different shapes on different ranks. */
  if (size > 1) {
    spec = rank == bad ? "synthetic:gauss:10,4" : "synthetic:gauss:10,3";
    int e = subq_dmat_load(MPI_COMM_WORLD, spec, SUBQ_F64, &A);
    CHECK(e == SUBQ_ERR_FORMAT);
    CHECK(A == NULL);
  }

  /* Loading works and agrees. */
  CHECK_OK(subq_dmat_load(MPI_COMM_WORLD, "synthetic:gauss:10,3", SUBQ_F32, &A));
  CHECK(A && A->n == 10 && A->d == 3 && A->dtype == SUBQ_F32);
  subq_dmat_destroy(&A);
  subq_dmat_destroy(&A); /* NULL is fine */

  /* Gather of more than INT_MAX elements: refused on every rank before any data moves. */
  subq_dmat_t fake;
  memset(&fake, 0, sizeof fake);
  fake.comm = MPI_COMM_WORLD;
  fake.rank = rank;
  fake.size = size;
  fake.n = (size_t)INT_MAX + 7;
  fake.d = 2;
  fake.dtype = SUBQ_F64;
  subq_dist_block(fake.n, size, rank, &fake.r0, &fake.nloc);
  CHECK_ERR(subq_dmat_gather(&fake, 0, NULL), SUBQ_ERR_ARG, "too large to gather");

  /* A BLACS grid that does not match the communicator (argument error on all ranks). */
  subq_blacs_grid_t *g = NULL;
  CHECK_ERR(subq_blacs_grid_create(MPI_COMM_WORLD, size + 1, 1, &g), SUBQ_ERR_ARG,
            "does not match");
  CHECK_FINISH();
}
