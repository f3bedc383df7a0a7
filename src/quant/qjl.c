/* QJL (Zandieh, Daliri, Han 2024, "QJL: 1-Bit Quantized JL Transform for KV Cache
 * Quantization with Zero Overhead", arXiv 2406.03482, Def. 1 and Thm. 3.2): a key k is
 * stored as sign(S k) (m bits, S an m x d standard Gaussian from the counter RNG) and |k|
 * in fp16; the inner product with a query is estimated without bias by
 *   <q, k> ~ sqrt(pi/2)/m * |k| * <S q, sign(S k)>,
 * i.e. the reconstruction k^ = sqrt(pi/2)/m * |k| * S^T sign(S k).  Keys only: the paper
 * quantizes values with a per-token quantizer (use kivi with role values). */
#include <cblas.h>

#include "quant/quant_impl.h"

static int setup_(subq_quant_t *q, size_t n, const float *X) {
  (void)n;
  (void)X;
  SUBQ_CHECK(q->role == SUBQ_QUANT_KEYS, SUBQ_ERR_ARG,
             "qjl quantizes keys only (the paper quantizes values per token: use kivi)");
  const size_t md = (size_t)q->sketch_m * (size_t)q->dim;
  SUBQ_CALL(subq_malloc(md, sizeof(float), &q->S));
  for (size_t i = 0; i < md; i++) q->S[i] = subq_rng_gaussf(q->seed, SUBQ_STREAM_QUANT_QJL, i);
  return SUBQ_OK;
}

static int encode_(const subq_quant_t *q, size_t n, const float *X, subq_qtensor_t *t) {
  const int m = q->sketch_m, d = q->dim;
  size_t nbits = 0;
  SUBQ_CALL(subq_size_mul(n, (size_t)m, &nbits));
  SUBQ_CALL(subq_qtensor_alloc_(t, nbits, n));
  if (n == 0) return SUBQ_OK;
  float *Y = NULL;
  SUBQ_CALL(subq_malloc(n, (size_t)m * sizeof(float), &Y));
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, m, d, 1.0f, X, d, q->S, d,
              0.0f, Y, m);
  for (size_t i = 0; i < n; i++) {
    double nrm = 0;
    for (int c = 0; c < d; c++) nrm += (double)X[i * d + c] * X[i * d + c];
    t->half[i] = subq_f2h_((float)sqrt(nrm));
    for (int j = 0; j < m; j++)
      if (Y[i * m + j] >= 0) subq_bits_put_(t->code, i * (size_t)m + (size_t)j, 1, 1);
  }
  subq_free(&Y);
  return SUBQ_OK;
}

/* B = sign matrix (n x m, +-1) scaled per row by sqrt(pi/2)/m |k|. */
static int signs_(const subq_quant_t *q, const subq_qtensor_t *t, float **B) {
  const size_t m = (size_t)q->sketch_m;
  SUBQ_CALL(subq_malloc(t->nq, m * sizeof(float), B));
  const float c = (float)(sqrt(M_PI / 2) / (double)m);
  for (size_t i = 0; i < t->nq; i++) {
    float w = c * subq_h2f_(t->half[i]);
    for (size_t j = 0; j < m; j++) (*B)[i * m + j] = subq_bits_get_(t->code, i * m + j, 1) ? w : -w;
  }
  return SUBQ_OK;
}

static int decode_(const subq_quant_t *q, const subq_qtensor_t *t, float *X) {
  if (t->nq == 0) return SUBQ_OK;
  float *B = NULL;
  SUBQ_CALL(signs_(q, t, &B));
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)t->nq, q->dim, q->sketch_m,
              1.0f, B, q->sketch_m, q->S, q->dim, 0.0f, X, q->dim);
  subq_free(&B);
  return SUBQ_OK;
}

/* Estimator from the codes: (S q) . (scaled signs). */
static int scores_(const subq_quant_t *q, const subq_qtensor_t *t, size_t nqry,
                   const float *Q, float *S, size_t lds) {
  const int m = q->sketch_m, d = q->dim;
  float *B = NULL, *SQ = NULL;
  int err = signs_(q, t, &B);
  if (!err) err = subq_malloc(nqry, (size_t)m * sizeof(float), &SQ);
  if (!err) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nqry, m, d, 1.0f, Q, d, q->S,
                d, 0.0f, SQ, m);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nqry, (int)t->nq, m, 1.0f, SQ,
                m, B, m, 0.0f, S, (int)lds);
  }
  subq_free(&B);
  subq_free(&SQ);
  if (err) return subq_error_trace(err, __FILE__, __LINE__, __func__);
  return SUBQ_OK;
}

const subq_quant_ops_t subq_quant_ops_qjl = {"qjl", SUBQ_PRECOND_NONE, setup_, encode_,
                                             decode_, scores_, NULL};
