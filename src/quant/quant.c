/* The generic quantizer object: type registry, options, setup, and the parts every
 * quantizer shares (input checks, preconditioning, fp16 residual window, the fallback
 * decode-then-multiply scores).  Implementations: polarquant.c, kivi.c, qjl.c, turbo.c
 * (turbo, q4_0), plain.c (fp16, fp32). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#include "quant/quant_impl.h"

static const subq_quant_ops_t *const types_[] = {
    &subq_quant_ops_polarquant, &subq_quant_ops_kivi, &subq_quant_ops_qjl,
    &subq_quant_ops_turbo,      &subq_quant_ops_q4_0, &subq_quant_ops_fp16,
    &subq_quant_ops_fp32};

int subq_quant_create(const char *type, int dim, subq_quant_t **out) {
  SUBQ_CHECK(out, SUBQ_ERR_ARG, "output pointer is NULL");
  *out = NULL;
  SUBQ_CHECK(type, SUBQ_ERR_ARG, "quantizer type is NULL");
  const subq_quant_ops_t *ops = NULL;
  for (size_t i = 0; i < sizeof types_ / sizeof types_[0]; i++)
    if (strcmp(types_[i]->name, type) == 0) ops = types_[i];
  SUBQ_CHECK(ops, SUBQ_ERR_ARG,
             "unknown quantizer '%s' (polarquant|kivi|qjl|turbo|q4_0|fp16|fp32)", type);
  SUBQ_CHECK(dim >= 1, SUBQ_ERR_ARG, "dim must be >= 1, got %d", dim);
  subq_quant_t *q = NULL;
  SUBQ_CALL(SUBQ_ZALLOC(q, 1));
  q->ops = ops;
  snprintf(q->type, sizeof q->type, "%s", type);
  q->dim = dim;
  q->levels = 4;
  q->nbits = 4;
  q->bits[0] = 4;
  q->bits[1] = q->bits[2] = q->bits[3] = 2;
  if (ops == &subq_quant_ops_kivi) { q->nbits = 1; q->bits[0] = 2; }
  if (ops == &subq_quant_ops_turbo) { q->nbits = 1; q->bits[0] = 3; }
  if (ops == &subq_quant_ops_q4_0) { q->nbits = 1; q->bits[0] = 4; }
  q->precond = ops->default_precond;
  q->codebook = SUBQ_CODEBOOK_OFFLINE;
  q->role = SUBQ_QUANT_KEYS;
  q->group = 32;
  q->sketch_m = 4 * dim - 16 > 0 ? 4 * dim - 16 : dim;
  q->seed = 42;
  *out = q;
  return SUBQ_OK;
}

void subq_quant_destroy(subq_quant_t **qp) {
  if (!qp || !*qp) return;
  subq_quant_t *q = *qp;
  subq_free(&q->signs);
  subq_free(&q->rot);
  subq_free(&q->S);
  subq_free(&q->guess1);
  subq_cuda_polar_destroy(&q->cu);
  for (int l = 0; l < SUBQ_POLAR_MAX_LEVELS; l++) {
    subq_free(&q->cb[l]);
    subq_free(&q->cbcos[l]);
    subq_free(&q->cbsin[l]);
    subq_free(&q->bnd_c[l]);
    subq_free(&q->bnd_s[l]);
  }
  subq_free(qp);
}

const char *subq_quant_type(const subq_quant_t *q) { return q ? q->type : ""; }

#define NOT_SET_UP(q)                                                                     \
  SUBQ_CHECK(q, SUBQ_ERR_ARG, "quantizer is NULL");                                       \
  SUBQ_CHECK(!(q)->is_setup, SUBQ_ERR_ARG, "quantizer %s is already set up", (q)->type)

int subq_quant_set_bits(subq_quant_t *q, const int *bits, int n) {
  NOT_SET_UP(q);
  int polar = q->ops == &subq_quant_ops_polarquant;
  SUBQ_CHECK(bits && n >= 1 && n <= (polar ? SUBQ_POLAR_MAX_LEVELS : 1), SUBQ_ERR_ARG,
             "%s takes %s bit width%s, got %d", q->type, polar ? "one per level" : "one",
             polar ? "s" : "", n);
  for (int i = 0; i < n; i++)
    SUBQ_CHECK(bits[i] >= 1 && bits[i] <= (polar ? 16 : 8), SUBQ_ERR_ARG,
               "bits per level must be 1..%d, got %d", polar ? 16 : 8, bits[i]);
  for (int i = 0; i < n; i++) q->bits[i] = bits[i];
  q->nbits = n;
  return SUBQ_OK;
}

int subq_quant_set_levels(subq_quant_t *q, int levels) {
  NOT_SET_UP(q);
  SUBQ_CHECK(levels >= 1 && levels <= SUBQ_POLAR_MAX_LEVELS, SUBQ_ERR_ARG,
             "levels must be 1..%d, got %d", SUBQ_POLAR_MAX_LEVELS, levels);
  q->levels = levels;
  return SUBQ_OK;
}

int subq_quant_set_precondition(subq_quant_t *q, int precond) {
  NOT_SET_UP(q);
  SUBQ_CHECK(precond >= SUBQ_PRECOND_HADAMARD && precond <= SUBQ_PRECOND_NONE, SUBQ_ERR_ARG,
             "unknown preconditioner %d", precond);
  q->precond = precond;
  return SUBQ_OK;
}

int subq_quant_set_codebook(subq_quant_t *q, int codebook) {
  NOT_SET_UP(q);
  SUBQ_CHECK(codebook == SUBQ_CODEBOOK_OFFLINE || codebook == SUBQ_CODEBOOK_ONLINE,
             SUBQ_ERR_ARG, "unknown codebook %d", codebook);
  q->codebook = codebook;
  return SUBQ_OK;
}

int subq_quant_set_seed(subq_quant_t *q, uint64_t seed) {
  NOT_SET_UP(q);
  q->seed = seed;
  return SUBQ_OK;
}

int subq_quant_set_role(subq_quant_t *q, int role) {
  NOT_SET_UP(q);
  SUBQ_CHECK(role == SUBQ_QUANT_KEYS || role == SUBQ_QUANT_VALUES, SUBQ_ERR_ARG,
             "role must be keys (0) or values (1), got %d", role);
  q->role = role;
  return SUBQ_OK;
}

int subq_quant_set_group(subq_quant_t *q, int group) {
  NOT_SET_UP(q);
  SUBQ_CHECK(group >= 1, SUBQ_ERR_ARG, "group size must be >= 1, got %d", group);
  q->group = group;
  return SUBQ_OK;
}

int subq_quant_set_sketch_dim(subq_quant_t *q, int m) {
  NOT_SET_UP(q);
  SUBQ_CHECK(m >= 1, SUBQ_ERR_ARG, "sketch dimension must be >= 1, got %d", m);
  q->sketch_m = m;
  return SUBQ_OK;
}

int subq_quant_set_residual(subq_quant_t *q, size_t n) {
  NOT_SET_UP(q);
  q->residual = n;
  return SUBQ_OK;
}

int subq_quant_set_device(subq_quant_t *q, subq_device_t dev) {
  NOT_SET_UP(q);
  SUBQ_CALL(subq_device_check(dev));
  SUBQ_CHECK(dev == SUBQ_DEVICE_CPU || q->ops == &subq_quant_ops_polarquant,
             SUBQ_ERR_UNSUPPORTED, "quantizer %s has no CUDA path (polarquant only)", q->type);
  q->device = dev;
  return SUBQ_OK;
}

static int check_finite_(size_t n, int d, const float *X, const char *what) {
  for (size_t i = 0; i < n; i++)
    for (int j = 0; j < d; j++)
      if (!isfinite(X[i * (size_t)d + (size_t)j]))
        return SUBQ_FAIL(SUBQ_ERR_NUMERIC, "%s row %zu (token), column %d is %s", what, i, j,
                         isnan(X[i * (size_t)d + (size_t)j]) ? "NaN" : "Inf");
  return SUBQ_OK;
}

/* Copy n rows and precondition them. */
static int rotated_copy_(const subq_quant_t *q, size_t n, const float *X, float **Y) {
  SUBQ_CALL(subq_malloc(n, (size_t)q->dim * sizeof(float), Y));
  if (n) memcpy(*Y, X, n * (size_t)q->dim * sizeof(float));
  SUBQ_CALL(subq_precond_apply_(q, n, *Y, 0));
  return SUBQ_OK;
}

