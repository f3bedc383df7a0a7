/* Scalar codebooks: the analytic angle densities of PolarQuant (arXiv 2502.02617, Lemma 2),
 * Lloyd-Max quantizers of a density by numerical integration ("offline" codebooks), and
 * 1-D k-means++ on data ("online" codebooks, paper Sec. 4.1). */
#include <stdlib.h>

#include "quant/quant_impl.h"

/* 8-point Gauss-Legendre rule on [-1, 1] (Abramowitz & Stegun, Table 25.4). */
static const double gl_x_[4] = {0.1834346424956498049, 0.5255324099163289858,
                                0.7966664774136267396, 0.9602898564975362317};
static const double gl_w_[4] = {0.3626837833783619830, 0.3137066458778872873,
                                0.2223810344533744706, 0.1012285362903762592};

/* Mass and first and second moments about c of f on [a, b]: composite 8-point
 * Gauss-Legendre on `panels` equal panels. */
static void moments_(double (*f)(double, void *), void *ctx, double a, double b, int panels,
                     double c, double *m0, double *m1, double *m2) {
  double s0 = 0, s1 = 0, s2 = 0, h = (b - a) / panels;
  for (int p = 0; p < panels; p++) {
    double mid = a + (p + 0.5) * h, half = 0.5 * h;
    for (int i = 0; i < 8; i++) {
      double x = mid + (i < 4 ? -1 : 1) * gl_x_[i & 3] * half, w = gl_w_[i & 3] * half;
      double fx = f(x, ctx) * w;
      s0 += fx;
      s1 += fx * x;
      s2 += fx * (x - c) * (x - c);
    }
  }
  *m0 = s0;
  *m1 = s1;
  if (m2) *m2 = s2;
}

double subq_polar_density(int level, double psi) {
  if (level <= 1) return psi >= 0 && psi < 2 * M_PI ? 1.0 / (2 * M_PI) : 0.0;
  if (psi < 0 || psi > M_PI / 2) return 0.0;
  /* f = C sin^p(2 psi), p = 2^(l-1) - 1, and int_0^{pi/2} sin^p(2psi) dpsi =
   * (1/2) int_0^pi sin^p u du = sqrt(pi) Gamma((p+1)/2) / (2 Gamma(p/2 + 1)). */
  double p = ldexp(1.0, level - 1) - 1.0;
  double logc = log(2.0) + lgamma(p / 2 + 1) - 0.5 * log(M_PI) - lgamma((p + 1) / 2);
  double s = sin(2 * psi);
  return s <= 0 ? 0.0 : exp(logc + p * log(s));
}

int subq_lloyd_max(double (*f)(double, void *), void *ctx, double a, double b, int k,
                   double *c, double *mse) {
  SUBQ_CHECK(f && c, SUBQ_ERR_ARG, "NULL density or centroids");
  SUBQ_CHECK(k >= 1 && k <= 65536, SUBQ_ERR_ARG, "cells must be 1..65536, got %d", k);
  SUBQ_CHECK(a < b, SUBQ_ERR_ARG, "interval [%g, %g] is empty", a, b);
  enum { PANELS = 16, GRID = 4096 };
  /* Initial centroids: quantiles (j + 1/2)/k of f, from its CDF tabulated on GRID panels. */
  double *cdf = NULL, *e = NULL;
  SUBQ_CALL(SUBQ_ALLOC(cdf, GRID + 1));
  int err = SUBQ_ALLOC(e, k + 1);
  if (err) {
    subq_free(&cdf);
    return subq_error_trace(err, __FILE__, __LINE__, __func__);
  }
  double h = (b - a) / GRID, m0, m1;
  cdf[0] = 0;
  for (int g = 0; g < GRID; g++) {
    moments_(f, ctx, a + g * h, a + (g + 1) * h, 1, 0, &m0, &m1, NULL);
    cdf[g + 1] = cdf[g] + m0;
  }
  double total = cdf[GRID];
  if (!(total > 0) || !isfinite(total)) {
    subq_free(&cdf);
    subq_free(&e);
    return SUBQ_FAIL(SUBQ_ERR_NUMERIC, "density has mass %g on [%g, %g]", total, a, b);
  }
  for (int j = 0, g = 0; j < k; j++) {
    double target = (j + 0.5) / k * total;
    while (g < GRID - 1 && cdf[g + 1] < target) g++;
    double seg = cdf[g + 1] - cdf[g];
    c[j] = a + (g + (seg > 0 ? (target - cdf[g]) / seg : 0.5)) * h;
  }
  /* Lloyd iterations: boundaries at midpoints, centroids at conditional means. */
  const double tol = 1e-13 * (b - a);
  for (int it = 0; it < 20000; it++) {
    e[0] = a;
    e[k] = b;
    for (int j = 1; j < k; j++) e[j] = 0.5 * (c[j - 1] + c[j]);
    double move = 0;
    for (int j = 0; j < k; j++) {
      moments_(f, ctx, e[j], e[j + 1], PANELS, 0, &m0, &m1, NULL);
      if (m0 > 0) {
        double nc = m1 / m0;
        move = fmax(move, fabs(nc - c[j]));
        c[j] = nc;
      }
    }
    if (move < tol) break;
  }
  if (mse) {
    double s = 0, m2;
    for (int j = 1; j < k; j++) e[j] = 0.5 * (c[j - 1] + c[j]);
    for (int j = 0; j < k; j++) {
      moments_(f, ctx, e[j], e[j + 1], PANELS, c[j], &m0, &m1, &m2);
      s += m2;
    }
    *mse = s / total;
  }
  subq_free(&cdf);
  subq_free(&e);
  return SUBQ_OK;
}

