/* Sketch module: each sketch against an independent computation (entries drawn directly
 * from the RNG in the test, the Hadamard matrix from its popcount formula, TensorSketch
 * against direct polynomial multiplication of CountSketches), unbiasedness of the
 * inner-product estimates with tolerances from the documented variances, bad input, and
 * the same sketch on every rank. */
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define SEED 20240531u

static double dot_(const double *a, const double *b, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

static void test_fwht_(void) {
  enum { H = 16 };
  double x[2 * H], ref[2 * H];
  for (int i = 0; i < 2 * H; i++) x[i] = subq_rng_gauss(7, 0, (uint64_t)i);
  for (int row = 0; row < 2; row++)
    for (int a = 0; a < H; a++) {
      double s = 0;
      for (int b = 0; b < H; b++)
        s += ((__builtin_popcount((unsigned)(a & b)) & 1) ? -1 : 1) * x[row * H + b];
      ref[row * H + a] = s;
    }
  CHECK_OK(subq_fwht(2, H, x, H));
  for (int i = 0; i < 2 * H; i++) CHECK_CLOSE(x[i], ref[i], 1e-13);
  CHECK_ERR(subq_fwht(1, 12, x, 12), SUBQ_ERR_ARG, "power of two");
}

/* Apply a linear sketch to n rows and compare with the product by the dense matrix the
 * test builds itself from the RNG. */
static void test_linear_(subq_sketch_type_t type, int d, int r) {
  const uint64_t stream = 5;
  subq_sketch_t *s = NULL;
  CHECK_OK(subq_sketch_create(type, d, r, &s));
  CHECK_OK(subq_sketch_set_seed(s, SEED, stream));
  CHECK_OK(subq_sketch_setup(s));
  double S[64 * 64];
  int h = 1;
  while (h < d) h <<= 1;
  for (int i = 0; i < d; i++)
    for (int j = 0; j < r; j++) {
      double v = 0;
      if (type == SUBQ_SKETCH_GAUSSIAN) {
        v = subq_rng_gauss(SEED, stream, (uint64_t)(i * r + j)) / sqrt((double)r);
      } else if (type == SUBQ_SKETCH_SRHT) {
        int c = (int)subq_rng_below(SEED, stream, (uint64_t)(h + j), (uint64_t)h);
        int sg = subq_rng_rademacher(SEED, stream, (uint64_t)i);
        v = sg * ((__builtin_popcount((unsigned)(i & c)) & 1) ? -1.0 : 1.0) / sqrt((double)r);
      } else {
        int b, sg;
        subq_count_sketch_hash(SEED, stream, (uint64_t)i, r, &b, &sg);
        v = b == j ? sg : 0;
      }
      S[i * r + j] = v;
    }
  enum { N = 5 };
  double X[N * 64], Y[N * 64];
  float Xf[N * 64], Yf[N * 64];
  for (int i = 0; i < N * d; i++) Xf[i] = (float)(X[i] = subq_rng_gauss(9, 1, (uint64_t)i));
  CHECK_OK(subq_sketch_apply(s, N, X, (size_t)d, Y, (size_t)r));
  CHECK_OK(subq_sketch_apply_f32(s, N, Xf, (size_t)d, Yf, (size_t)r));
  double err = 0, errf = 0;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < r; j++) {
      double ref = 0;
      for (int k = 0; k < d; k++) ref += X[i * d + k] * S[k * r + j];
      err = fmax(err, fabs(Y[i * r + j] - ref));
      errf = fmax(errf, fabs(Yf[i * r + j] - ref));
    }
  CHECK(err < 1e-12);
  CHECK(errf < 1e-4);
  subq_sketch_destroy(&s);
  subq_sketch_destroy(&s); /* NULL-safe */
}

/* TensorSketch via FFT = circular convolution of the p CountSketches (direct polynomial
 * multiplication mod z^r - 1).  n = 70 rows exercises a partial FFT batch. */
