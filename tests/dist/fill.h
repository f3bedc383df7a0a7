/* Test helpers: fill a row-distributed matrix from the counter-based RNG keyed by the
 * global element index, so the matrix is the same for any number of ranks. */
#ifndef SUBQ_TEST_FILL_H
#define SUBQ_TEST_FILL_H
#include <math.h>
#include <stdint.h>
#include "subq.h"

/* A[i][j] = gauss(seed, 7, i d + j) * colscale[j] (colscale may be NULL = 1). */
static inline void fill_gauss(subq_dmat_t *A, uint64_t seed, const double *colscale) {
  for (size_t i = 0; i < A->nloc; i++)
    for (size_t j = 0; j < A->d; j++) {
      double v = subq_rng_gauss(seed, 7, (A->r0 + i) * A->d + j);
      if (colscale) v *= colscale[j];
      if (A->dtype == SUBQ_F64)
        ((double *)A->data)[i * A->d + j] = v;
      else
        ((float *)A->data)[i * A->d + j] = (float)v;
    }
}

/* max_ij |X - Y| / max_ij |Y| over m x k. */
static inline double rel_maxdiff(const double *X, const double *Y, size_t cnt) {
  double num = 0, den = 0;
  for (size_t t = 0; t < cnt; t++) {
    num = fmax(num, fabs(X[t] - Y[t]));
    den = fmax(den, fabs(Y[t]));
  }
  return den > 0 ? num / den : num;
}
#endif
