/* PolarQuant's two from-codes implementations: the AVX-512 kernels over 16-row groups
 * (polar_avx512.c) and the portable row-at-a-time path (polar_codes.c).  For layouts the
 * kernels take (1/2/4 bits per level), row counts that are and are not multiples of 16
 * (tails, odd n, n < 16), a residual fp16 window, and 1..6 queries (the kernels take up to
 * 4 at a time): scores and attention outputs of the two paths agree with each other and
 * with dequantize-then-compute in double.  Also: the grouped layout stores exactly the
 * bits of the row-major one, and decodes every row to the same floats as a tensor of that
 * row alone (which is all tail, row-major).  On a CPU without AVX-512 the portable path is
 * still checked against the references and the SIMD comparison is reported as skipped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "quant/quant_impl.h"
#include "quant/quant_test_util.h"

enum { NQMAX = 6 };

static subq_quant_t *make_(int d, int L, const int *bits, size_t residual) {
  subq_quant_t *q = NULL;
  CHECK_OK(subq_quant_create("polarquant", d, &q));
  CHECK_OK(subq_quant_set_levels(q, L));
  CHECK_OK(subq_quant_set_bits(q, bits, L));
  CHECK_OK(subq_quant_set_residual(q, residual));
  CHECK_OK(subq_quant_setup(q, 0, NULL));
  return q;
}

/* max |a - b| / max |ref-magnitude| over m values. */
static double rel_(size_t m, const float *a, const double *b, const double *mag) {
  double e = 0, s = 0;
  for (size_t i = 0; i < m; i++) {
    e = fmax(e, fabs(a[i] - b[i]));
    s = fmax(s, mag[i]);
  }
  return s > 0 ? e / s : e;
}

