/* subq dist: dense n x d matrices distributed by row blocks over an MPI communicator,
 * the collectives on them (Gram matrix, TSQR), and a bridge to ScaLAPACK's 2D
 * block-cyclic layout.  Row blocks are balanced: rank r owns rows [r0, r0 + nloc) with
 * nloc = n/p or n/p + 1 (the first n mod p ranks get one more); ranks with zero rows
 * are allowed. */
#ifndef SUBQ_DIST_H
#define SUBQ_DIST_H

#include <mpi.h>
#include <stddef.h>

#include "subq/io.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  MPI_Comm comm;       /* not owned (not duplicated) */
  int rank, size;
  size_t n, d;         /* global rows, columns */
  size_t r0, nloc;     /* first global row owned here, number of local rows */
  subq_dtype_t dtype;  /* SUBQ_F64 or SUBQ_F32 */
  void *data;          /* nloc x d, row-major, owned */
} subq_dmat_t;

/* Balanced row block of rank `rank` out of `size` for n rows. */
void subq_dist_block(size_t n, int size, int rank, size_t *r0, size_t *nloc);

/* Collective: allocate an n x d matrix (zero-filled).  Errors: SUBQ_ERR_ARG (dtype),
 * SUBQ_ERR_MEM (on any rank: agreed). */
int subq_dmat_create(MPI_Comm comm, size_t n, size_t d, subq_dtype_t dtype, subq_dmat_t **A);
void subq_dmat_destroy(subq_dmat_t **A);

/* Collective: open the data spec on every rank, read only the local rows.  Errors of
 * any rank are agreed (subq_error_agree) and returned on every rank. */
int subq_dmat_load(MPI_Comm comm, const char *spec, subq_dtype_t dtype, subq_dmat_t **A);

/* Collective: Gram matrix G = A^T A (d x d, row-major, replicated on every rank):
 * local dsyrk then MPI_Allreduce.  Errors: SUBQ_ERR_MPI, SUBQ_ERR_MEM. */
int subq_dmat_gram(const subq_dmat_t *A, double *G);

/* Collective: R factor of A = QR by TSQR (Demmel et al. 2012, "Communication-optimal
 * parallel and sequential QR and LU factorizations"): local dgeqrf, then a binary
 * reduction tree of stacked R factors; R (d x d, upper triangular, row-major,
 * replicated) with non-negative diagonal.  n < d is allowed (R padded with zero rows). */
int subq_dmat_tsqr(const subq_dmat_t *A, double *R);

/* Collective (no communication): C = A B with B (d x k, row-major, replicated);
 * C is created with the same row distribution.  Uses dgemm. */
int subq_dmat_mul_small(const subq_dmat_t *A, const double *B, size_t k, subq_dmat_t **C);

/* Collective: gather A to `root` as n x d row-major float64 in `full` (only read on
 * root, may be NULL elsewhere). */
int subq_dmat_gather(const subq_dmat_t *A, int root, double *full);

#ifdef __cplusplus
}
#endif
#endif
