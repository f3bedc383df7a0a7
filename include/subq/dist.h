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

/* Balanced row block of rank `rank` out of `size` for n rows: rank r owns rows
 * [*r0, *r0 + *nloc), nloc = n/size or n/size + 1 (the first n mod size ranks get one
 * more).  Pure (not collective). */
void subq_dist_block(size_t n, int size, int rank, size_t *r0, size_t *nloc);

/* Collective over comm: allocate an n x d matrix (zero-filled), rows distributed by
 * subq_dist_block.  dtype is SUBQ_F64 or SUBQ_F32.  n == 0 or d == 0 are allowed.
 * Errors: SUBQ_ERR_ARG (dtype, comm == MPI_COMM_NULL, A == NULL), SUBQ_ERR_MEM (on any
 * rank: agreed, every rank returns it and *A is NULL). */
int subq_dmat_create(MPI_Comm comm, size_t n, size_t d, subq_dtype_t dtype, subq_dmat_t **A);
/* Free the matrix and set *A = NULL.  Accepts NULL and *A == NULL.  Not collective. */
void subq_dmat_destroy(subq_dmat_t **A);

/* Collective over comm: open the data spec (see io.h, subq_source_open) on every rank and
 * read only the local rows [r0, r0 + nloc) as float64, converted to dtype.  Errors of any
 * rank (bad spec, missing file, malformed file, NaN/Inf, allocation) are agreed with
 * subq_error_agree and returned on every rank; *A is NULL on error. */
int subq_dmat_load(MPI_Comm comm, const char *spec, subq_dtype_t dtype, subq_dmat_t **A);

/* Collective over A->comm: Gram matrix G = A^T A (d x d, row-major, full symmetric,
 * replicated on every rank): local dsyrk, or for d <= 128 dgemm on 16- or 32-wide blocks of
 * the upper triangle in row blocks of about 10^6 / d^2 rows (float32 rows are converted to
 * float64 in chunks of 1024 rows and accumulated in float64) then MPI_Allreduce(SUM) in float64.  Flops: n d (d + 1).
 * Errors: SUBQ_ERR_ARG (NULL), SUBQ_ERR_MPI, SUBQ_ERR_MEM (agreed). */
int subq_dmat_gram(const subq_dmat_t *A, double *G);

/* Collective over A->comm: R factor of A = QR by TSQR (Demmel, Grigori, Hoemmen,
 * Langou 2012, "Communication-optimal parallel and sequential QR and LU factorizations",
 * SIAM J. Sci. Comput. 34(1), Sec. 3-4): local Householder QR (dgeqrf, applied to
 * row chunks as a sequential flat tree, Sec. 4), then a binary reduction tree over
 * ranks of stacked 2d x d R factors, and a broadcast from rank 0.
 * R: d x d, upper triangular, row-major, replicated (bitwise identical on all ranks),
 * with non-negative diagonal (rows with a negative diagonal are negated), so R^T R =
 * A^T A.  Ranks with zero rows and n < d are allowed (rows of R beyond the rank are ~0).
 * float32 input is factored in float64 (converted chunk by chunk).
 * Flops: about 2 n d^2 (local) + (4/3) d^3 log2(p) (tree).
 * Errors: SUBQ_ERR_ARG, SUBQ_ERR_MEM, SUBQ_ERR_LAPACK (dgeqrf info), SUBQ_ERR_MPI;
 * every error is agreed over the communicator. */
int subq_dmat_tsqr(const subq_dmat_t *A, double *R);

/* Collective over A->comm (one error agreement, no data exchange): C = A B with B
 * (d x k, row-major float64, replicated); *C is created with the same row distribution
 * and dtype as A (dgemm, or sgemm with B rounded to float for float32).
 * Errors: SUBQ_ERR_ARG, SUBQ_ERR_MEM (agreed). */
int subq_dmat_mul_small(const subq_dmat_t *A, const double *B, size_t k, subq_dmat_t **C);