/* One case: n rows of dim d, nq queries; simd = 1 also runs the AVX-512 path. */
static void case_(int d, int L, const int *bits, size_t n, size_t residual, size_t nq,
                  int simd) {
  subq_quant_t *qk = make_(d, L, bits, residual), *qv = make_(d, L, bits, residual);
  float *K = gauss_rows_stream_(n, d, 5, 1, 0), *V = gauss_rows_stream_(n, d, 5, 2, 0);
  float *Q = gauss_rows_stream_(nq, d, 5, 3, 0);
  float *Kh = malloc(n * d * sizeof(float)), *Vh = malloc(n * d * sizeof(float));
  float *S = malloc(n * nq * sizeof(float)), O[NQMAX * 256];
  double *Sref = malloc(n * nq * sizeof(double)), *Smag = malloc(n * nq * sizeof(double));
  double Oref[NQMAX * 256], Omag[NQMAX * 256];
  subq_qtensor_t *Kt = NULL, *Vt = NULL;
  CHECK_OK(subq_quant_encode(qk, n, K, &Kt));
  CHECK_OK(subq_quant_encode(qv, n, V, &Vt));
  CHECK_OK(subq_quant_decode(qk, Kt, Kh));
  CHECK_OK(subq_quant_decode(qv, Vt, Vh));
  const float scale = 1.0f / sqrtf((float)d);
  /* References in double from the dequantized cache. */
  for (size_t i = 0; i < nq; i++) {
    double mx = -INFINITY, l = 0;
    for (size_t j = 0; j < n; j++) {
      double s = 0, a = 0;
      for (int c = 0; c < d; c++) {
        s += (double)Q[i * d + c] * Kh[j * d + c];
        a += fabs((double)Q[i * d + c] * Kh[j * d + c]);
      }
      Sref[i * n + j] = s;
      Smag[i * n + j] = a;
      mx = fmax(mx, scale * s);
    }
    for (int c = 0; c < d; c++) Oref[i * d + c] = 0;
    for (size_t j = 0; j < n; j++) {
      double w = exp(scale * Sref[i * n + j] - mx);
      l += w;
      for (int c = 0; c < d; c++) Oref[i * d + c] += w * Vh[j * d + c];
    }
    double on = 0;
    for (int c = 0; c < d; c++) on = fmax(on, fabs(Oref[i * d + c] /= l));
    for (int c = 0; c < d; c++) Omag[i * d + c] = on;
  }
  float *Sp = malloc(n * nq * sizeof(float)), Op[NQMAX * 256];
  for (int path = simd; path >= 0; path--) { /* 1: AVX-512, 0: portable */
    qk->simd = qv->simd = path;
    CHECK_OK(subq_quant_scores(qk, Kt, nq, Q, S));
    CHECK_OK(subq_quant_attention(qk, Kt, qv, Vt, nq, Q, scale, O, MPI_COMM_SELF));
    double es = rel_(n * nq, S, Sref, Smag), eo = rel_(nq * (size_t)d, O, Oref, Omag);
    if (!(es <= 1e-5 && eo <= 1e-5))
      fprintf(stderr, "d=%d L=%d bits=%d,%d n=%zu residual=%zu nq=%zu path=%s: score err %.2e, "
              "output err %.2e\n", d, L, bits[0], L > 1 ? bits[1] : 0, n, residual, nq,
              path ? "avx512" : "portable", es, eo);
    CHECK(es <= 1e-5); /* float rounding vs double */
    CHECK(eo <= 1e-5);
    if (path) { /* keep the AVX-512 results to compare with the portable ones */
      memcpy(Sp, S, n * nq * sizeof(float));
      memcpy(Op, O, nq * (size_t)d * sizeof(float));
    } else if (simd) {
      double ds = 0, dsm = 0, dout = 0, dom = 0;
      for (size_t k = 0; k < n * nq; k++) ds = fmax(ds, fabs(Sp[k] - S[k])), dsm = fmax(dsm, Smag[k]);
      for (size_t k = 0; k < nq * (size_t)d; k++) dout = fmax(dout, fabs(Op[k] - O[k])), dom = fmax(dom, Omag[k]);
      CHECK(ds <= 1e-5 * dsm); /* same arithmetic, other summation order */
      CHECK(dout <= 1e-5 * dom);
    }
  }
  /* Layout: exact size, and every row decodes as it does alone (all-tail, row-major). */
  const size_t nq_rows = n - (n < residual ? n : residual);
  CHECK(subq_qtensor_bits(Kt) == (double)nq_rows * (16.0 * d / (1 << L) + (double)subq_polar_bpb_(qk) * d / (1 << L)) +
                                   16.0 * (double)(n - nq_rows) * d);
  int same = 1;
  for (size_t i = 0; i < nq_rows; i += 7) {
    subq_qtensor_t *t1 = NULL;
    float x[256];
    CHECK_OK(subq_quant_encode(qk, 1, K + i * d, &t1));
    CHECK_OK(subq_quant_decode(qk, t1, x));
    if (t1->nq == 1) same &= memcmp(x, Kh + i * d, (size_t)d * sizeof(float)) == 0;
    subq_qtensor_destroy(&t1);
  }
  CHECK(same);
  subq_qtensor_destroy(&Kt);
  subq_qtensor_destroy(&Vt);
  subq_quant_destroy(&qk);
  subq_quant_destroy(&qv);
  free(K), free(V), free(Q), free(Kh), free(Vh), free(S), free(Sp), free(Sref), free(Smag);
}

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  const int simd = subq_polar_avx512_ok_();
  if (!simd) printf("SKIP: this CPU has no AVX-512; only the portable path is checked\n");
  static const int dflt[4] = {4, 2, 2, 2}, mix[4] = {2, 1, 4, 2}, l3[3] = {4, 2, 1},
                   l5[5] = {4, 2, 2, 2, 1};
  static const size_t ns[] = {1, 15, 16, 17, 33, 301};
  for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
    case_(64, 4, dflt, ns[k], 0, 1, simd);
    case_(128, 4, dflt, ns[k], 0, 5, simd);
  }
  case_(64, 4, dflt, 301, 13, 3, simd); /* residual window: 288 quantized rows + 13 fp16 */
  case_(64, 4, dflt, 40, 7, 6, simd);   /* 33 quantized rows: 2 groups + a tail of 1 */
  case_(64, 4, mix, 77, 0, 2, simd);    /* 1-, 2-, 4-bit fields, other codebook sizes */
  case_(32, 3, l3, 50, 0, 4, simd);     /* L = 3 */
  case_(64, 5, l5, 45, 5, 1, simd);     /* L = 5 */
  CHECK_FINISH();
}