static int cmp_double_(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int subq_kmeans1d(size_t n, const double *x, int k, uint64_t seed, uint64_t stream,
                  double *c) {
  SUBQ_CHECK(x && c, SUBQ_ERR_ARG, "NULL data or centroids");
  SUBQ_CHECK(n >= 1, SUBQ_ERR_ARG, "k-means needs at least one value, got n = 0");
  SUBQ_CHECK(k >= 1, SUBQ_ERR_ARG, "clusters must be >= 1, got %d", k);
  double *xs = NULL, *d2 = NULL, *sum = NULL;
  size_t *cnt = NULL;
  int err = SUBQ_ALLOC(xs, n);
  if (!err) err = SUBQ_ALLOC(d2, n);
  if (!err) err = SUBQ_ALLOC(sum, k);
  if (!err) err = SUBQ_ALLOC(cnt, k);
  if (err) goto done;
  memcpy(xs, x, n * sizeof(double));
  qsort(xs, n, sizeof(double), cmp_double_);
  /* k-means++ seeding: first centre uniform, then proportional to D^2. */
  uint64_t draw = 0;
  c[0] = xs[subq_rng_below(seed, stream, draw++, n)];
  for (size_t i = 0; i < n; i++) d2[i] = (xs[i] - c[0]) * (xs[i] - c[0]);
  for (int j = 1; j < k; j++) {
    double tot = 0;
    for (size_t i = 0; i < n; i++) tot += d2[i];
    if (!(tot > 0)) { /* fewer distinct values than k: repeat the largest */
      for (; j < k; j++) c[j] = xs[n - 1];
      break;
    }
    double u = subq_rng_uniform(seed, stream, draw++) * tot, acc = 0;
    size_t pick = n - 1;
    for (size_t i = 0; i < n; i++) {
      acc += d2[i];
      if (acc >= u && d2[i] > 0) { pick = i; break; }
    }
    c[j] = xs[pick];
    for (size_t i = 0; i < n; i++) d2[i] = fmin(d2[i], (xs[i] - c[j]) * (xs[i] - c[j]));
  }
  qsort(c, (size_t)k, sizeof(double), cmp_double_);
  /* Lloyd: nearest centroid by midpoint boundaries, centroid = mean of its cell. */
  for (int it = 0; it < 100; it++) {
    memset(sum, 0, (size_t)k * sizeof(double));
    memset(cnt, 0, (size_t)k * sizeof(size_t));
    for (size_t i = 0; i < n; i++) {
      int j = subq_nearest_(c, k, xs[i]);
      sum[j] += xs[i];
      cnt[j]++;
    }
    double move = 0;
    for (int j = 0; j < k; j++)
      if (cnt[j]) {
        double nc = sum[j] / (double)cnt[j];
        move = fmax(move, fabs(nc - c[j]));
        c[j] = nc;
      }
    qsort(c, (size_t)k, sizeof(double), cmp_double_);
    if (move <= 1e-12 * fmax(1.0, fabs(xs[n - 1] - xs[0]))) break;
  }
done:
  subq_free(&xs);
  subq_free(&d2);
  subq_free(&sum);
  subq_free(&cnt);
  if (err) return subq_error_trace(err, __FILE__, __LINE__, __func__);
  return SUBQ_OK;
}
