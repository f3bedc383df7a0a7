/* Helpers shared by tests of several modules (header-only; tests have tests/ on their
 * include path): the committed KV dump's directory, leverage scores by a thin SVD. */
#ifndef SUBQ_TEST_COMMON_UTIL_H
#define SUBQ_TEST_COMMON_UTIL_H
#include <float.h>
#include <lapacke.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The committed SmolLM2-135M KV dump: $SUBQ_SOURCE_DIR/data/kv/smollm2-135m-gpl3 (ctest
 * sets SUBQ_SOURCE_DIR), or relative to `fallback` when it is unset.  Returns buf. */
static inline const char *subq_test_kv_dump_dir(char *buf, size_t cap, const char *fallback) {
  const char *src = getenv("SUBQ_SOURCE_DIR");
  snprintf(buf, cap, "%s/data/kv/smollm2-135m-gpl3", src ? src : fallback);
  return buf;
}

/* Leverage scores tau_i = ||U_{i,1:r}||^2 (n) from the thin SVD of A (n x d row-major,
 * LAPACK dgesvd), with the numerical rank r = #{sigma > sigma_1 max(n, d) eps} (the cut of
 * lev.h).  Returns r.  An algorithm independent of the library's QR / Gram / Cholesky. */
static inline size_t subq_test_svd_leverage(const double *A, size_t n, size_t d, double *tau) {
  size_t k = n < d ? n : d;
  double *a = malloc(n * d * sizeof *a), *s = malloc(k * sizeof *s), *u = malloc(n * k * sizeof *u),
         *sup = malloc(k * sizeof *sup);
  memcpy(a, A, n * d * sizeof *a);
  LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'S', 'N', (lapack_int)n, (lapack_int)d, a, (lapack_int)d, s, u,
                 (lapack_int)k, NULL, 1, sup);
  double cut = s[0] * (double)(n > d ? n : d) * DBL_EPSILON;
  size_t r = 0;
  while (r < k && s[r] > cut) r++;
  for (size_t i = 0; i < n; i++) {
    double t = 0;
    for (size_t c = 0; c < r; c++) t += u[i * k + c] * u[i * k + c];
    tau[i] = t;
  }
  free(a), free(s), free(u), free(sup);
  return r;
}

#endif
