/* Sequence-parallel decode attention over a compressed KV cache (design.md, PolarQuant
 * row: "attention over the compressed cache, sharded by sequence over ranks").  Each rank
 * scores its shard of keys from the codes (subq_quant_scores), and keeps, per query, the
 * running max m, the sum l = sum_j exp(s_j - m) and o = sum_j exp(s_j - m) v^_j; the parts
 * are merged with the log-sum-exp rule: M = max_r m_r, l = sum_r l_r e^{m_r - M},
 * o = sum_r o_r e^{m_r - M}, O = o / l (as in FlashAttention / Flash-Decoding).  With both
 * quantizers PolarQuant on cuda and no fp16 residual rows, a rank's (m, l, o) is computed
 * on its GPU in one call (scores, weights and value sums stay on the device). */
#include <cblas.h>

#include "quant/quant_impl.h"

/* Softmax weights of one row of scores in place: s_j <- exp(scale s_j - max); returns the
 * max in *m and the sum in *l. */
static void softmax_scalar_(size_t n, float *s, float scale, double *m, double *l) {
  float mx = -INFINITY;
  for (size_t j = 0; j < n; j++) mx = fmaxf(mx, scale * s[j]);
  double sum = 0;
  for (size_t j = 0; j < n; j++) sum += (s[j] = expf(scale * s[j] - mx));
  *m = mx;
  *l = sum;
}

#if defined(SUBQ_HAVE_MVEC) && defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
/* glibc libmvec's 16-lane expf (the vector variant of expf, <= 4 ulp; AVX-512 ABI). */
extern __m512 _ZGVeN16v_expf(__m512);

/* The same with AVX-512: 16 lanes, exp from libmvec, the sum in double. */
__attribute__((target("avx512f,avx512dq"))) static void softmax_avx512_(size_t n, float *s,
                                                                          float scale, double *m,
                                                                          double *l) {
  const __m512 sc = _mm512_set1_ps(scale);
  __m512 vm = _mm512_set1_ps(-INFINITY);
  size_t j = 0;
  for (; j + 16 <= n; j += 16) vm = _mm512_max_ps(vm, _mm512_mul_ps(sc, _mm512_loadu_ps(s + j)));
  float mx = _mm512_reduce_max_ps(vm);
  for (; j < n; j++) mx = fmaxf(mx, scale * s[j]);
  const __m512 vx = _mm512_set1_ps(mx);
  __m512d a0 = _mm512_setzero_pd(), a1 = a0;
  for (j = 0; j + 16 <= n; j += 16) {
    const __m512 e = _ZGVeN16v_expf(_mm512_fmsub_ps(sc, _mm512_loadu_ps(s + j), vx));
    _mm512_storeu_ps(s + j, e);
    a0 = _mm512_add_pd(a0, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
    a1 = _mm512_add_pd(a1, _mm512_cvtps_pd(_mm512_extractf32x8_ps(e, 1)));
  }
  double sum = _mm512_reduce_add_pd(_mm512_add_pd(a0, a1));
  for (; j < n; j++) sum += (s[j] = expf(scale * s[j] - mx));
  *m = mx;
  *l = sum;
}

static void softmax_(size_t n, float *s, float scale, double *m, double *l) {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq"))
    softmax_avx512_(n, s, scale, m, l);
  else softmax_scalar_(n, s, scale, m, l);
}
#else
#define softmax_ softmax_scalar_
#endif

/* sum_j P[i, j] vhat_j for this shard, into lo[i*(d+1) + 1 ..].  With a wsum op (PolarQuant)
 * the values are accumulated from the codes in the rotated coordinates and rotated back
 * once per query; otherwise the shard is dequantized and multiplied (BLAS). */
static int weighted_values_(const subq_quant_t *qv, const subq_qtensor_t *V, size_t nq,
                            const float *P, double *lo) {
  const size_t n = V->n, d = (size_t)qv->dim;
  float *W = NULL, *Vd = NULL;
  int err = subq_malloc(nq, d * sizeof(float), &W);
  if (!err && qv->ops->wsum) {
    if (V->nq) err = qv->ops->wsum(qv, V, nq, P, n, W);
    else memset(W, 0, nq * d * sizeof(float));
    if (!err) err = subq_quant_rotate(qv, nq, W, 1);
    for (size_t j = V->nq; !err && j < n; j++) /* the fp16 residual window */
      for (size_t i = 0; i < nq; i++)
        for (size_t c = 0; c < d; c++)
          W[i * d + c] += P[i * n + j] * subq_h2f_(V->resid[(j - V->nq) * d + c]);
  } else if (!err) {
    err = subq_malloc(n, d * sizeof(float), &Vd);
    if (!err) err = subq_quant_decode(qv, V, Vd);
    if (!err)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nq, (int)d, (int)n, 1.0f, P,
                  (int)n, Vd, (int)d, 0.0f, W, (int)d);
  }
  for (size_t i = 0; !err && i < nq; i++)
    for (size_t c = 0; c < d; c++) lo[i * (d + 1) + 1 + c] = W[i * d + c];
  subq_free(&W);
  subq_free(&Vd);
  if (err) return subq_error_trace(err, __FILE__, __LINE__, __func__);
  return SUBQ_OK;
}

