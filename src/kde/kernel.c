/* Kernels: evaluation, blocked evaluation with dgemm, squared kernel, median-distance
 * bandwidth heuristic, and gathering rows of a distributed matrix. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kde/kde_impl.h"

static const char *const kernel_names_[] = {"gaussian", "exponential", "laplacian"};

int subq_kernel_parse(const char *name, subq_kernel_type_t *type) {
  SUBQ_CHECK(name && type, SUBQ_ERR_ARG, "kernel name is NULL");
  for (int i = 0; i < 3; i++)
    if (strcmp(name, kernel_names_[i]) == 0) {
      *type = (subq_kernel_type_t)i;
      return SUBQ_OK;
    }
  return SUBQ_FAIL(SUBQ_ERR_ARG, "kernel must be gaussian|exponential|laplacian, got '%s'", name);
}

const char *subq_kernel_name(subq_kernel_type_t type) {
  return (unsigned)type < 3 ? kernel_names_[type] : "unknown";
}

int subq_kernel_check(const subq_kernel_t *k) {
  SUBQ_CHECK(k != NULL, SUBQ_ERR_ARG, "kernel is NULL");
  SUBQ_CHECK((unsigned)k->type < 3, SUBQ_ERR_ARG, "unknown kernel type %d", (int)k->type);
  SUBQ_CHECK(isfinite(k->h) && k->h > 0, SUBQ_ERR_ARG,
             "bandwidth must be finite and > 0, got %g", k->h);
  return SUBQ_OK;
}

double subq_kernel_eval(const subq_kernel_t *k, const double *x, const double *y, size_t d) {
  double s = 0;
  switch (k->type) {
  case SUBQ_KERNEL_GAUSSIAN:
    for (size_t t = 0; t < d; t++) s += (x[t] - y[t]) * (x[t] - y[t]);
    return s > 0 ? exp(-s / (2 * k->h * k->h)) : 1.0; /* h^2 may underflow to 0: 0/0 */
  case SUBQ_KERNEL_EXPONENTIAL:
    for (size_t t = 0; t < d; t++) s += (x[t] - y[t]) * (x[t] - y[t]);
    return exp(-sqrt(s) / k->h);
  default:
    for (size_t t = 0; t < d; t++) s += fabs(x[t] - y[t]);
    return exp(-s / k->h);
  }
}

subq_kernel_t subq_kernel_squared(const subq_kernel_t *k) {
  subq_kernel_t r = *k;
  r.h = k->type == SUBQ_KERNEL_GAUSSIAN ? k->h / sqrt(2.0) : k->h / 2;
  return r;
}

double subq_kde_dist_(subq_kernel_type_t type, const double *x, const double *y, size_t d) {
  double s = 0;
  if (type == SUBQ_KERNEL_LAPLACIAN) {
    for (size_t t = 0; t < d; t++) s += fabs(x[t] - y[t]);
    return s;
  }
  for (size_t t = 0; t < d; t++) s += (x[t] - y[t]) * (x[t] - y[t]);
  return sqrt(s);
}

void subq_kde_norms2_(size_t m, size_t d, const double *A, double *out) {
  for (size_t i = 0; i < m; i++) {
    double s = 0;
    for (size_t t = 0; t < d; t++) s += A[i * d + t] * A[i * d + t];
    out[i] = s;
  }
}

int subq_kernel_block(const subq_kernel_t *k, size_t m, size_t p, size_t d, const double *A,
                      const double *anorm2, const double *B, const double *bnorm2, double *K) {
  if (m == 0 || p == 0) return SUBQ_OK;
  if (k->type == SUBQ_KERNEL_LAPLACIAN) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < m; i++)
      for (size_t j = 0; j < p; j++) {
        double s = 0;
        for (size_t t = 0; t < d; t++) s += fabs(A[i * d + t] - B[j * d + t]);
        K[i * p + j] = exp(-s / k->h);
      }
    return SUBQ_OK;
  }
  double *an = NULL, *bn = NULL;
  if (!anorm2) {
    SUBQ_CALL(SUBQ_ALLOC(an, m));
    subq_kde_norms2_(m, d, A, an);
    anorm2 = an;
  }
  if (!bnorm2) {
    int e = SUBQ_ALLOC(bn, p);
    if (e) {
      subq_free(&an);
      return subq_error_trace(e, __FILE__, __LINE__, __func__);
    }
    subq_kde_norms2_(p, d, B, bn);
    bnorm2 = bn;
  }
  if (d > 0)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)p, (int)d, -2.0, A,
                (int)d, B, (int)d, 0.0, K, (int)p);
  else
    memset(K, 0, m * p * sizeof *K);
  const int gauss = k->type == SUBQ_KERNEL_GAUSSIAN;
  const double c = gauss ? 1.0 / (2 * k->h * k->h) : 1.0 / k->h;
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < p; j++) {
      double s = K[i * p + j] + anorm2[i] + bnorm2[j];
      /* |x|^2 + |y|^2 - 2 x.y cancels: its rounding error is about d u (|x|^2 + |y|^2).  For
       * pairs within 1e-12 of that scale of zero (duplicates, near-duplicates), recompute
       * the distance directly, so that k(x, x) = 1 exactly and tiny bandwidths do not turn
       * a rounding residue into k = 0. */
      if (s <= 1e-12 * (anorm2[i] + bnorm2[j])) {
        s = 0;
        for (size_t t = 0; t < d; t++) {
          double z = A[i * d + t] - B[j * d + t];
          s += z * z;
        }
      }
      /* s = 0 gives k = 1 even when c overflows to inf (tiny h), never 0 * inf = NaN */
      K[i * p + j] = s == 0 ? 1.0 : gauss ? exp(-s * c) : exp(-sqrt(s) * c);
    }
  subq_free(&an);
  subq_free(&bn);
  return SUBQ_OK;
}

