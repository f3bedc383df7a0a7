/* Collective error agreement: a failure on one rank only is returned on every rank, with
 * the failing rank's message; success everywhere stays success.  Checked memory. */
#include <stdint.h>
#include <string.h>

#include "check.h"

static int maybe_fail_(int rank, int bad_rank) {
  if (rank == bad_rank) return SUBQ_FAIL(SUBQ_ERR_FORMAT, "injected failure on file 'x.npy'");
  return SUBQ_OK;
}

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int bad = size > 1 ? 1 : 0;
  int err = subq_error_agree(MPI_COMM_WORLD, maybe_fail_(rank, bad));
  CHECK(err == SUBQ_ERR_FORMAT);
  CHECK(strstr(subq_error_message(), "injected failure on file 'x.npy'") != NULL);
  if (size > 1) CHECK(strstr(subq_error_message(), "rank 1: ") != NULL);
  /* Agreeing again on the agreed error (an outer phase) keeps the failing rank's number:
   * one "rank 1: " prefix, not "rank 0: rank 1: ". */
  err = subq_error_agree(MPI_COMM_WORLD, err);
  CHECK(err == SUBQ_ERR_FORMAT);
  if (size > 1) {
    const char *m = subq_error_message();
    CHECK(strncmp(m, "rank 1: injected failure", 24) == 0);
    CHECK(strstr(m + 1, "rank ") == NULL);
  }
  /* Two failing ranks: the lowest one's message wins everywhere. */
  if (size > 2) {
    int e = rank >= 1 ? SUBQ_FAIL(SUBQ_ERR_IO, "fail on rank %d", rank) : 0;
    err = subq_error_agree(MPI_COMM_WORLD, e);
    CHECK(err == SUBQ_ERR_IO);
    CHECK(strstr(subq_error_message(), "fail on rank 1") != NULL);
  }
  subq_error_clear();
  CHECK(subq_error_agree(MPI_COMM_WORLD, 0) == 0);
  /* SUBQ_CALL adds a trace line. */
  CHECK(strlen(subq_error_message()) == 0);
  /* Memory: overflow and NULL-safe free. */
  double *p = NULL;
  CHECK_ERR(subq_malloc(SIZE_MAX / 2, 16, &p), SUBQ_ERR_MEM, "overflow");
  CHECK(p == NULL);
  CHECK_OK(subq_malloc(0, 8, &p));
  CHECK(p != NULL);
  subq_free(&p);
  CHECK(p == NULL);
  subq_free(&p);
  subq_free(NULL);
  CHECK(!strcmp(subq_strerror(SUBQ_ERR_ARG), "bad argument"));
  CHECK(!strcmp(subq_strerror(999), "unknown error"));
  CHECK_FINISH();
}