static void test_tensor_direct_(int d, int r, int p) {
  const uint64_t stream = 11;
  enum { N = 70 };
  subq_sketch_t *s = NULL;
  CHECK_OK(subq_sketch_create(SUBQ_SKETCH_TENSOR, d, r, &s));
  CHECK_OK(subq_sketch_set_degree(s, p));
  CHECK_OK(subq_sketch_set_seed(s, SEED, stream));
  CHECK_OK(subq_sketch_setup(s));
  double *X = malloc(sizeof(double) * N * d), *Y = malloc(sizeof(double) * N * r);
  for (int i = 0; i < N * d; i++) X[i] = subq_rng_gauss(3, 2, (uint64_t)i);
  CHECK_OK(subq_sketch_apply(s, N, X, (size_t)d, Y, (size_t)r));
  double maxerr = 0;
  for (int i = 0; i < N; i++) {
    double acc[64] = {0}, c[64], t[64];
    acc[0] = 1; /* the polynomial 1 */
    for (int k = 0; k < p; k++) {
      memset(c, 0, sizeof c);
      for (int a = 0; a < d; a++) {
        int b, sg;
        subq_count_sketch_hash(SEED, stream + (uint64_t)k, (uint64_t)a, r, &b, &sg);
        c[b] += sg * X[i * d + a];
      }
      memset(t, 0, sizeof t);
      for (int a = 0; a < r; a++)
        for (int b = 0; b < r; b++) t[(a + b) % r] += acc[a] * c[b];
      memcpy(acc, t, sizeof t);
    }
    double nrm = 0;
    for (int j = 0; j < r; j++) nrm = fmax(nrm, fabs(acc[j]));
    for (int j = 0; j < r; j++) maxerr = fmax(maxerr, fabs(Y[i * r + j] - acc[j]) / fmax(nrm, 1));
  }
  CHECK(maxerr < 1e-12);
  if (maxerr >= 1e-12) fprintf(stderr, "tensorsketch d=%d r=%d p=%d maxerr %g\n", d, r, p, maxerr);
  free(X);
  free(Y);
  subq_sketch_destroy(&s);
}

/* Unbiasedness over T independent sketches (seeds SEED + t): the mean of the estimates
 * is within 5 standard errors sqrt(var_bound / T) of the exact value, and the sample
 * variance is at most 1.25 var_bound (and, when the variance is exact, at least 0.75 of
 * it).  Deterministic (fixed seeds); a correct sketch passes with probability > 1-1e-6. */
enum { KIND_LINEAR, KIND_POLY };
static void test_unbiased_(subq_sketch_type_t type, int kind, int q, int d, int r, int T,
                           double var_bound, int var_exact, double exact, const double *x,
                           const double *y) {
  double sum = 0, sum2 = 0;
  double xy[2 * 64], f[2 * 256];
  memcpy(xy, x, sizeof(double) * d);
  memcpy(xy + d, y, sizeof(double) * d);
  for (int t = 0; t < T; t++) {
    double est;
    if (kind == KIND_LINEAR) {
      subq_sketch_t *s = NULL;
      int e = subq_sketch_create(type, d, r, &s);
      if (!e && type == SUBQ_SKETCH_TENSOR) e = subq_sketch_set_degree(s, q);
      if (!e) e = subq_sketch_set_seed(s, SEED + (uint64_t)t, 0);
      if (!e) e = subq_sketch_setup(s);
      if (!e) e = subq_sketch_apply(s, 2, xy, (size_t)d, f, (size_t)r);
      subq_sketch_destroy(&s);
      if (e) { CHECK_OK(e); return; }
    } else {
      subq_polysketch_t *ps = NULL;
      int e = subq_polysketch_create(type, d, r, q, SEED + (uint64_t)t, 0, &ps);
      if (!e) e = subq_polysketch_features(ps, 2, xy, (size_t)d, f, (size_t)r);
      subq_polysketch_destroy(&ps);
      if (e) { CHECK_OK(e); return; }
    }
    est = dot_(f, f + r, r);
    sum += est;
    sum2 += est * est;
  }
  double mean = sum / T, var = (sum2 - T * mean * mean) / (T - 1);
  double tol = 5 * sqrt(var_bound / T);
  printf("  %-12s %-6s q=%d r=%-3d: mean %.5f exact %.5f (tol %.5f), var %.4f bound %.4f\n",
         subq_sketch_type_name(type), kind == KIND_LINEAR ? "sketch" : "phi", q, r, mean,
         exact, tol, var, var_bound);
  CHECK(fabs(mean - exact) <= tol);
  CHECK(var <= 1.25 * var_bound);
  if (var_exact) CHECK(var >= 0.75 * var_bound);
}

