/* Error of a kernel low-rank approximation K V V^T estimated on uniformly sampled rows,
 * for n where the exact blocked error (n^2 kernel evaluations) is too expensive. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "kde/kde_impl.h"

#define RCHUNK 128

int subq_kernel_lra_error_sampled(const subq_dmat_t *X, const subq_kernel_t *kernel,
                                  const double *V, size_t k, size_t r, uint64_t seed,
                                  double *err_fro, double *norm_fro, double *err_se,
                                  uint64_t *evals) {
  int e = 0;
  if (!X || !kernel || !err_fro || (!V && X->nloc)) e = SUBQ_FAIL(SUBQ_ERR_ARG, "X, kernel, V or err_fro is NULL");
  else if (X->dtype != SUBQ_F64) e = SUBQ_FAIL(SUBQ_ERR_ARG, "points must be float64");
  else if (subq_kernel_check(kernel)) e = SUBQ_ERR_ARG;
  else if (k == 0) e = SUBQ_FAIL(SUBQ_ERR_ARG, "rank k must be >= 1, got 0");
  else if (r < 2) e = SUBQ_FAIL(SUBQ_ERR_ARG, "sampled rows must be >= 2, got %zu", r);
  SUBQ_CALL(subq_error_agree(X ? X->comm : MPI_COMM_WORLD, e));
  const size_t n = X->n, d = X->d, nl = X->nloc;
  const double *Xl = (const double *)X->data;
  size_t *idx = NULL;
  double *Y = NULL, *Kb = NULL, *red = NULL;
  /* red: [ K_S V (r x k) | ||K_i||^2 (r) | V^T V (k x k) ] summed over ranks */
  const size_t nred = r * k + r + k * k;
  e = SUBQ_ALLOC(idx, r);
  if (!e) e = subq_malloc(r, d * sizeof(double), &Y);
  if (!e) e = subq_malloc(r < RCHUNK ? r : RCHUNK, (nl ? nl : 1) * sizeof(double), &Kb);
  if (!e) e = SUBQ_ZALLOC(red, nred);
  e = subq_error_agree(X->comm, e);
  if (!e) {
    for (size_t t = 0; t < r; t++) idx[t] = subq_rng_below(seed, SUBQ_KDE_STREAM_LRAERR, t, n);
    e = subq_kde_gather_rows(X, r, idx, Y);
  }
  /* sampled rows against the local columns, RCHUNK rows at a time */
  for (size_t t0 = 0; !e && nl && t0 < r; t0 += RCHUNK) {
    size_t tb = t0 + RCHUNK < r ? RCHUNK : r - t0;
    e = subq_kernel_block(kernel, tb, nl, d, Y + t0 * d, NULL, Xl, NULL, Kb);
    if (e) break;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)tb, (int)k, (int)nl, 1.0, Kb,
                (int)nl, V, (int)k, 0.0, red + t0 * k, (int)k);
    for (size_t t = 0; t < tb; t++) {
      double s = 0;
      for (size_t j = 0; j < nl; j++) s += Kb[t * nl + j] * Kb[t * nl + j];
      red[r * k + t0 + t] = s;
    }
  }
  e = subq_error_agree(X->comm, e);
  if (!e && nl) {
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)k, (int)nl, 1.0, V,
                (int)k, V, (int)k, 0.0, red + r * k + r, (int)k);
  }
  if (!e && MPI_Allreduce(MPI_IN_PLACE, red, (int)nred, MPI_DOUBLE, MPI_SUM, X->comm) != MPI_SUCCESS)
    e = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce of the sampled error terms failed");
  if (!e) {
    /* row residual ||K_i - K_i V V^T||^2 = ||K_i||^2 - 2 a a^T + a G a^T, a = K_i V */
    const double *G = red + r * k + r;
    double s1 = 0, s2 = 0, sn = 0;
    for (size_t t = 0; t < r; t++) {
      const double *a = red + t * k;
      double aa = 0, aga = 0;
      for (size_t i = 0; i < k; i++) {
        aa += a[i] * a[i];
        double ga = 0;
        for (size_t j = 0; j < k; j++) ga += G[i * k + j] * a[j];
        aga += a[i] * ga;
      }
      double res = fmax(0.0, red[r * k + t] - 2 * aa + aga);
      s1 += res;
      s2 += res * res;
      sn += red[r * k + t];
    }
    double mean = s1 / (double)r, var = fmax(0.0, (s2 - s1 * mean) / (double)(r - 1));
    double e2 = (double)n * mean, se2 = (double)n * sqrt(var / (double)r);
    *err_fro = sqrt(e2);
    if (norm_fro) *norm_fro = sqrt((double)n * sn / (double)r);
    if (err_se) *err_se = e2 > 0 ? se2 / (2 * sqrt(e2)) : 0;
    if (evals) *evals = (uint64_t)r * n;
  }
  subq_free(&idx);
  subq_free(&Y);
  subq_free(&Kb);
  subq_free(&red);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : SUBQ_OK;
}
