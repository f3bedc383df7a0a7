/* Shared by the quantizer tests: Gaussian rows from the counter RNG. */
#ifndef SUBQ_TEST_QUANT_UTIL_H
#define SUBQ_TEST_QUANT_UTIL_H
#include <math.h>
#include <stdlib.h>

#include "subq.h"

/* n x d row-major float rows of N(0,1) draws keyed by (seed, stream, i*d + c), each
 * normalised to unit length when unit != 0.  Caller frees. */
static inline float *gauss_rows_stream_(size_t n, int d, uint64_t seed, uint64_t stream,
                                        int unit) {
  float *X = malloc(n * (size_t)d * sizeof(float));
  for (size_t i = 0; i < n; i++) {
    double s = 0;
    for (int c = 0; c < d; c++) {
      X[i * d + c] = subq_rng_gaussf(seed, stream, i * (size_t)d + (size_t)c);
      s += (double)X[i * d + c] * X[i * d + c];
    }
    if (unit)
      for (int c = 0; c < d; c++) X[i * d + c] = (float)(X[i * d + c] / sqrt(s));
  }
  return X;
}
#endif
