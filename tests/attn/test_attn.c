/* Attention operators against dense O(n^2) references written plainly here (softmax,
 * exact polynomial with its own layer norm, polysketch with the same features), causal and
 * non-causal, fp64 (1e-10) and fp32 (1e-4 relative), tokens sharded unevenly over the ranks
 * (one rank empty at np = 3), block sizes that do not divide n; decode state = block
 * algorithm; polysketch -> exact polynomial attention as r grows; bad input. */
#include <stdlib.h>
#include <string.h>

#include "attn_ref.h"
#include "check.h"

typedef struct {
  int d, dv;
  size_t n;
  double *Q, *K, *V;
} data_t;

static void data_make_(data_t *x, size_t n, int d, int dv, uint64_t seed, double scale) {
  x->n = n;
  x->d = d;
  x->dv = dv;
  x->Q = malloc(sizeof(double) * (n * d + 1));
  x->K = malloc(sizeof(double) * (n * d + 1));
  x->V = malloc(sizeof(double) * (n * dv + 1));
  for (size_t i = 0; i < n * d; i++) {
    x->Q[i] = scale * subq_rng_gauss(seed, 0, i);
    x->K[i] = scale * (0.5 * subq_rng_gauss(seed, 1, i) + 0.5 * subq_rng_gauss(seed, 0, i));
  }
  for (size_t i = 0; i < n * dv; i++) x->V[i] = subq_rng_gauss(seed, 2, i);
}

static void data_free_(data_t *x) {
  free(x->Q);
  free(x->K);
  free(x->V);
}

/* This rank's token range.  cuts 0: uneven (np = 2: 0.73 n; np = 3: 0.4 n, 0.4 n, so rank
 * 1 is empty); cuts 1: short shards (np = 2: 0.3 n; np = 3: 0.3 n, 0.45 n), so a block of
 * the mixed variant can straddle two shard edges. */
static void shard_(size_t n, int cuts, size_t *t0, size_t *t1) {
  int rank, np;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &np);
  size_t cut[4] = {0, n, n, n};
  if (np == 2) cut[1] = (size_t)((cuts ? 0.3 : 0.73) * n);
  if (np == 3) {
    cut[1] = (size_t)((cuts ? 0.3 : 0.4) * n);
    cut[2] = (size_t)((cuts ? 0.45 : 0.4) * n);
  }
  *t0 = cut[rank];
  *t1 = cut[rank + 1];
}

static void ln_ref_(const double *x, int d, double *y) {
  double mu = 0, var = 0;
  for (int k = 0; k < d; k++) mu += x[k];
  mu /= d;
  for (int k = 0; k < d; k++) var += (x[k] - mu) * (x[k] - mu);
  var /= d;
  for (int k = 0; k < d; k++) y[k] = var > 0 ? (x[k] - mu) / sqrt(var) : 0;
}