int subq_quant_setup(subq_quant_t *q, size_t n, const float *X) {
  NOT_SET_UP(q);
  SUBQ_CHECK(n == 0 || X, SUBQ_ERR_ARG, "training rows X is NULL with n = %zu", n);
  if (n) SUBQ_CALL(check_finite_(n, q->dim, X, "training"));
  SUBQ_CALL(subq_precond_setup_(q));
  int err = 0;
  if (q->ops->setup) {
    float *Y = NULL;
    if (n) SUBQ_CALL(rotated_copy_(q, n, X, &Y));
    err = q->ops->setup(q, n, Y);
    subq_free(&Y);
  }
  if (!err && q->device == SUBQ_DEVICE_CUDA) err = subq_polar_cuda_setup_(q);
  if (err) return subq_error_trace(err, __FILE__, __LINE__, __func__);
  q->is_setup = 1;
  return SUBQ_OK;
}

int subq_qtensor_alloc_(subq_qtensor_t *t, size_t ncode_bits, size_t nhalf) {
  SUBQ_CALL(subq_calloc((ncode_bits + 7) / 8 + 8, 1, &t->code)); /* +8: subq_bits_get_ */
  SUBQ_CALL(subq_calloc(nhalf, sizeof(uint16_t), &t->half));
  t->ncode_bits = ncode_bits;
  t->nhalf = nhalf;
  return SUBQ_OK;
}