static void test_unbiased_all_(void) {
  enum { D = 12 };
  double x[D], y[D];
  for (int i = 0; i < D; i++) {
    x[i] = subq_rng_gauss(1, 0, (uint64_t)i) / sqrt((double)D);
    y[i] = 0.7 * x[i] + 0.5 * subq_rng_gauss(1, 1, (uint64_t)i) / sqrt((double)D);
  }
  const double xx = dot_(x, x, D), yy = dot_(y, y, D), xy = dot_(x, y, D);
  double s4 = 0;
  for (int i = 0; i < D; i++) s4 += x[i] * x[i] * y[i] * y[i];
  const int T = 3000, r = 16;
  /* Degree 1: Gaussian (exact variance), SRHT (bound), CountSketch (exact). */
  test_unbiased_(SUBQ_SKETCH_GAUSSIAN, KIND_LINEAR, 1, D, r, T, (xx * yy + xy * xy) / r, 1, xy, x, y);
  test_unbiased_(SUBQ_SKETCH_SRHT, KIND_LINEAR, 1, D, r, T, (xx * yy + xy * xy) / r, 0, xy, x, y);
  test_unbiased_(SUBQ_SKETCH_COUNT, KIND_LINEAR, 1, D, r, T, (xx * yy + xy * xy - 2 * s4) / r, 1,
                 xy, x, y);
  /* Degree 2 PolySketch features: exact variance for Gaussian, bound for SRHT. */
  const double a = xx * yy + 2 * xy * xy, v2 = (a * a - pow(xy, 4)) / r;
  test_unbiased_(SUBQ_SKETCH_GAUSSIAN, KIND_POLY, 2, D, r, T, v2, 1, xy * xy, x, y);
  test_unbiased_(SUBQ_SKETCH_SRHT, KIND_POLY, 2, D, r, T, v2, 0, xy * xy, x, y);
  /* TensorSketch degree 2 and 3: Avron-Nguyen-Woodruff bound (2 + 3^p) |x|^2p |y|^2p / r. */
  for (int p = 2; p <= 3; p++)
    test_unbiased_(SUBQ_SKETCH_TENSOR, KIND_LINEAR, p, D, r, T,
                   (2 + pow(3, p)) * pow(xx * yy, p) / r, 0, pow(xy, p), x, y);
  test_unbiased_(SUBQ_SKETCH_TENSOR, KIND_POLY, 2, D, r, T, (2 + 9) * pow(xx * yy, 2) / r, 0,
                 xy * xy, x, y);
}

/* phi(x) of the degree-2 Gaussian PolySketch = (x G1) .* (x G2) / sqrt(r), with G1, G2
 * drawn here from streams s and s+1 (the paper's Alg. 1 formula). */
static void test_poly_formula_(void) {
  enum { D = 8, R = 6, N = 3 };
  const uint64_t stream = 40;
  subq_polysketch_t *ps = NULL;
  CHECK_OK(subq_polysketch_create(SUBQ_SKETCH_GAUSSIAN, D, R, 2, SEED, stream, &ps));
  double X[N * D], F[N * R];
  float Xf[N * D], Ff[N * R];
  for (int i = 0; i < N * D; i++) Xf[i] = (float)(X[i] = subq_rng_gauss(2, 2, (uint64_t)i));
  CHECK_OK(subq_polysketch_features(ps, N, X, D, F, R));
  CHECK_OK(subq_polysketch_features_f32(ps, N, Xf, D, Ff, R));
  CHECK(subq_polysketch_dim(ps) == R);
  for (int i = 0; i < N; i++)
    for (int j = 0; j < R; j++) {
      double a = 0, b = 0;
      for (int k = 0; k < D; k++) {
        a += X[i * D + k] * subq_rng_gauss(SEED, stream, (uint64_t)(k * R + j));
        b += X[i * D + k] * subq_rng_gauss(SEED, stream + 1, (uint64_t)(k * R + j));
      }
      CHECK_CLOSE(F[i * R + j], a * b / sqrt((double)R), 1e-12);
      CHECK_CLOSE(Ff[i * R + j], a * b / sqrt((double)R), 1e-4);
    }
  subq_polysketch_destroy(&ps);
}

