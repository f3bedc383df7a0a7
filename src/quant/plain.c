/* Unquantized references: fp16 (IEEE binary16, round to nearest even) and fp32. */
#include "quant/quant_impl.h"

static int fp16_encode_(const subq_quant_t *q, size_t n, const float *X, subq_qtensor_t *t) {
  const size_t nd = n * (size_t)q->dim;
  SUBQ_CALL(subq_qtensor_alloc_(t, 0, nd));
  for (size_t i = 0; i < nd; i++) t->half[i] = subq_f2h_(X[i]);
  return SUBQ_OK;
}

static int fp16_decode_(const subq_quant_t *q, const subq_qtensor_t *t, float *X) {
  for (size_t i = 0; i < t->nq * (size_t)q->dim; i++) X[i] = subq_h2f_(t->half[i]);
  return SUBQ_OK;
}

static int fp32_encode_(const subq_quant_t *q, size_t n, const float *X, subq_qtensor_t *t) {
  const size_t nd = n * (size_t)q->dim;
  SUBQ_CALL(subq_qtensor_alloc_(t, 32 * nd, 0));
  if (nd) memcpy(t->code, X, nd * sizeof(float));
  return SUBQ_OK;
}

static int fp32_decode_(const subq_quant_t *q, const subq_qtensor_t *t, float *X) {
  if (t->nq) memcpy(X, t->code, t->nq * (size_t)q->dim * sizeof(float));
  return SUBQ_OK;
}

const subq_quant_ops_t subq_quant_ops_fp16 = {"fp16", SUBQ_PRECOND_NONE, NULL, fp16_encode_,
                                              fp16_decode_, NULL, NULL};
const subq_quant_ops_t subq_quant_ops_fp32 = {"fp32", SUBQ_PRECOND_NONE, NULL, fp32_encode_,
                                              fp32_decode_, NULL, NULL};