int subq_quant_encode(const subq_quant_t *q, size_t n, const float *X, subq_qtensor_t **out) {
  SUBQ_CHECK(q && out, SUBQ_ERR_ARG, "quantizer or output is NULL");
  *out = NULL;
  SUBQ_CHECK(q->is_setup, SUBQ_ERR_ARG, "quantizer %s is not set up", q->type);
  SUBQ_CHECK(n == 0 || X, SUBQ_ERR_ARG, "X is NULL with n = %zu", n);
  SUBQ_CALL(check_finite_(n, q->dim, X, "input"));
  subq_qtensor_t *t = NULL;
  SUBQ_CALL(SUBQ_ZALLOC(t, 1));
  t->n = n;
  t->dim = q->dim;
  t->nq = n > q->residual ? n - q->residual : 0;
  const size_t d = (size_t)q->dim, nr = n - t->nq;
  float *Y = NULL;
  int err = subq_malloc(nr * d, sizeof(uint16_t), &t->resid);
  for (size_t i = 0; !err && i < nr * d; i++) t->resid[i] = subq_f2h_(X[t->nq * d + i]);
  if (!err && q->cu) {
    err = subq_polar_cuda_encode_(q, t->nq, X, t); /* preconditioned on the device */
  } else {
    if (!err) err = rotated_copy_(q, t->nq, X, &Y);
    if (!err) err = q->ops->encode(q, t->nq, Y, t);
  }
  subq_free(&Y);
  if (err) {
    subq_qtensor_destroy(&t);
    return subq_error_trace(err, __FILE__, __LINE__, __func__);
  }
  *out = t;
  return SUBQ_OK;
}

int subq_quant_decode(const subq_quant_t *q, const subq_qtensor_t *t, float *X) {
  SUBQ_CHECK(q && t && (X || t->n == 0), SUBQ_ERR_ARG, "NULL argument");
  SUBQ_CHECK(q->is_setup && t->dim == q->dim, SUBQ_ERR_ARG,
             "tensor of dim %d does not match quantizer %s (dim %d, set up %d)", t->dim,
             q->type, q->dim, q->is_setup);
  const size_t d = (size_t)q->dim;
  SUBQ_CALL(q->ops->decode(q, t, X));
  SUBQ_CALL(subq_precond_apply_(q, t->nq, X, 1));
  for (size_t i = 0; i < (t->n - t->nq) * d; i++) X[t->nq * d + i] = subq_h2f_(t->resid[i]);
  return SUBQ_OK;
}

