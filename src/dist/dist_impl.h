/* Internal helpers of src/dist (not installed). */
#ifndef SUBQ_DIST_IMPL_H
#define SUBQ_DIST_IMPL_H

#include <limits.h>
#include <stddef.h>

#include "subq/core.h"
#include "subq/dist.h"

/* Agree on the local outcome `e` of a phase over comm and propagate a failure with a
 * trace line.  Every rank returns the same code (subq_error_agree). */
#define SUBQ_AGREE(comm, e) SUBQ_CALL(subq_error_agree((comm), (e)))

/* Row-major block of A as double / float. */
static inline double *subq_dmat_f64_(const subq_dmat_t *A) { return (double *)A->data; }
static inline float *subq_dmat_f32_(const subq_dmat_t *A) { return (float *)A->data; }

/* Copy rows [i0, i0 + m) of A (any dtype) into out (m x d row-major float64). */
void subq_dmat_rows_f64_(const subq_dmat_t *A, size_t i0, size_t m, double *out);

/* Make the diagonal of an upper-triangular d x d row-major R non-negative by negating
 * rows with a negative diagonal entry. */
void subq_r_normalize_signs_(size_t d, double *R);

/* Upper-triangular R (d x d row-major) from a column-major m x d QR factor qr with
 * leading dimension ld: R[i][j] = qr[i + j ld] for i <= j, i < min(m, d); zero
 * elsewhere. */
void subq_r_from_qr_colmajor_(size_t m, size_t d, const double *qr, size_t ld, double *R);

/* Rows per BLAS call of products with row blocks of a d-column row-major matrix
 * (src/dist/gram.c): about 10^6 / d^2 for d <= 128 (240 at d = 64), so that each product
 * runs in OpenBLAS's small-matrix dgemm kernels with the block in cache; SIZE_MAX (no
 * blocking) for d > 128. */
size_t subq_gram_block_rows_(size_t d);

/* Rows per block when rows are cut into blocks of at most b rows, all of about the same size
 * (256 rows, b = 240: two blocks of 128, not 240 + 16): ceil(rows / ceil(rows / b)); b >= 1. */
size_t subq_block_rows_even_(size_t rows, size_t b);

/* Rows per row block of subq_gram_update_: 1024 for d <= 64, 976 for d <= 128 (each w x w
 * block's product stays in the small-matrix kernels, the block in L2); SIZE_MAX above. */
size_t subq_gram_update_rows_(size_t d);

/* G += X^T X for rows x d row-major X, into the row-major upper triangle of the d x d G
 * (= the col-major lower triangle LAPACK's 'L' routines read): for d <= 128 one dgemm per
 * 16 x 16 (d <= 64) or 32 x 32 block of the upper block triangle and row block of at most
 * subq_gram_update_rows_(d) rows (even split), the diagonal blocks written whole (their
 * lower half too); one dsyrk for d > 128.  Not collective; no errors (int-sized arguments
 * trusted). */
void subq_gram_update_(size_t d, double *G, size_t rows, const double *X);

#endif