static void test_bad_input_(void) {
  subq_sketch_t *s = NULL;
  subq_polysketch_t *ps = NULL;
  subq_sketch_type_t t;
  CHECK_ERR(subq_sketch_create(SUBQ_SKETCH_GAUSSIAN, 4, 0, &s), SUBQ_ERR_ARG, "r must be >= 1, got 0");
  CHECK_ERR(subq_sketch_create(SUBQ_SKETCH_GAUSSIAN, 0, 4, &s), SUBQ_ERR_ARG, "d must be >= 1, got 0");
  CHECK_ERR(subq_sketch_type_from_name("fourier", &t), SUBQ_ERR_ARG, "got 'fourier'");
  CHECK_OK(subq_sketch_type_from_name("srht", &t));
  CHECK(t == SUBQ_SKETCH_SRHT);
  CHECK_OK(subq_sketch_create(SUBQ_SKETCH_GAUSSIAN, 4, 4, &s));
  CHECK_ERR(subq_sketch_set_degree(s, 3), SUBQ_ERR_ARG, "needs a tensorsketch");
  double x[4] = {1, 2, 3, 4}, y[4];
  CHECK_ERR(subq_sketch_apply(s, 1, x, 4, y, 4), SUBQ_ERR_ARG, "not set up");
  subq_sketch_destroy(&s);
  CHECK_ERR(subq_polysketch_create(SUBQ_SKETCH_SRHT, 4, 8, 3, 1, 0, &ps), SUBQ_ERR_ARG,
            "got q = 3");
  CHECK(ps == NULL);
  CHECK_ERR(subq_polysketch_create(SUBQ_SKETCH_TENSOR, 4, 8, 0, 1, 0, &ps), SUBQ_ERR_ARG,
            "must be >= 1, got 0");
}

/* Every rank generates the same sketch: features of a fixed vector agree bitwise. */
static void test_same_on_all_ranks_(void) {
  const subq_sketch_type_t types[] = {SUBQ_SKETCH_GAUSSIAN, SUBQ_SKETCH_SRHT, SUBQ_SKETCH_TENSOR};
  for (int k = 0; k < 3; k++) {
    subq_polysketch_t *ps = NULL;
    double x[10], f[16], fmin[16], fmax_[16];
    for (int i = 0; i < 10; i++) x[i] = subq_rng_gauss(5, 5, (uint64_t)i);
    CHECK_OK(subq_polysketch_create(types[k], 10, 16, 2, SEED, 3, &ps));
    CHECK_OK(subq_polysketch_features(ps, 1, x, 10, f, 16));
    MPI_Allreduce(f, fmin, 16, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(f, fmax_, 16, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    CHECK(memcmp(fmin, fmax_, sizeof fmin) == 0);
    subq_polysketch_destroy(&ps);
  }
}

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  test_fwht_();
  test_linear_(SUBQ_SKETCH_GAUSSIAN, 7, 5);
  test_linear_(SUBQ_SKETCH_SRHT, 12, 9); /* d padded to 16 */
  test_linear_(SUBQ_SKETCH_SRHT, 16, 4);
  test_linear_(SUBQ_SKETCH_COUNT, 9, 4);
  test_tensor_direct_(10, 12, 3);
  test_tensor_direct_(6, 7, 2); /* odd r */
  test_tensor_direct_(5, 8, 1);
  test_poly_formula_();
  test_bad_input_();
  test_same_on_all_ranks_();
  if (rank == 0) test_unbiased_all_(); /* statistics: rank 0 only, the rest is the same */
  CHECK_FINISH();
}