int subq_quant_scores(const subq_quant_t *q, const subq_qtensor_t *t, size_t nqry,
                      const float *Q, float *S) {
  SUBQ_CHECK(q && t && (Q || nqry == 0) && (S || nqry == 0 || t->n == 0), SUBQ_ERR_ARG,
             "NULL argument");
  SUBQ_CHECK(q->is_setup && t->dim == q->dim, SUBQ_ERR_ARG,
             "tensor of dim %d does not match quantizer %s (dim %d)", t->dim, q->type, q->dim);
  const size_t d = (size_t)q->dim, n = t->n;
  if (nqry == 0 || n == 0) return SUBQ_OK;
  float *Qr = NULL, *W = NULL;
  int err = rotated_copy_(q, nqry, Q, &Qr);
  if (!err && t->nq) {
    if (q->ops->scores) {
      err = q->ops->scores(q, t, nqry, Qr, S, n);
    } else {
      err = subq_malloc(t->nq * d, sizeof(float), &W);
      if (!err) err = q->ops->decode(q, t, W);
      if (!err)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nqry, (int)t->nq, (int)d,
                    1.0f, Qr, (int)d, W, (int)d, 0.0f, S, (int)n);
    }
  }
  /* Residual rows in the original coordinates. */
  for (size_t i = 0; !err && i < nqry; i++)
    for (size_t j = t->nq; j < n; j++) {
      float s = 0;
      const uint16_t *r = t->resid + (j - t->nq) * d;
      for (size_t c = 0; c < d; c++) s += Q[i * d + c] * subq_h2f_(r[c]);
      S[i * n + j] = s;
    }
  subq_free(&Qr);
  subq_free(&W);
  if (err) return subq_error_trace(err, __FILE__, __LINE__, __func__);
  return SUBQ_OK;
}

int subq_quant_rotate(const subq_quant_t *q, size_t n, float *X, int inverse) {
  SUBQ_CHECK(q && (X || n == 0), SUBQ_ERR_ARG, "NULL argument");
  SUBQ_CHECK(q->is_setup, SUBQ_ERR_ARG, "quantizer %s is not set up", q->type);
  SUBQ_CALL(subq_precond_apply_(q, n, X, inverse));
  return SUBQ_OK;
}

int subq_quant_codebook(const subq_quant_t *q, int level, const double **c, int *k) {
  SUBQ_CHECK(q && c && k, SUBQ_ERR_ARG, "NULL argument");
  SUBQ_CHECK(q->is_setup, SUBQ_ERR_ARG, "quantizer %s is not set up", q->type);
  SUBQ_CHECK(level >= 1 && level <= SUBQ_POLAR_MAX_LEVELS && q->cb[level - 1], SUBQ_ERR_ARG,
             "quantizer %s has no codebook at level %d", q->type, level);
  *c = q->cb[level - 1];
  *k = q->cbk[level - 1];
  return SUBQ_OK;
}

size_t subq_qtensor_rows(const subq_qtensor_t *t) { return t ? t->n : 0; }

double subq_qtensor_bits(const subq_qtensor_t *t) {
  if (!t) return 0;
  return (double)t->ncode_bits + 16.0 * (double)t->nhalf +
         16.0 * (double)(t->n - t->nq) * (double)t->dim;
}

void subq_qtensor_destroy(subq_qtensor_t **tp) {
  if (!tp || !*tp) return;
  subq_free(&(*tp)->code);
  subq_free(&(*tp)->half);
  subq_free(&(*tp)->resid);
  subq_cuda_qcodes_destroy(&(*tp)->cu);
  subq_free(tp);
}
