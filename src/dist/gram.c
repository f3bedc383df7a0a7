/* subq dist: Gram matrix A^T A of a row-distributed matrix (local blocked dgemm or syrk +
 * Allreduce), and the blocked Gram kernel shared with src/lev. */
#include <cblas.h>
#include <string.h>

#include "dist_impl.h"
#include "subq/dist.h"

/* A product of m x n x k <= 10^6 multiply-adds runs in OpenBLAS's unpacked small-matrix
 * dgemm kernels (SkylakeX, OpenBLAS >= 0.3.16: dgemm_small_kernel_permit), which skip the
 * panel copies that dominate at 64 columns; blocks of b rows also keep the b x D features
 * (120 KiB at D = 64) in L2 between the Gram blocks and the score product. */
enum { SMALL_MNK = 1000000, BLOCKED_MAX_D = 128, BLOCK_MAX_ROWS = 1024 };

size_t subq_gram_block_rows_(size_t D) {
  if (D > BLOCKED_MAX_D) return SIZE_MAX;
  size_t b = SMALL_MNK / (D * D) / 8 * 8; /* D = 64: 240 rows; D = 128: 56 */
  return b > BLOCK_MAX_ROWS ? BLOCK_MAX_ROWS : b;
}

size_t subq_block_rows_even_(size_t rows, size_t b) {
  if (rows <= b) return rows;
  const size_t nblk = (rows + b - 1) / b;
  return (rows + nblk - 1) / nblk;
}

static size_t gram_width_(size_t D) { return D <= 64 ? 16 : 32; }

/* The Gram's w x w products allow longer row blocks than the D-wide products: measured at
 * D = 64 (results/levattention/blas_shapes.txt), 1024-row blocks 1-7% faster than 240. */
size_t subq_gram_update_rows_(size_t D) {
  if (D > BLOCKED_MAX_D) return SIZE_MAX;
  const size_t w = gram_width_(D), b = SMALL_MNK / (w * w) / 8 * 8; /* 3904 at w = 16 */
  return b > BLOCK_MAX_ROWS ? BLOCK_MAX_ROWS : b;
}

void subq_gram_update_(size_t D, double *G, size_t rows, const double *phi) {
  const int ld = (int)D;
  if (D > BLOCKED_MAX_D) { /* large D: dsyrk is efficient; row-major upper = col-major lower */
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, ld, (int)rows, 1.0, phi, ld, 1.0, G, ld);
    return;
  }
  /* Upper block triangle of G in w x w blocks, one dgemm per block and row block:
   * row-major G[a.., c..] (c >= a) is the col-major block at rows c.., columns a.., and the
   * row-major rows x D features are the col-major D x rows matrix Phi^T, so the block is
   * Phi^T[c..] Phi^T[a..]^T (dgemm NoTrans, Trans).  The diagonal blocks are computed whole
   * (their lower half is written too and never read).  w = 16 for D <= 64 (10 calls at
   * D = 64, executing 1.23x the D (D + 1) flops per row of the triangle), 32 above (at most
   * 10 calls; not measured).  Measured at D = 64, 1 thread, CPU time, best of 5-7 (results/levattention/blas_shapes.txt):
   * useful Gram rate 64-75% of dgemm with w = 16, 58-65% with w = 32, 43-47% with w = 64,
   * 40-46% for one dsyrk per 1024-4096-row chunk. */
  const size_t w = gram_width_(D), b = subq_block_rows_even_(rows, subq_gram_update_rows_(D));
  for (size_t i = 0; i < rows; i += b) {
    const int nb = (int)(rows - i < b ? rows - i : b);
    const double *P = phi + i * D;
    for (size_t a = 0; a < D; a += w)
      for (size_t c = a; c < D; c += w) {
        const int wa = (int)(D - a < w ? D - a : w), wc = (int)(D - c < w ? D - c : w);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, wc, wa, nb, 1.0, P + c, ld, P + a, ld,
                    1.0, G + a * D + c, ld);
      }
  }
}

/* Local G = A_loc^T A_loc (full symmetric, float64). */
static int gram_local(const subq_dmat_t *A, double *G) {
  size_t d = A->d;
  size_t m = A->nloc;
  memset(G, 0, d * d * sizeof(double));
  if (m == 0 || d == 0) return 0;
  if (A->dtype == SUBQ_F64) {
    subq_gram_update_(d, G, A->nloc, subq_dmat_f64_(A));
  } else {
    /* float32 storage: convert row chunks to float64 and accumulate in float64. */
    const size_t chunk = 1024;
    double *X = NULL;
    SUBQ_CALL(SUBQ_ALLOC(X, (A->nloc < chunk ? A->nloc : chunk) * d));
    for (size_t i0 = 0; i0 < A->nloc; i0 += chunk) {
      size_t mc = A->nloc - i0 < chunk ? A->nloc - i0 : chunk;
      subq_dmat_rows_f64_(A, i0, mc, X);
      subq_gram_update_(d, G, mc, X);
    }
    subq_free(&X);
  }
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j < i; j++) G[i * d + j] = G[j * d + i];
  return 0;
}

int subq_dmat_gram(const subq_dmat_t *A, double *G) {
  SUBQ_CHECK(A != NULL && G != NULL, SUBQ_ERR_ARG, "NULL argument (A %p, G %p)",
             (const void *)A, (void *)G);
  SUBQ_CHECK(A->d <= 46340 && A->nloc <= INT_MAX, SUBQ_ERR_ARG,
             "Gram matrix: d = %zu (max 46340) or local rows %zu exceed int", A->d, A->nloc);
  SUBQ_AGREE(A->comm, gram_local(A, G));
  if (A->d > 0)
    SUBQ_MPI(MPI_Allreduce(MPI_IN_PLACE, G, (int)(A->d * A->d), MPI_DOUBLE, MPI_SUM, A->comm));
  return 0;
}