/* Collective over A->comm: gather A to `root` as n x d row-major float64 in `full`
 * (only used on root, may be NULL elsewhere) with MPI_Gatherv.  MPI counts are int:
 * a local block or displacement of more than INT_MAX elements gives SUBQ_ERR_ARG
 * ("too large to gather") on every rank.  Errors: SUBQ_ERR_ARG, SUBQ_ERR_MEM,
 * SUBQ_ERR_MPI (agreed). */
int subq_dmat_gather(const subq_dmat_t *A, int root, double *full);

/* Collective over comm: gather a row-distributed vector (rank r holds nloc values
 * for rows [r0, r0 + nloc) of subq_dist_block(n, size, r)) to `root` as n float64 in
 * global row order.  full is only used on root.  Errors as subq_dmat_gather. */
int subq_dist_gather_vec(MPI_Comm comm, size_t n, const double *local, int root,
                         double *full);

/* ---- ScaLAPACK bridge ------------------------------------------------------------- */

/* A BLACS process grid over all ranks of comm (nprow x npcol == size of comm),
 * row-major process numbering ("Row"). */
typedef struct {
  MPI_Comm comm;       /* not owned */
  int ctxt;            /* BLACS context */
  int sys_handle;      /* BLACS system handle of comm */
  int nprow, npcol, myrow, mycol;
} subq_blacs_grid_t;

/* Collective over comm: create a BLACS grid nprow x npcol with nprow * npcol equal to the
 * size of comm; nprow = npcol = 0 picks the most square factorization (nprow >= npcol).
 * Uses Csys2blacs_handle + Cblacs_gridinit.  Errors: SUBQ_ERR_ARG (shape does not match
 * the communicator), SUBQ_ERR_MEM (agreed). */
int subq_blacs_grid_create(MPI_Comm comm, int nprow, int npcol, subq_blacs_grid_t **g);
/* Collective over g->comm: Cblacs_gridexit and free; accepts NULL and *g == NULL. */
void subq_blacs_grid_destroy(subq_blacs_grid_t **g);

/* A float64 matrix in ScaLAPACK's 2D block-cyclic layout on a BLACS grid. */
typedef struct {
  const subq_blacs_grid_t *grid; /* not owned */
  size_t m, n;                   /* global shape */
  int mb, nb;                    /* block sizes */
  int desc[9];                   /* ScaLAPACK array descriptor (descinit_) */
  int mloc, nloc;                /* local rows, columns (numroc_) */
  double *data;                  /* local part, column-major, leading dim desc[8] */
} subq_bcmat_t;

/* Collective over A->comm: redistribute a row-block float64/float32 matrix to a new
 * 2D block-cyclic float64 matrix with mb x nb blocks on grid g (g->comm must be A->comm)
 * using one MPI_Alltoallv.  Global m, n must fit in int.  Errors: SUBQ_ERR_ARG (sizes,
 * int overflow of counts), SUBQ_ERR_MEM, SUBQ_ERR_MPI (agreed). */
int subq_dmat_to_block_cyclic(const subq_dmat_t *A, const subq_blacs_grid_t *g, int mb,
                              int nb, subq_bcmat_t **B);
/* Collective over B->grid->comm: copy B back into the existing row-block matrix A
 * (same global shape; A float64 or float32).  Errors as above. */
int subq_dmat_from_block_cyclic(const subq_bcmat_t *B, subq_dmat_t *A);
/* Free (not collective); accepts NULL and *B == NULL. */
void subq_bcmat_destroy(subq_bcmat_t **B);

/* Collective over A->comm: R factor of A by ScaLAPACK pdgeqrf on a BLACS grid
 * (nprow x npcol, 0 x 0 = most square) with mb x mb blocks (mb <= 0: 64).  Same output
 * convention as subq_dmat_tsqr (d x d, row-major, replicated, non-negative diagonal,
 * zero rows below min(n, d)); a reference path for TSQR and a peer in benchmarks.
 * Errors: SUBQ_ERR_ARG, SUBQ_ERR_MEM, SUBQ_ERR_LAPACK (pdgeqrf info), SUBQ_ERR_MPI
 * (agreed). */
int subq_dmat_qr_scalapack(const subq_dmat_t *A, int nprow, int npcol, int mb, double *R);

#ifdef __cplusplus
}
#endif
#endif
