/* The peers of PolarQuant in the same framework: TurboQuant-style rotation + Lloyd-Max
 * against its published distortions, KIVI and q4_0 against independent re-computations,
 * QJL's estimator (unbiased, scores = decode-then-dot), fp16, residual window, and the
 * exact storage of each. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "subq/quant.h"

#include "quant_test_util.h"

/* Gaussian rows (stream 9), optionally normalised to unit length. */
static float *gauss_rows_(size_t n, int d, uint64_t seed, int unit) {
  return gauss_rows_stream_(n, d, seed, 9, unit);
}

static subq_quant_t *make_(const char *type, int d, int bits, int role) {
  subq_quant_t *q = NULL;
  CHECK_OK(subq_quant_create(type, d, &q));
  if (bits) CHECK_OK(subq_quant_set_bits(q, &bits, 1));
  CHECK_OK(subq_quant_set_role(q, role));
  CHECK_OK(subq_quant_setup(q, 0, NULL));
  return q;
}

/* Relative MSE of the round trip; bits per coordinate; decoded copy in Y if not NULL. */
static double roundtrip_(subq_quant_t *q, size_t n, int d, const float *X, double *bpc,
                         float *Yout) {
  subq_qtensor_t *t = NULL;
  float *Y = Yout ? Yout : malloc(n * (size_t)d * sizeof(float));
  CHECK_OK(subq_quant_encode(q, n, X, &t));
  CHECK_OK(subq_quant_decode(q, t, Y));
  double e = 0, s = 0;
  for (size_t i = 0; i < n * (size_t)d; i++) {
    e += (double)(Y[i] - X[i]) * (Y[i] - X[i]);
    s += (double)X[i] * X[i];
  }
  *bpc = subq_qtensor_bits(t) / (double)(n * (size_t)d);
  subq_qtensor_destroy(&t);
  if (!Yout) free(Y);
  return e / s;
}

static void test_turbo_(void) {
  /* Published (TurboQuant, arXiv 2504.19874, Thm. 1 / Fig. 3): MSE ~ 0.36, 0.117, 0.03,
   * 0.009 at 1..4 bits for unit vectors.  Tolerance: the exact Gaussian Lloyd-Max
   * distortions (Max 1960, Table I: 0.3634, 0.1175, 0.03454, 0.009497) +-6%, which the
   * d-dimensional Beta codebook approaches for d = 128. */
  const double max1960[4] = {0.3634, 0.1175, 0.03454, 0.009497};
  const size_t n = 2000;
  const int d = 128;
  float *X = gauss_rows_(n, d, 31, 1);
  for (int b = 1; b <= 4; b++) {
    subq_quant_t *q = make_("turbo", d, b, SUBQ_QUANT_KEYS);
    double bpc, mse = roundtrip_(q, n, d, X, &bpc, NULL);
    printf("turbo %d bits: MSE %.5f (published ~%.3f), %.4f bits/coord\n", b, mse,
           (double[]){0.36, 0.117, 0.03, 0.009}[b - 1], bpc);
    CHECK(fabs(mse - max1960[b - 1]) < 0.06 * max1960[b - 1]);
    CHECK(bpc == b + 16.0 / d);
    if (b == 1) { /* 1-bit centroid = E|u_1| = Gamma(d/2) / (sqrt(pi) Gamma((d+1)/2)) */
      const double *c;
      int k;
      CHECK_OK(subq_quant_codebook(q, 1, &c, &k));
      double e = exp(lgamma(d / 2.0) - lgamma((d + 1) / 2.0)) / sqrt(M_PI);
      CHECK(k == 2);
      CHECK_CLOSE(c[1], e, 1e-10);
      CHECK_CLOSE(c[0], -e, 1e-10);
    }
    subq_quant_destroy(&q);
  }
  free(X);
}

static void test_kivi_(void) {
  const int d = 64;
  const size_t n = 70; /* two full groups of 32 tokens and one of 6 */
  float *X = gauss_rows_(n, d, 41, 0), *Y = malloc(n * d * sizeof(float));
  for (int role = 0; role < 2; role++) {
    subq_quant_t *q = make_("kivi", d, 0, role);
    double bpc;
    roundtrip_(q, n, d, X, &bpc, Y);
    /* Independent re-computation with the compiler's _Float16 for the fp16 metadata. */
    double err = 0;
    size_t ngroups = 0;
    for (size_t g0 = 0; g0 < (role == 0 ? n : n * d); g0 += (role == 0 ? 32 : 32)) {
      /* keys: tokens [g0, g0+32) x each channel; values: flattened row chunks of 32 */
      for (int c = 0; c < (role == 0 ? d : 1); c++) {
        size_t cnt = role == 0 ? (n - g0 < 32 ? n - g0 : 32) : 32;
        float mn = INFINITY, mx = -INFINITY;
        for (size_t k = 0; k < cnt; k++) {
          float v = role == 0 ? X[(g0 + k) * d + c] : X[g0 + k];
          mn = fminf(mn, v), mx = fmaxf(mx, v);
        }
        float s = (float)(_Float16)((mx - mn) / 3), z = (float)(_Float16)mn;
        for (size_t k = 0; k < cnt; k++) {
          size_t idx = role == 0 ? (g0 + k) * d + c : g0 + k;
          float code = fminf(fmaxf(rintf((X[idx] - z) / s), 0), 3);
          err = fmax(err, fabs(Y[idx] - (z + s * code)));
        }
        ngroups++;
      }
    }
    CHECK(err == 0);
    CHECK(bpc == (2.0 * n * d + 32.0 * ngroups) / (n * d));
    subq_quant_destroy(&q);
  }
  free(X), free(Y);
}

