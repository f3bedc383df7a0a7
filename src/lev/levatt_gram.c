/* The Gram pass of the LevAttention selection (two-pass gram_add and the one-pass prefix
 * update), blocked so that OpenBLAS runs it near its dgemm rate when the feature count D
 * is small (p = 2, d = 64: D = 64).  Row-major G, upper triangle; see levatt_impl.h. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "lev/levatt_impl.h"
#include "subq/core.h"

/* A product of m x n x k <= 10^6 multiply-adds runs in OpenBLAS's unpacked small-matrix
 * dgemm kernels (SkylakeX, OpenBLAS >= 0.3.16: dgemm_small_kernel_permit), which skip the
 * panel copies that dominate at 64 columns; blocks of b rows also keep the b x D features
 * (120 KiB at D = 64) in L2 between the Gram blocks and the score product. */
enum { SMALL_MNK = 1000000, BLOCKED_MAX_D = 128, BLOCK_MAX_ROWS = 1024 };

size_t subq_levatt_block_rows_(size_t D) {
  if (D > BLOCKED_MAX_D) return SIZE_MAX;
  size_t b = SMALL_MNK / (D * D) / 8 * 8; /* D = 64: 240 rows; D = 128: 56 */
  return b > BLOCK_MAX_ROWS ? BLOCK_MAX_ROWS : b;
}

int subq_levatt_check_finite_(const subq_levatt_t *L, size_t rows, const double *K, size_t base,
                              const char *what) {
  /* x * 0 is NaN exactly for NaN/Inf x: one vectorised pass, the row only on failure */
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (size_t i = 0; i < rows * L->d; i++) s += K[i] * 0.0;
  if (isfinite(s)) return SUBQ_OK;
  for (size_t i = 0; i < rows * L->d; i++)
    SUBQ_CHECK(isfinite(K[i]), SUBQ_ERR_NUMERIC, "key %zu (local, %s) has a non-finite entry",
               base + i / L->d, what);
  return SUBQ_OK;
}

void subq_levatt_gram_update_(subq_levatt_t *L, double *G, size_t rows, const double *phi) {
  const size_t D = L->D;
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
   * 10 calls; not measured).  Measured at D = 64, 1 thread, CPU time, best of 5-7 (results/levattention):
   * useful Gram rate 64-75% of dgemm with w = 16, 58-65% with w = 32, 43-47% with w = 64,
   * 40-46% for one dsyrk per 1024-4096-row chunk. */
  const size_t b = subq_levatt_block_rows_(D), w = D <= 64 ? 16 : 32;
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

int subq_levatt_gram_add_keys_(subq_levatt_t *L, size_t rows, const double *K) {
  const size_t D = L->D, b = subq_levatt_block_rows_(D);
  if (!L->Gc) {
    SUBQ_CALL(SUBQ_ALLOC(L->Gc, D * D));
    subq_levatt_account_(L, (long long)(D * D * sizeof(double)));
  }
  memset(L->Gc, 0, D * D * sizeof *L->Gc);
  /* The check reads each block sequentially right before the block's strided Gram products,
   * so they find it in cache (measured: Gram pass 15-20% faster than one check of the
   * whole chunk first when the chunk is not in cache). */
  for (size_t i = 0; i < rows; i += b) {
    const size_t nb = rows - i < b ? rows - i : b;
    SUBQ_CALL(subq_levatt_check_finite_(L, nb, K + i * D, L->n_gram + i, "pass 1"));
    subq_levatt_gram_update_(L, L->Gc, nb, K + i * D);
  }
  double *restrict G = L->G;
  const double *restrict Gc = L->Gc;
#pragma omp simd
  for (size_t a = 0; a < D * D; a++) G[a] += Gc[a];
  return SUBQ_OK;
}
