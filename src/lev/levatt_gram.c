/* Pass 1 of the LevAttention selection for keys as features (p = 2), in the row blocks of
 * the blocked Gram kernel (src/dist/gram.c subq_gram_update_), with the NaN/Inf check. */
#include <math.h>
#include <string.h>

#include "core/simd.h"
#include "dist/dist_impl.h"
#include "lev/levatt_impl.h"
#include "subq/core.h"

/* 0 when all rows x d values are finite: x * 0 is NaN exactly for NaN/Inf x, summed per row
 * (the rows' sums are independent, where one running sum over the chunk would be a chain of
 * rows d / vector-width dependent additions: 15-25% of the Gram pass at d = 64 with SSE2). */
SUBQ_SIMD_CLONES static int any_nonfinite_(size_t rows, size_t d, const double *restrict x) {
  int bad = 0;
  for (size_t i = 0; i < rows; i++) {
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (size_t a = 0; a < d; a++) s += x[i * d + a] * 0.0;
    bad |= !isfinite(s);
  }
  return bad;
}

int subq_levatt_check_finite_(const subq_levatt_t *L, size_t rows, const double *K, size_t base,
                              const char *what) {
  if (!any_nonfinite_(rows, L->d, K)) return SUBQ_OK;
  for (size_t i = 0; i < rows * L->d; i++)
    SUBQ_CHECK(isfinite(K[i]), SUBQ_ERR_NUMERIC, "key %zu (local, %s) has a non-finite entry",
               base + i / L->d, what);
  return SUBQ_OK;
}

int subq_levatt_gram_add_keys_(subq_levatt_t *L, size_t rows, const double *K) {
  const size_t D = L->D;
  /* A chunk in cache (levatt_impl.h) is checked whole and added to G directly: the
   * per-chunk clear and add of the D x D buffer Gc would cost 5-8% of the pass at 256 rows. */
  if (rows * D * sizeof(double) <= SUBQ_LEVATT_CACHED_CHUNK_BYTES) {
    SUBQ_CALL(subq_levatt_check_finite_(L, rows, K, L->n_gram, "pass 1"));
    subq_gram_update_(D, L->G, rows, K);
    return SUBQ_OK;
  }
  if (!L->Gc) {
    SUBQ_CALL(SUBQ_ALLOC(L->Gc, D * D));
    subq_levatt_account_(L, (long long)(D * D * sizeof(double)));
  }
  memset(L->Gc, 0, D * D * sizeof *L->Gc);
  /* Larger chunks: the check reads each block sequentially right before the block's strided
   * Gram products, so they find it in cache (measured: Gram pass 15-20% faster than one
   * check of the whole chunk first when the chunk is not in cache). */
  const size_t b = subq_block_rows_even_(rows, subq_gram_update_rows_(D));
  for (size_t i = 0; i < rows; i += b) {
    const size_t nb = rows - i < b ? rows - i : b;
    SUBQ_CALL(subq_levatt_check_finite_(L, nb, K + i * D, L->n_gram + i, "pass 1"));
    subq_gram_update_(D, L->Gc, nb, K + i * D);
  }
  double *restrict G = L->G;
  const double *restrict Gc = L->Gc;
#pragma omp simd
  for (size_t a = 0; a < D * D; a++) G[a] += Gc[a];
  return SUBQ_OK;
}