static void test_q4_0_(void) {
  const int d = 64;
  const size_t n = 10;
  float *X = gauss_rows_(n, d, 51, 0), *Y = malloc(n * d * sizeof(float));
  subq_quant_t *q = NULL;
  CHECK_OK(subq_quant_create("q4_0", d, &q));
  CHECK_OK(subq_quant_set_precondition(q, SUBQ_PRECOND_NONE)); /* compare raw blocks */
  CHECK_OK(subq_quant_setup(q, 0, NULL));
  double bpc;
  roundtrip_(q, n, d, X, &bpc, Y);
  CHECK(bpc == 4.5);
  double err = 0; /* llama.cpp quantize_row_q4_0_ref / dequantize_row_q4_0, re-typed */
  for (size_t b = 0; b < n * d / 32; b++) {
    float amax = 0, max = 0;
    for (int j = 0; j < 32; j++)
      if (amax < fabsf(X[b * 32 + j])) amax = fabsf(X[b * 32 + j]), max = X[b * 32 + j];
    float dd = max / -8, id = dd ? 1.0f / dd : 0.0f, dh = (float)(_Float16)dd;
    for (int j = 0; j < 32; j++) {
      int v = (int)(X[b * 32 + j] * id + 8.5f);
      v = v > 15 ? 15 : v;
      err = fmax(err, fabs(Y[b * 32 + j] - (v - 8) * dh));
    }
  }
  CHECK(err == 0);
  subq_quant_destroy(&q);
  free(X), free(Y);
}

static void test_qjl_(void) {
  const int d = 64, m = 240;
  float *K = gauss_rows_(1, d, 61, 0), *Q = gauss_rows_(1, d, 62, 0);
  double exact = 0, nq = 0, nk = 0;
  for (int c = 0; c < d; c++) {
    exact += (double)Q[c] * K[c];
    nq += (double)Q[c] * Q[c];
    nk += (double)K[c] * K[c];
  }
  /* Unbiased over the sketch (200 seeds); the estimator's variance is at most
   * (pi/2) |q|^2 |k|^2 / m (QJL Lemma 3.5), so the mean is within 4 sigma / sqrt(200). */
  const int reps = 200;
  double mean = 0, bpc = 0;
  for (int r = 0; r < reps; r++) {
    subq_quant_t *q = NULL;
    subq_qtensor_t *t = NULL;
    CHECK_OK(subq_quant_create("qjl", d, &q));
    CHECK_OK(subq_quant_set_sketch_dim(q, m));
    CHECK_OK(subq_quant_set_seed(q, 1000 + (uint64_t)r));
    CHECK_OK(subq_quant_setup(q, 0, NULL));
    CHECK_OK(subq_quant_encode(q, 1, K, &t));
    float s = 0, kh[64];
    CHECK_OK(subq_quant_scores(q, t, 1, Q, &s));
    CHECK_OK(subq_quant_decode(q, t, kh));
    double dot = 0;
    for (int c = 0; c < d; c++) dot += (double)Q[c] * kh[c];
    CHECK(fabs(dot - s) <= 1e-4 * sqrt(nq * nk)); /* scores from codes = decode-then-dot */
    mean += s / reps;
    bpc = subq_qtensor_bits(t) / d;
    subq_qtensor_destroy(&t);
    subq_quant_destroy(&q);
  }
  double sigma = sqrt(M_PI / 2 * nq * nk / m / reps);
  printf("qjl: mean estimate %.4f, exact %.4f, sigma of the mean %.4f\n", mean, exact, sigma);
  CHECK(fabs(mean - exact) < 4 * sigma);
  CHECK(bpc == (m + 16.0) / d);
  subq_quant_t *q = NULL;
  CHECK_OK(subq_quant_create("qjl", d, &q));
  CHECK_OK(subq_quant_set_role(q, SUBQ_QUANT_VALUES));
  CHECK_ERR(subq_quant_setup(q, 0, NULL), SUBQ_ERR_ARG, "qjl quantizes keys only");
  subq_quant_destroy(&q);
  free(K), free(Q);
}

static void test_fp16_residual_(void) {
  const int d = 64;
  const size_t n = 50;
  float *X = gauss_rows_(n, d, 71, 0), *Y = malloc(n * d * sizeof(float));
  subq_quant_t *q = make_("fp16", d, 0, 0);
  double bpc, mse = roundtrip_(q, n, d, X, &bpc, Y);
  CHECK(bpc == 16);
  CHECK(mse < 1e-6);
  double err = 0;
  for (size_t i = 0; i < n * d; i++) err = fmax(err, fabs(Y[i] - (float)(_Float16)X[i]));
  CHECK(err == 0);
  subq_quant_destroy(&q);
  /* Residual window: the last 20 rows are kept in fp16, the rest quantized (KIVI). */
  CHECK_OK(subq_quant_create("kivi", d, &q));
  CHECK_OK(subq_quant_set_residual(q, 20));
  CHECK_OK(subq_quant_setup(q, 0, NULL));
  roundtrip_(q, n, d, X, &bpc, Y);
  err = 0;
  for (size_t i = 30 * d; i < n * d; i++) err = fmax(err, fabs(Y[i] - (float)(_Float16)X[i]));
  CHECK(err == 0);
  /* 30 quantized tokens = one partial key group: 2 bits each + 64 channels x (scale,
   * zero) in fp16; 20 fp16 rows. */
  CHECK(bpc == (30.0 * d * 2 + 64 * 32.0 + 20.0 * d * 16) / (n * d));
  subq_quant_destroy(&q);
  free(X), free(Y);
}

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  test_turbo_();
  test_kivi_();
  test_q4_0_();
  test_qjl_();
  test_fp16_residual_();
  CHECK_FINISH();
}