static int local_(const subq_quant_t *qk, const subq_qtensor_t *K, const subq_quant_t *qv,
                  const subq_qtensor_t *V, size_t nq, const float *Q, float scale, double *m,
                  double *lo) {
  const size_t n = K->n, d = (size_t)qk->dim;
  for (size_t i = 0; i < nq; i++) m[i] = -INFINITY;
  memset(lo, 0, nq * (d + 1) * sizeof(double));
  if (n == 0 || nq == 0) return SUBQ_OK;
  if (qk->cu && qv->cu && K->nq == n && V->nq == n) /* all on the GPU (src/cuda/quant.cu) */
    return subq_polar_cuda_attention_(qk, K, qv, V, nq, Q, scale, m, lo);
  float *S = NULL;
  int err = subq_malloc(nq, n * sizeof(float), &S);
  if (!err) err = subq_quant_scores(qk, K, nq, Q, S);
  for (size_t i = 0; !err && i < nq; i++) softmax_(n, S + i * n, scale, &m[i], &lo[i * (d + 1)]);
  if (!err) err = weighted_values_(qv, V, nq, S, lo);
  subq_free(&S);
  if (err) return subq_error_trace(err, __FILE__, __LINE__, __func__);
  return SUBQ_OK;
}

int subq_quant_attention(const subq_quant_t *qk, const subq_qtensor_t *K,
                         const subq_quant_t *qv, const subq_qtensor_t *V, size_t nq,
                         const float *Q, float scale, float *O, MPI_Comm comm) {
  int err = 0;
  if (!qk || !K || !qv || !V || (nq && (!Q || !O)))
    err = SUBQ_FAIL(SUBQ_ERR_ARG, "NULL argument");
  else if (K->n != V->n)
    err = SUBQ_FAIL(SUBQ_ERR_ARG, "key shard has %zu rows, value shard %zu", K->n, V->n);
  else if (qk->dim != qv->dim)
    err = SUBQ_FAIL(SUBQ_ERR_ARG, "key dim %d != value dim %d", qk->dim, qv->dim);
  const size_t d = err ? 0 : (size_t)qk->dim, w = d + 1;
  double *m = NULL, *lo = NULL, *M = NULL;
  if (!err) err = SUBQ_ALLOC(m, nq);
  if (!err) err = SUBQ_ALLOC(M, nq);
  if (!err) err = subq_malloc(nq, w * sizeof(double), &lo);
  if (!err) err = local_(qk, K, qv, V, nq, Q, scale, m, lo);
  err = subq_error_agree(comm, err);
  if (!err && MPI_Allreduce(m, M, (int)nq, MPI_DOUBLE, MPI_MAX, comm) != MPI_SUCCESS)
    err = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce(max) failed");
  if (!err) {
    for (size_t i = 0; i < nq; i++) {
      /* An empty shard (m = -inf) contributes nothing: no -inf - -inf. */
      double f = m[i] == -INFINITY ? 0.0 : exp(m[i] - M[i]);
      for (size_t c = 0; c < w; c++) lo[i * w + c] *= f;
    }
    if (MPI_Allreduce(MPI_IN_PLACE, lo, (int)(nq * w), MPI_DOUBLE, MPI_SUM, comm) != MPI_SUCCESS)
      err = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce(sum) failed");
  }
  if (!err)
    for (size_t i = 0; i < nq; i++)
      for (size_t c = 0; c < d; c++)
        O[i * d + c] = lo[i * w] > 0 ? (float)(lo[i * w + 1 + c] / lo[i * w]) : 0.0f;
  subq_free(&m);
  subq_free(&M);
  subq_free(&lo);
  if (err) return subq_error_trace(err, __FILE__, __LINE__, __func__);
  return SUBQ_OK;
}