int subq_kde_gather_rows(const subq_dmat_t *X, size_t s, const size_t *idx, double *out) {
  int e = 0;
  size_t cnt = 0;
  e = subq_size_mul(s, X->d, &cnt);
  if (!e && cnt > (size_t)INT32_MAX)
    e = SUBQ_FAIL(SUBQ_ERR_ARG, "gathering %zu rows x %zu columns exceeds one MPI message", s,
                  X->d);
  for (size_t t = 0; !e && t < s; t++)
    if (idx[t] >= X->n) e = SUBQ_FAIL(SUBQ_ERR_ARG, "row index %zu >= n = %zu", idx[t], X->n);
  SUBQ_CALL(subq_error_agree(X->comm, e));
  if (cnt == 0) return SUBQ_OK;
  memset(out, 0, cnt * sizeof *out);
  const double *Xl = (const double *)X->data;
  for (size_t t = 0; t < s; t++)
    if (idx[t] >= X->r0 && idx[t] < X->r0 + X->nloc)
      memcpy(out + t * X->d, Xl + (idx[t] - X->r0) * X->d, X->d * sizeof *out);
  SUBQ_MPI(MPI_Allreduce(MPI_IN_PLACE, out, (int)cnt, MPI_DOUBLE, MPI_SUM, X->comm));
  return SUBQ_OK;
}

static int cmp_double_(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int subq_kernel_bandwidth_median(const subq_dmat_t *X, subq_kernel_type_t type, size_t m,
                                 uint64_t seed, double *h) {
  int e = 0;
  if (!X || !h) e = SUBQ_FAIL(SUBQ_ERR_ARG, "X or h is NULL");
  else if (X->dtype != SUBQ_F64) e = SUBQ_FAIL(SUBQ_ERR_ARG, "points must be float64");
  else if (X->n < 2) e = SUBQ_FAIL(SUBQ_ERR_ARG, "median-distance bandwidth needs n >= 2 points, got n = %zu", X->n);
  else if (m == 0) e = SUBQ_FAIL(SUBQ_ERR_ARG, "bandwidth sample size must be >= 1, got 0");
  else if ((unsigned)type > 2) e = SUBQ_FAIL(SUBQ_ERR_ARG, "unknown kernel type %d", (int)type);
  SUBQ_CALL(subq_error_agree(X ? X->comm : MPI_COMM_WORLD, e));
  size_t *idx = NULL;
  double *rows = NULL, *dist = NULL;
  e = SUBQ_ALLOC(idx, 2 * m);
  if (!e) e = subq_malloc(2 * m, X->d * sizeof(double), &rows);
  if (!e) e = SUBQ_ALLOC(dist, m);
  SUBQ_CALL(subq_error_agree(X->comm, e));
  for (size_t t = 0; t < m; t++) {
    idx[2 * t] = subq_rng_below(seed, SUBQ_KDE_STREAM_BW, 2 * t, X->n);
    idx[2 * t + 1] = subq_rng_below(seed, SUBQ_KDE_STREAM_BW, 2 * t + 1, X->n);
  }
  e = subq_kde_gather_rows(X, 2 * m, idx, rows);
  size_t nz = 0;
  if (!e) {
    for (size_t t = 0; t < m; t++) {
      double r = subq_kde_dist_(type, rows + 2 * t * X->d, rows + (2 * t + 1) * X->d, X->d);
      if (r > 0) dist[nz++] = r;
    }
    if (nz == 0)
      e = SUBQ_FAIL(SUBQ_ERR_NUMERIC,
                    "median-distance bandwidth: all %zu sampled pairs are at distance 0 "
                    "(identical points); give the bandwidth explicitly", m);
  }
  if (!e) {
    qsort(dist, nz, sizeof *dist, cmp_double_);
    double med = nz % 2 ? dist[nz / 2] : 0.5 * (dist[nz / 2 - 1] + dist[nz / 2]);
    *h = type == SUBQ_KERNEL_GAUSSIAN ? med / sqrt(2.0) : med;
  }
  subq_free(&idx);
  subq_free(&rows);
  subq_free(&dist);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : SUBQ_OK;
}