static double dot_(const double *a, const double *b, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

enum { REF_SOFTMAX, REF_POLY, REF_SKETCH, REF_MIXED };

/* Dense reference for all n queries.  F: features phi(LN q), phi(LN k) (2n x r) for the
 * sketch kinds. */
static void reference_(const data_t *x, int kind, int causal, int p, int b, const double *FQ,
                       const double *FK, int r, double *O) {
  const int d = x->d, dv = x->dv;
  double *qn = malloc(sizeof(double) * d), *kn = malloc(sizeof(double) * d);
  double *w = malloc(sizeof(double) * (x->n + 1));
  for (size_t i = 0; i < x->n; i++) {
    size_t last = causal ? i + 1 : x->n;
    ln_ref_(x->Q + i * d, d, qn);
    double mx = -INFINITY;
    for (size_t j = 0; j < last; j++) {
      ln_ref_(x->K + j * d, d, kn);
      if (kind == REF_SOFTMAX) {
        w[j] = dot_(x->Q + i * d, x->K + j * d, d) / sqrt((double)d);
        mx = fmax(mx, w[j]);
      } else if (kind == REF_POLY || (kind == REF_MIXED && i / b == j / b)) {
        w[j] = pow(dot_(qn, kn, d), p);
      } else {
        w[j] = pow(dot_(FQ + i * r, FK + j * r, r), 2);
      }
    }
    ref_attn_row(w, last, kind == REF_SOFTMAX, mx, x->V, dv, O + i * dv);
  }
  free(qn);
  free(kn);
  free(w);
}

static double rel_err_(const double *A, const double *B, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; i++) {
    num += (A[i] - B[i]) * (A[i] - B[i]);
    den += B[i] * B[i];
  }
  return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* Max error of this rank's rows vs the reference, relative to max |reference|. */
static double max_err_(const double *O, const double *ref, size_t t0, size_t t1, int dv) {
  double e = 0, m = 1e-300;
  for (size_t i = 0; i < t1 * dv; i++) m = fmax(m, fabs(ref[i]));
  for (size_t i = t0 * dv; i < t1 * dv; i++) e = fmax(e, fabs(O[i - t0 * dv] - ref[i]));
  double g = 0;
  e /= m;
  MPI_Allreduce(&e, &g, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return g;
}

static subq_attn_t *make_(subq_attn_type_t t, int d, int dv, int causal, int p, int b,
                          subq_sketch_type_t sk, int r, int mixed) {
  subq_attn_t *a = NULL;
  CHECK_OK(subq_attn_create(MPI_COMM_WORLD, t, d, dv, &a));
  CHECK_OK(subq_attn_set_causal(a, causal));
  CHECK_OK(subq_attn_set_block(a, b));
  if (t != SUBQ_ATTN_SOFTMAX) CHECK_OK(subq_attn_set_degree(a, p));
  if (t == SUBQ_ATTN_POLYSKETCH) {
    CHECK_OK(subq_attn_set_sketch(a, sk, r, 77));
    CHECK_OK(subq_attn_set_mixed(a, mixed));
  }
  CHECK_OK(subq_attn_setup(a));
  return a;
}

/* Features of the reference: the library's phi on the test's own layer norm. */
static void features_(const data_t *x, subq_sketch_type_t sk, int r, int p, double *FQ,
                      double *FK) {
  subq_polysketch_t *ps = NULL;
  double *tmp = malloc(sizeof(double) * (x->n * x->d + 1));
  CHECK_OK(subq_polysketch_create(sk, x->d, r, p / 2, 77, 0, &ps));
  for (size_t i = 0; i < x->n; i++) ln_ref_(x->Q + i * x->d, x->d, tmp + i * x->d);
  CHECK_OK(subq_polysketch_features(ps, x->n, tmp, x->d, FQ, r));
  for (size_t i = 0; i < x->n; i++) ln_ref_(x->K + i * x->d, x->d, tmp + i * x->d);
  CHECK_OK(subq_polysketch_features(ps, x->n, tmp, x->d, FK, r));
  subq_polysketch_destroy(&ps);
  free(tmp);
}

static void run_case_cuts_(subq_attn_type_t t, int causal, int p, int b, subq_sketch_type_t sk,
                           int r, int mixed, size_t n, int cuts) {
  const int d = 8, dv = 5;
  data_t x;
  data_make_(&x, n, d, dv, 1234 + n, 1.0);
  double *FQ = malloc(sizeof(double) * (n * r + 1)), *FK = malloc(sizeof(double) * (n * r + 1));
  double *ref = malloc(sizeof(double) * (n * dv + 1));
  int kind = t == SUBQ_ATTN_SOFTMAX ? REF_SOFTMAX : t == SUBQ_ATTN_POLY ? REF_POLY
             : mixed ? REF_MIXED : REF_SKETCH;
  if (t == SUBQ_ATTN_POLYSKETCH) features_(&x, sk, r, p, FQ, FK);
  reference_(&x, kind, causal, p, b, FQ, FK, r, ref);
  size_t t0, t1;
  shard_(n, cuts, &t0, &t1);
  const size_t nl = t1 - t0;
  subq_attn_t *a = make_(t, d, dv, causal, p, b, sk, r, mixed);
  double *O = malloc(sizeof(double) * (nl * dv + 1));
  float *Qf = malloc(sizeof(float) * (nl * d + 1)), *Kf = malloc(sizeof(float) * (nl * d + 1)),
        *Vf = malloc(sizeof(float) * (nl * dv + 1)), *Of = malloc(sizeof(float) * (nl * dv + 1));
  for (size_t i = 0; i < nl * d; i++) {
    Qf[i] = (float)x.Q[t0 * d + i];
    Kf[i] = (float)x.K[t0 * d + i];
  }
  for (size_t i = 0; i < nl * dv; i++) Vf[i] = (float)x.V[t0 * dv + i];
  CHECK_OK(subq_attn_apply(a, nl, x.Q + t0 * d, x.K + t0 * d, x.V + t0 * dv, O));
  CHECK_OK(subq_attn_apply_f32(a, nl, Qf, Kf, Vf, Of));
  double e = max_err_(O, ref, t0, t1, dv);
  for (size_t i = 0; i < nl * dv; i++) O[i] = Of[i];
  double ef = max_err_(O, ref, t0, t1, dv);
  if (check_rank_() == 0)
    printf("  %-10s %-12s causal=%d p=%d b=%-3d r=%-3d mixed=%d n=%-4zu cuts=%d: err %.2e, "
           "fp32 %.2e\n",
           subq_attn_type_name(t), t == SUBQ_ATTN_POLYSKETCH ? subq_sketch_type_name(sk) : "-",
           causal, p, b, r, mixed, n, cuts, e, ef);
  CHECK(e <= 1e-10);
  CHECK(ef <= 1e-4);
  subq_attn_destroy(&a);
  free(O);
  free(Of);
  free(Qf);
  free(Kf);
  free(Vf);
  free(FQ);
  free(FK);
  free(ref);
  data_free_(&x);
}

static void run_case_(subq_attn_type_t t, int causal, int p, int b, subq_sketch_type_t sk,
                      int r, int mixed, size_t n) {
  run_case_cuts_(t, causal, p, b, sk, r, mixed, n, 0);
}

/* Polysketch vs exact polynomial attention: the relative error falls as r grows, roughly
 * like 1/sqrt(r) (attn.h); checked as err(r=128) < err(r=8) / 2 and err(r=128) < 0.5. */
static void test_convergence_(void) {
  const int d = 16, dv = 8, n = 160, rs[3] = {8, 32, 128};
  data_t x;
  data_make_(&x, n, d, dv, 99, 1.0);
  double *ref = malloc(sizeof(double) * n * dv), *O = malloc(sizeof(double) * n * dv);
  reference_(&x, REF_POLY, 1, 4, 0, NULL, NULL, 0, ref);
  const subq_sketch_type_t sks[2] = {SUBQ_SKETCH_GAUSSIAN, SUBQ_SKETCH_SRHT};
  for (int s = 0; s < 2; s++) {
    double err[3];
    for (int k = 0; k < 3; k++) {
      double acc = 0;
      for (int rep = 0; rep < 3; rep++) { /* average over 3 seeds */
        subq_attn_t *a = NULL;
        CHECK_OK(subq_attn_create(MPI_COMM_SELF, SUBQ_ATTN_POLYSKETCH, d, dv, &a));
        CHECK_OK(subq_attn_set_sketch(a, sks[s], rs[k], 500 + rep));
        CHECK_OK(subq_attn_set_block(a, 32));
        CHECK_OK(subq_attn_setup(a));
        CHECK_OK(subq_attn_apply(a, n, x.Q, x.K, x.V, O));
        acc += rel_err_(O, ref, (size_t)n * dv) / 3;
        subq_attn_destroy(&a);
      }
      err[k] = acc;
    }
    if (check_rank_() == 0)
      printf("  convergence %s: rel err r=8 %.3f, r=32 %.3f, r=128 %.3f\n",
             subq_sketch_type_name(sks[s]), err[0], err[1], err[2]);
    CHECK(err[2] < err[0] / 2);
    CHECK(err[1] < err[0]);
    CHECK(err[2] < 0.5);
  }
  free(ref);
  free(O);
  data_free_(&x);
}

/* Decode state, one token at a time = block algorithm. */
static void test_decode_(void) {
  const int d = 8, dv = 4, n = 37;
  data_t x;
  data_make_(&x, n, d, dv, 5, 1.0);
  subq_attn_t *a = NULL;
  CHECK_OK(subq_attn_create(MPI_COMM_SELF, SUBQ_ATTN_POLYSKETCH, d, dv, &a));
  CHECK_OK(subq_attn_set_sketch(a, SUBQ_SKETCH_SRHT, 16, 3));
  CHECK_OK(subq_attn_set_block(a, 8));
  CHECK_OK(subq_attn_setup(a));
  double O[37 * 4], o[4], e = 0, m = 0;
  CHECK_OK(subq_attn_apply(a, n, x.Q, x.K, x.V, O));
  CHECK_OK(subq_attn_decode_reset(a));
  for (int i = 0; i < n; i++) {
    CHECK_OK(subq_attn_decode_step(a, x.Q + i * d, x.K + i * d, x.V + i * dv, o));
    for (int c = 0; c < dv; c++) {
      e = fmax(e, fabs(o[c] - O[i * dv + c]));
      m = fmax(m, fabs(O[i * dv + c]));
    }
  }
  CHECK(e <= 1e-10 * m);
  subq_attn_destroy(&a);
  data_free_(&x);
}

/* Huge-norm inputs: layer norm first, so no Inf/NaN, and the same result as at scale 1
 * (poly and polysketch are scale-invariant in q and k). */
static void test_huge_(void) {
  const int d = 8, dv = 3, n = 20;
  data_t x, y;
  data_make_(&x, n, d, dv, 8, 1.0);
  data_make_(&y, n, d, dv, 8, 1e300);
  memcpy(y.V, x.V, sizeof(double) * n * dv);
  const subq_attn_type_t ts[2] = {SUBQ_ATTN_POLY, SUBQ_ATTN_POLYSKETCH};
  for (int k = 0; k < 2; k++) {
    subq_attn_t *a = NULL;
    double O1[20 * 3], O2[20 * 3];
    CHECK_OK(subq_attn_create(MPI_COMM_SELF, ts[k], d, dv, &a));
    CHECK_OK(subq_attn_setup(a));
    CHECK_OK(subq_attn_apply(a, n, x.Q, x.K, x.V, O1));
    CHECK_OK(subq_attn_apply(a, n, y.Q, y.K, y.V, O2));
    int finite = 1;
    for (int i = 0; i < n * dv; i++) finite &= isfinite(O2[i]) != 0;
    CHECK(finite);
    CHECK(rel_err_(O2, O1, (size_t)n * dv) < 1e-12);
    subq_attn_destroy(&a);
  }
  data_free_(&x);
  data_free_(&y);
}

static void test_bad_input_(void) {
  subq_attn_t *a = NULL;
  CHECK_ERR(subq_attn_create(MPI_COMM_WORLD, SUBQ_ATTN_POLY, 0, 4, &a), SUBQ_ERR_ARG, "got 0");
  CHECK_OK(subq_attn_create(MPI_COMM_WORLD, SUBQ_ATTN_POLYSKETCH, 8, 4, &a));
  CHECK_ERR(subq_attn_set_degree(a, 3), SUBQ_ERR_ARG, "must be even and in 2..64, got 3");
  CHECK_ERR(subq_attn_set_sketch(a, SUBQ_SKETCH_GAUSSIAN, 0, 1), SUBQ_ERR_ARG, "got 0");
  CHECK_ERR(subq_attn_set_sketch(a, SUBQ_SKETCH_COUNT, 8, 1), SUBQ_ERR_ARG, "countsketch");
  CHECK_ERR(subq_attn_set_block(a, 0), SUBQ_ERR_ARG, "block size must be in 1..2^20, got 0");
  double q[8] = {0};
  CHECK_ERR(subq_attn_apply(a, 1, q, q, q, q), SUBQ_ERR_ARG, "not set up");
  CHECK_OK(subq_attn_set_degree(a, 6));
  CHECK_ERR(subq_attn_setup(a), SUBQ_ERR_ARG, "got q = 3");
  subq_attn_destroy(&a);
  /* NaN on the last rank only: every rank returns SUBQ_ERR_NUMERIC. */
  int rank, np;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &np);
  const subq_attn_type_t ts[3] = {SUBQ_ATTN_SOFTMAX, SUBQ_ATTN_POLY, SUBQ_ATTN_POLYSKETCH};
  for (int k = 0; k < 3; k++) {
    double Q[4 * 8], V[4 * 4], O[4 * 4];
    for (int i = 0; i < 32; i++) Q[i] = i % 5;
    for (int i = 0; i < 16; i++) V[i] = 1;
    if (rank == np - 1) Q[9] = NAN;
    CHECK_OK(subq_attn_create(MPI_COMM_WORLD, ts[k], 8, 4, &a));
    CHECK_OK(subq_attn_setup(a));
    CHECK_ERR(subq_attn_apply(a, 4, Q, Q, V, O), SUBQ_ERR_NUMERIC, "NaN/Inf");
    subq_attn_destroy(&a);
  }
}

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  for (int causal = 0; causal <= 1; causal++) {
    run_case_(SUBQ_ATTN_SOFTMAX, causal, 0, 16, 0, 0, 0, 50);
    run_case_(SUBQ_ATTN_SOFTMAX, causal, 0, 7, 0, 0, 0, 1);
    run_case_(SUBQ_ATTN_POLY, causal, 4, 16, 0, 0, 0, 50);
    run_case_(SUBQ_ATTN_POLY, causal, 2, 64, 0, 0, 0, 50);
    run_case_(SUBQ_ATTN_POLYSKETCH, causal, 4, 16, SUBQ_SKETCH_GAUSSIAN, 8, 0, 50);
    run_case_(SUBQ_ATTN_POLYSKETCH, causal, 4, 7, SUBQ_SKETCH_SRHT, 6, 0, 50);
    run_case_(SUBQ_ATTN_POLYSKETCH, causal, 6, 16, SUBQ_SKETCH_TENSOR, 8, 0, 50);
    run_case_(SUBQ_ATTN_POLYSKETCH, causal, 2, 5, SUBQ_SKETCH_GAUSSIAN, 4, 0, 23);
  }
  /* Mixed variant, shard edges inside blocks (np > 1): b = 10 and 16 with cuts 0 (np = 2:
   * edge at 36; np = 3: edge at 20 behind an empty rank, which forwards the halo); b = 32
   * with cuts 1 (np = 3: edges at 15 and 22, the first block spans three ranks). */
  run_case_(SUBQ_ATTN_POLYSKETCH, 1, 4, 10, SUBQ_SKETCH_GAUSSIAN, 8, 1, 50);
  run_case_(SUBQ_ATTN_POLYSKETCH, 1, 4, 16, SUBQ_SKETCH_SRHT, 8, 1, 50);
  run_case_cuts_(SUBQ_ATTN_POLYSKETCH, 1, 4, 32, SUBQ_SKETCH_GAUSSIAN, 8, 1, 50, 1);
  run_case_cuts_(SUBQ_ATTN_POLYSKETCH, 1, 6, 7, SUBQ_SKETCH_TENSOR, 8, 1, 50, 1);
  run_case_cuts_(SUBQ_ATTN_POLYSKETCH, 1, 4, 16, SUBQ_SKETCH_GAUSSIAN, 8, 0, 50, 1);
  run_case_(SUBQ_ATTN_POLYSKETCH, 1, 4, 4, SUBQ_SKETCH_GAUSSIAN, 8, 0, 1);   /* n = 1 */
  run_case_(SUBQ_ATTN_POLY, 1, 4, 4, 0, 0, 0, 0);                            /* n = 0 */
  test_bad_input_();
  if (check_rank_() == 0) {
    test_decode_();
    test_huge_();
    test_convergence_();
  }
  CHECK_FINISH();
}
