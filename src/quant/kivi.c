/* KIVI (Liu, Yuan, Jin, Zhong, Xu, Braverman, Chen, Hu 2024, "KIVI: A Tuning-Free
 * Asymmetric 2bit Quantization for KV Cache", arXiv 2402.02750, Sec. 3.2): asymmetric
 * min/max quantization with b bits (default 2), keys per channel over groups of G tokens,
 * values per token over groups of G channels (G = 32).  Each group stores an fp16 scale
 * s = (max - min)/(2^b - 1) and an fp16 zero point z = min; x^ = z + s * code.  A trailing
 * partial group (keys: fewer than G tokens) is quantized as its own group.  The recent
 * window in fp16 is the generic residual (subq_quant_set_residual). */
#include "quant/quant_impl.h"

/* Group geometry: element (i, c) belongs to group gid; groups are listed row-major over
 * (token group, channel) for keys and (token, channel group) for values. */
static size_t ngroups_(const subq_quant_t *q, size_t n) {
  const size_t G = (size_t)q->group, d = (size_t)q->dim;
  return q->role == SUBQ_QUANT_KEYS ? (n + G - 1) / G * d : n * ((d + G - 1) / G);
}

/* Rows [i0, i1) and channels [c0, c1) of group g. */
static void group_box_(const subq_quant_t *q, size_t n, size_t g, size_t *i0, size_t *i1,
                       size_t *c0, size_t *c1) {
  const size_t G = (size_t)q->group, d = (size_t)q->dim;
  if (q->role == SUBQ_QUANT_KEYS) {
    *i0 = g / d * G;
    *i1 = *i0 + G < n ? *i0 + G : n;
    *c0 = g % d;
    *c1 = *c0 + 1;
  } else {
    size_t per = (d + G - 1) / G;
    *i0 = g / per;
    *i1 = *i0 + 1;
    *c0 = g % per * G;
    *c1 = *c0 + G < d ? *c0 + G : d;
  }
}

static int encode_(const subq_quant_t *q, size_t n, const float *X, subq_qtensor_t *t) {
  const size_t d = (size_t)q->dim, ng = ngroups_(q, n);
  const int b = q->bits[0];
  const float top = (float)((1 << b) - 1);
  size_t nbits = 0;
  SUBQ_CALL(subq_size_mul(n * d, (size_t)b, &nbits));
  SUBQ_CALL(subq_qtensor_alloc_(t, nbits, 2 * ng));
  for (size_t g = 0; g < ng; g++) {
    size_t i0, i1, c0, c1;
    group_box_(q, n, g, &i0, &i1, &c0, &c1);
    float mn = INFINITY, mx = -INFINITY;
    for (size_t i = i0; i < i1; i++)
      for (size_t c = c0; c < c1; c++) {
        mn = fminf(mn, X[i * d + c]);
        mx = fmaxf(mx, X[i * d + c]);
      }
    t->half[2 * g] = subq_f2h_((mx - mn) / top);
    t->half[2 * g + 1] = subq_f2h_(mn);
    const float s = subq_h2f_(t->half[2 * g]), z = subq_h2f_(t->half[2 * g + 1]);
    for (size_t i = i0; i < i1; i++)
      for (size_t c = c0; c < c1; c++) {
        float v = s > 0 ? rintf((X[i * d + c] - z) / s) : 0.0f;
        v = fminf(fmaxf(v, 0.0f), top);
        subq_bits_put_(t->code, (i * d + c) * (size_t)b, (uint32_t)v, b);
      }
  }
  return SUBQ_OK;
}

static int decode_(const subq_quant_t *q, const subq_qtensor_t *t, float *X) {
  const size_t d = (size_t)q->dim, ng = ngroups_(q, t->nq);
  const int b = q->bits[0];
  for (size_t g = 0; g < ng; g++) {
    size_t i0, i1, c0, c1;
    group_box_(q, t->nq, g, &i0, &i1, &c0, &c1);
    const float s = subq_h2f_(t->half[2 * g]), z = subq_h2f_(t->half[2 * g + 1]);
    for (size_t i = i0; i < i1; i++)
      for (size_t c = c0; c < c1; c++)
        X[i * d + c] = z + s * (float)subq_bits_get_(t->code, (i * d + c) * (size_t)b, b);
  }
  return SUBQ_OK;
}

const subq_quant_ops_t subq_quant_ops_kivi = {"kivi", SUBQ_PRECOND_NONE, NULL, encode_,
                                              decode_, NULL, NULL};
