/* The per-thread arithmetic of the PolarQuant kernels (src/cuda/quant_dev.h, the code that
 * polar_encode / polar_scores / polar_decode / hadamard_rows of src/cuda/quant.cu run on
 * each thread) run on the CPU, thread by thread in order, against the CPU quantizer
 * (src/quant) on the same rows.  Runs in every build, with or without CUDA or a GPU: it
 * checks the device code's bit positions, packing across 32-bit words, level order,
 * codebook search, table indexing and tree folding, not the CUDA runtime (launches,
 * shared memory: tests/cuda/test_cuda_quant.c on a GPU).
 *
 * Expected: with the host's atan2/hypot (the CPU quantizer's) the emulated codes and fp16
 * radii equal the CPU encoder's bit for bit, the emulated Hadamard rows equal
 * subq_quant_rotate's bit for bit, the emulated decode equals the CPU decode bit for bit
 * (same float operations), and the emulated scores agree with subq_quant_scores within
 * 1e-5 relative (float sums in another order: the CPU may take its table fast path). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cuda/quant_dev.h"
#include "quant/quant_impl.h"

typedef struct {
  const char *what;
  int d, levels, bits[8], precond;
  size_t n;
} case_t;

static void run_(const case_t *c) {
  const int d = c->d;
  const size_t n = c->n, nq = 3;
  subq_quant_t *q = NULL;
  subq_qtensor_t *t = NULL;
  CHECK_OK(subq_quant_create("polarquant", d, &q));
  CHECK_OK(subq_quant_set_levels(q, c->levels));
  CHECK_OK(subq_quant_set_bits(q, c->bits, c->levels));
  CHECK_OK(subq_quant_set_precondition(q, c->precond));
  CHECK_OK(subq_quant_setup(q, 0, NULL));
  float *X = malloc(n * d * sizeof(float)), *Y = malloc(n * d * sizeof(float));
  float *Z = malloc(n * d * sizeof(float)), *Xd = malloc(n * d * sizeof(float));
  float *Xe = malloc(n * d * sizeof(float)), *Q = malloc(nq * d * sizeof(float));
  float *S = malloc(nq * n * sizeof(float)), *Se = malloc(nq * n * sizeof(float));
  for (size_t i = 0; i < n * (size_t)d; i++) X[i] = subq_rng_gaussf(3, 1, i) * (i % d < 4 ? 4.0f : 1.0f);
  for (size_t i = 0; i < nq * (size_t)d; i++) Q[i] = subq_rng_gaussf(3, 2, i);
  CHECK_OK(subq_quant_encode(q, n, X, &t));
  if (!t) goto done;
  const subq_qd_layout_t y = subq_qd_layout(d, c->levels, c->bits);
  CHECK(y.bpb == subq_polar_bpb_(q));
  /* hadamard_rows: stage by stage, butterflies in thread order (independent in a stage). */
  memcpy(Y, X, n * d * sizeof(float));
  CHECK_OK(subq_quant_rotate(q, n, Y, 0));
  if (c->precond == SUBQ_PRECOND_HADAMARD) {
    const float s = 1.0f / sqrtf((float)d);
    for (size_t i = 0; i < n; i++) {
      float *x = Z + i * d;
      for (int j = 0; j < d; j++) x[j] = X[i * d + j] * q->signs[j];
      for (int h = 1; h < d; h *= 2)
        for (int b = 0; b < d / 2; b++) subq_qd_butterfly(x, h, b);
      for (int j = 0; j < d; j++) x[j] *= s;
    }
    CHECK(memcmp(Z, Y, n * d * sizeof(float)) == 0);
  }
  /* polar_encode: one "thread" per block, codes OR-ed into 32-bit words. */
  const size_t nblk = n * (size_t)y.nb, nbits = nblk * (size_t)y.bpb, nw = (nbits + 31) / 32 + 2;
  unsigned *words = calloc(nw, sizeof(unsigned));
  uint16_t *rad = calloc(nblk, sizeof(uint16_t));
  double *cb = malloc((size_t)y.ncb * sizeof(double));
  float *cs = malloc((size_t)y.ncb * sizeof(float)), *sn = malloc((size_t)y.ncb * sizeof(float));
  for (int l = 0; l < c->levels; l++) {
    CHECK(q->cbk[l] == y.cbk[l]);
    memcpy(cb + y.cboff[l], q->cb[l], (size_t)y.cbk[l] * sizeof(double));
    memcpy(cs + y.cboff[l], q->cbcos[l], (size_t)y.cbk[l] * sizeof(float));
    memcpy(sn + y.cboff[l], q->cbsin[l], (size_t)y.cbk[l] * sizeof(float));
  }
  double r[SUBQ_POLAR_MAX_BLOCK / 2];
  for (size_t g = 0; g < nblk; g++) {
    const float *xb = Y + (g / y.nb) * d + (g % y.nb) * y.D;
    rad[g] = subq_f2h_((float)subq_qd_encode_block(&y, xb, g * y.bpb, cb, words, r));
  }
  /* the device keeps every row in the row-major layout; t's host copy is grouped by 16
   * rows (quant_impl.h): compare with t's row-major copy */
  uint8_t *rmc = NULL;
  uint16_t *rmh = NULL;
  CHECK_OK(subq_polar_cuda_rowmajor_(q, t, &rmc, &rmh));
  size_t bad_bytes = 0;
  for (size_t b = 0; rmc && b < (nbits + 7) / 8; b++)
    bad_bytes += ((const unsigned char *)words)[b] != rmc[b];
  if (bad_bytes) fprintf(stderr, "%s: %zu code bytes differ\n", c->what, bad_bytes);
  CHECK(rmc && bad_bytes == 0);
  CHECK(rmh && memcmp(rad, rmh, nblk * sizeof(uint16_t)) == 0);
  subq_free(&rmc);
  subq_free(&rmh);
  /* polar_decode: one thread per block, from the emulated codes. */
  unsigned cc[SUBQ_POLAR_MAX_BLOCK];
  float rr[SUBQ_POLAR_MAX_BLOCK / 2], nr[SUBQ_POLAR_MAX_BLOCK / 2], sc[SUBQ_POLAR_MAX_BLOCK / 2];
  for (size_t g = 0; g < nblk; g++)
    subq_qd_decode_block(&y, (const unsigned char *)words, g * y.bpb, subq_h2f_(rad[g]), cs, sn,
                         Xe + (g / y.nb) * d + (g % y.nb) * y.D, cc, rr, nr);
  CHECK_OK(q->ops->decode(q, t, Xd)); /* the CPU decode, preconditioned coordinates */
  CHECK(memcmp(Xe, Xd, n * d * sizeof(float)) == 0);
  /* polar_scores: the query's table and the upper-level cos/sin as in shared memory. */
  float *Qr = malloc(nq * d * sizeof(float));
  memcpy(Qr, Q, nq * d * sizeof(float));
  CHECK_OK(subq_quant_rotate(q, nq, Qr, 0));
  const int k1 = y.cbk[0];
  float *T = malloc((size_t)(d / 2) * k1 * sizeof(float)), *C = cs + k1, *Sn = sn + k1;
  for (size_t qi = 0; qi < nq; qi++) {
    const float *qv = Qr + qi * d;
    for (int e = 0; e < (d / 2) * k1; e++)
      T[e] = qv[2 * (e / k1)] * cs[e % k1] + qv[2 * (e / k1) + 1] * sn[e % k1];
    for (size_t i = 0; i < n; i++) {
      float acc = 0;
      for (int b = 0; b < y.nb; b++) {
        const size_t g = i * y.nb + b;
        acc += subq_h2f_(rad[g]) * subq_qd_score_block(&y, T + (size_t)b * (y.D / 2) * k1, C, Sn,
                                                       (const unsigned char *)words, g * y.bpb, sc);
      }
      Se[qi * n + i] = acc;
    }
  }
  CHECK_OK(subq_quant_scores(q, t, nq, Q, S));
  double e2 = 0, s2 = 0;
  for (size_t i = 0; i < nq * n; i++) e2 += ((double)Se[i] - S[i]) * ((double)Se[i] - S[i]), s2 += (double)S[i] * S[i];
  const double rel = sqrt(e2 / s2);
  printf("  %-34s n=%zu bpb=%d: codes, radii, decode identical; scores rel err %.2e\n", c->what, n,
         y.bpb, rel);
  CHECK(rel <= 1e-5);
  free(Qr), free(T), free(words), free(rad), free(cb), free(cs), free(sn);
