/* Queries at the data points, weighted sampling by inverse CDF, vertex sampling
 * proportional to degree (BIKSZ, weighted vertex sampling). */
#include <math.h>
#include <string.h>

#include "kde/kde_impl.h"

#define CHUNK 2048 /* data points per collective query */

int subq_kde_query_points(subq_kde_t *k, double self_weight, double *out, uint64_t *evals) {
  SUBQ_CHECK(k != NULL && out != NULL, SUBQ_ERR_ARG, "oracle or output is NULL");
  SUBQ_CHECK(k->ready, SUBQ_ERR_ARG, "KDE oracle is not set up (call subq_kde_setup)");
  const size_t d = k->d, n = k->n;
  double *buf = NULL;
  int e = subq_malloc(CHUNK, d * sizeof(double), &buf);
  SUBQ_CALL(subq_error_agree(k->comm, e));
  uint64_t total = 0;
  const int fresh = k->fresh_samples;
  k->fresh_samples = 1; /* queries at the data points: independent samples (kde_sampling.c) */
  for (size_t a = 0; !e && a < n; a += CHUNK) {
    size_t b = a + CHUNK < n ? a + CHUNK : n;
    memset(buf, 0, (b - a) * d * sizeof *buf);
    /* global index g0 + i, local rows [lo, lo + nloc) */
    for (size_t i = a; i < b; i++) {
      size_t g = k->g0 + i;
      if (g >= k->lo && g < k->lo + k->nloc)
        memcpy(buf + (i - a) * d, k->X + (g - k->lo) * d, d * sizeof *buf);
    }
    if (MPI_Allreduce(MPI_IN_PLACE, buf, (int)((b - a) * d), MPI_DOUBLE, MPI_SUM, k->comm) !=
        MPI_SUCCESS)
      e = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce of query rows failed");
    uint64_t ev = 0;
    if (!e) e = subq_kde_query(k, buf, b - a, out + a, &ev);
    total += ev;
  }
  k->fresh_samples = fresh;
  subq_free(&buf);
  if (e) return subq_error_trace(e, __FILE__, __LINE__, __func__);
  for (size_t i = 0; i < n; i++) out[i] = fmax(0.0, out[i] - self_weight);
  if (evals) *evals = total;
  return SUBQ_OK;
}

int subq_sample_weighted(const double *w, size_t n, size_t s, uint64_t seed, uint64_t stream,
                         size_t *idx) {
  SUBQ_CHECK(n > 0, SUBQ_ERR_ARG, "cannot sample from an empty set (n = 0)");
  SUBQ_CHECK(w != NULL && (s == 0 || idx != NULL), SUBQ_ERR_ARG, "weights or output is NULL");
  double *cdf = NULL;
  SUBQ_CALL(SUBQ_ALLOC(cdf, n));
  double tot = 0;
  for (size_t i = 0; i < n; i++) {
    if (!(w[i] >= 0) || !isfinite(w[i])) {
      subq_free(&cdf);
      return SUBQ_FAIL(SUBQ_ERR_ARG, "sampling weight %zu is %g (must be finite and >= 0)", i,
                       w[i]);
    }
    tot += w[i];
    cdf[i] = tot;
  }
  if (!(tot > 0)) {
    subq_free(&cdf);
    return SUBQ_FAIL(SUBQ_ERR_ARG,
                     "all %zu sampling weights are 0 (e.g. a kernel graph without edges)", n);
  }
  for (size_t t = 0; t < s; t++) {
    double u = subq_rng_uniform(seed, stream, t) * tot;
    size_t lo = 0, hi = n - 1; /* first i with cdf[i] > u */
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (cdf[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    while (lo > 0 && w[lo] == 0) lo--; /* u rounded onto a flat step: stay on weight */
    idx[t] = lo;
  }
  subq_free(&cdf);
  return SUBQ_OK;
}

int subq_kde_sample_vertices(subq_kde_t *k, size_t s, uint64_t seed, size_t *idx, double *deg,
                             uint64_t *evals) {
  SUBQ_CHECK(k != NULL, SUBQ_ERR_ARG, "oracle is NULL");
  SUBQ_CHECK(k->ready, SUBQ_ERR_ARG, "KDE oracle is not set up (call subq_kde_setup)");
  double *dg = deg;
  int e = 0;
  if (!deg) e = SUBQ_ALLOC(dg, k->n);
  SUBQ_CALL(subq_error_agree(k->comm, e));
  e = subq_kde_query_points(k, 1.0, dg, evals);
  if (!e) e = subq_sample_weighted(dg, k->n, s, seed, SUBQ_KDE_STREAM_VERTEX, idx);
  if (!deg) subq_free(&dg);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : SUBQ_OK;
}
