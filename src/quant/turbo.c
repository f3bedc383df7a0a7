/* Rotation + scalar quantizers: the peers that share PolarQuant's preconditioner.
 *   turbo  TurboQuant, MSE variant (Zandieh, Daliri, Hadian, Mirrokni 2025, arXiv
 *          2504.19874, Alg. 1): after a random rotation each coordinate of x/|x| follows
 *          f(u) ∝ (1 - u^2)^((d-3)/2) on [-1, 1] (Lemma 1); every coordinate is quantized
 *          with b bits against the Lloyd-Max codebook of f, and |x| is kept in fp16.
 *          Reported distortion E|x - x^|^2 for unit x: ~0.36, 0.117, 0.03, 0.009 at b = 1..4.
 *   q4_0   llama.cpp's q4_0 (ggml-quants.c, quantize_row_q4_0_ref): blocks of 32, scale
 *          s = max/-8 with max the entry of largest magnitude, code = min(15, (int)(x/s +
 *          8.5)), x^ = (code - 8) s, s in fp16: 4.5 bits/coordinate; here after a
 *          randomized Hadamard rotation (as in QuaRot-style pipelines). */
#include "quant/quant_impl.h"

static double beta_density_(double u, void *ctx) {
  double e = (*(int *)ctx - 3) / 2.0, v = 1 - u * u;
  return v <= 0 ? 0.0 : pow(v, e);
}

static int turbo_setup_(subq_quant_t *q, size_t n, const float *X) {
  (void)n;
  (void)X;
  SUBQ_CHECK(q->dim >= 3, SUBQ_ERR_ARG, "turbo needs dim >= 3, got %d", q->dim);
  const int k = 1 << q->bits[0];
  SUBQ_CALL(SUBQ_ALLOC(q->cb[0], k));
  q->cbk[0] = k;
  int d = q->dim;
  SUBQ_CALL(subq_lloyd_max(beta_density_, &d, -1.0, 1.0, k, q->cb[0], NULL));
  return SUBQ_OK;
}

static int turbo_encode_(const subq_quant_t *q, size_t n, const float *X, subq_qtensor_t *t) {
  const size_t d = (size_t)q->dim;
  const int b = q->bits[0], k = q->cbk[0];
  size_t nbits = 0;
  SUBQ_CALL(subq_size_mul(n * d, (size_t)b, &nbits));
  SUBQ_CALL(subq_qtensor_alloc_(t, nbits, n));
  for (size_t i = 0; i < n; i++) {
    double nrm = 0;
    for (size_t c = 0; c < d; c++) nrm += (double)X[i * d + c] * X[i * d + c];
    nrm = sqrt(nrm);
    t->half[i] = subq_f2h_((float)nrm);
    for (size_t c = 0; c < d; c++) {
      double u = nrm > 0 ? X[i * d + c] / nrm : 0.0;
      subq_bits_put_(t->code, (i * d + c) * (size_t)b, (uint32_t)subq_nearest_(q->cb[0], k, u), b);
    }
  }
  return SUBQ_OK;
}

static int turbo_decode_(const subq_quant_t *q, const subq_qtensor_t *t, float *X) {
  const size_t d = (size_t)q->dim;
  const int b = q->bits[0];
  for (size_t i = 0; i < t->nq; i++) {
    float r = subq_h2f_(t->half[i]);
    for (size_t c = 0; c < d; c++)
      X[i * d + c] = r * (float)q->cb[0][subq_bits_get_(t->code, (i * d + c) * (size_t)b, b)];
  }
  return SUBQ_OK;
}

const subq_quant_ops_t subq_quant_ops_turbo = {"turbo", SUBQ_PRECOND_HADAMARD, turbo_setup_,
                                               turbo_encode_, turbo_decode_, NULL, NULL};

enum { QK = 32 };

static int q4_setup_(subq_quant_t *q, size_t n, const float *X) {
  (void)n;
  (void)X;
  SUBQ_CHECK(q->dim % QK == 0, SUBQ_ERR_ARG, "q4_0 needs dim a multiple of %d, got %d", QK,
             q->dim);
  return SUBQ_OK;
}

static int q4_encode_(const subq_quant_t *q, size_t n, const float *X, subq_qtensor_t *t) {
  const size_t nblk = n * (size_t)(q->dim / QK);
  SUBQ_CALL(subq_qtensor_alloc_(t, nblk * QK * 4, nblk));
  for (size_t b = 0; b < nblk; b++) {
    const float *x = X + b * QK;
    float amax = 0, max = 0;
    for (int j = 0; j < QK; j++)
      if (fabsf(x[j]) > amax) {
        amax = fabsf(x[j]);
        max = x[j];
      }
    const float s = max / -8, id = s != 0 ? 1.0f / s : 0.0f;
    t->half[b] = subq_f2h_(s);
    for (int j = 0; j < QK; j++) {
      int v = (int)(x[j] * id + 8.5f);
      v = v > 15 ? 15 : v < 0 ? 0 : v;
      subq_bits_put_(t->code, (b * QK + (size_t)j) * 4, (uint32_t)v, 4);
    }
  }
  return SUBQ_OK;
}

static int q4_decode_(const subq_quant_t *q, const subq_qtensor_t *t, float *X) {
  const size_t nblk = t->nq * (size_t)(q->dim / QK);
  for (size_t b = 0; b < nblk; b++) {
    const float s = subq_h2f_(t->half[b]);
    for (int j = 0; j < QK; j++)
      X[b * QK + (size_t)j] = ((int)subq_bits_get_(t->code, (b * QK + (size_t)j) * 4, 4) - 8) * s;
  }
  return SUBQ_OK;
}

const subq_quant_ops_t subq_quant_ops_q4_0 = {"q4_0", SUBQ_PRECOND_HADAMARD, q4_setup_,
                                              q4_encode_, q4_decode_, NULL, NULL};