done:
  subq_qtensor_destroy(&t);
  subq_quant_destroy(&q);
  free(X), free(Y), free(Z), free(Xd), free(Xe), free(Q), free(S), free(Se);
}

int main(int argc, char **argv) {
  if (subq_init(&argc, &argv)) return 1;
  const case_t cases[] = {
      {"d=128 L=4 4,2,2,2 hadamard", 128, 4, {4, 2, 2, 2}, SUBQ_PRECOND_HADAMARD, 1001},
      {"d=64 L=4 4,2,2,2 dense", 64, 4, {4, 2, 2, 2}, SUBQ_PRECOND_DENSE, 777},
      {"d=64 L=3 3,3,2 none", 64, 3, {3, 3, 2}, SUBQ_PRECOND_NONE, 513},
      {"d=64 L=5 4,3,2,2,1 hadamard", 64, 5, {4, 3, 2, 2, 1}, SUBQ_PRECOND_HADAMARD, 300},
      {"d=32 L=2 5,3 (bpb 13, odd offsets)", 32, 2, {5, 3}, SUBQ_PRECOND_HADAMARD, 301},
      {"d=256 L=8 1..8 bits, one block", 256, 8, {7, 6, 5, 4, 3, 2, 2, 1}, SUBQ_PRECOND_NONE, 40},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_(&cases[i]);
  CHECK_FINISH();
}
