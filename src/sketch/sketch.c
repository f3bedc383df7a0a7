/* Sketch objects: generic interface, Gaussian (BLAS), SRHT (fast Walsh-Hadamard
 * transform) and CountSketch.  TensorSketch lives in tensorsketch.c. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "sketch/sketch_impl.h"

static const char *const names_[] = {"gaussian", "srht", "countsketch", "tensorsketch"};

const char *subq_sketch_type_name(subq_sketch_type_t t) {
  return (t >= 0 && t <= SUBQ_SKETCH_TENSOR) ? names_[t] : "unknown";
}

int subq_sketch_type_from_name(const char *name, subq_sketch_type_t *t) {
  SUBQ_CHECK(name, SUBQ_ERR_ARG, "sketch type name is NULL");
  for (int i = 0; i <= SUBQ_SKETCH_TENSOR; i++)
    if (strcmp(name, names_[i]) == 0) {
      *t = (subq_sketch_type_t)i;
      return SUBQ_OK;
    }
  return SUBQ_FAIL(SUBQ_ERR_ARG,
                   "sketch type must be gaussian|srht|countsketch|tensorsketch, got '%s'", name);
}

void subq_count_sketch_hash(uint64_t seed, uint64_t stream, uint64_t i, int buckets,
                            int *bucket, int *sign) {
  uint64_t u = subq_rng_u64(seed, stream, i);
  *sign = (u & 1u) ? 1 : -1;
  *bucket = (int)(((unsigned __int128)(u >> 1) * (uint64_t)buckets) >> 63);
}

int subq_sketch_create(subq_sketch_type_t type, int d, int r, subq_sketch_t **s) {
  SUBQ_CHECK(s, SUBQ_ERR_ARG, "output pointer is NULL");
  *s = NULL;
  SUBQ_CHECK(type >= SUBQ_SKETCH_GAUSSIAN && type <= SUBQ_SKETCH_TENSOR, SUBQ_ERR_ARG,
             "sketch type must be 0..3, got %d", (int)type);
  SUBQ_CHECK(d >= 1, SUBQ_ERR_ARG, "sketch input dimension d must be >= 1, got %d", d);
  SUBQ_CHECK(r >= 1, SUBQ_ERR_ARG, "sketch dimension r must be >= 1, got %d", r);
  subq_sketch_t *o = NULL;
  SUBQ_CALL(SUBQ_ZALLOC(o, 1));
  o->type = type;
  o->d = d;
  o->r = r;
  o->p = 1;
  *s = o;
  return SUBQ_OK;
}

int subq_sketch_set_seed(subq_sketch_t *s, uint64_t seed, uint64_t stream) {
  SUBQ_CHECK(s, SUBQ_ERR_ARG, "sketch is NULL");
  SUBQ_CHECK(!s->ready, SUBQ_ERR_ARG, "sketch seed must be set before setup");
  s->seed = seed;
  s->stream = stream;
  return SUBQ_OK;
}

int subq_sketch_set_degree(subq_sketch_t *s, int p) {
  SUBQ_CHECK(s, SUBQ_ERR_ARG, "sketch is NULL");
  SUBQ_CHECK(!s->ready, SUBQ_ERR_ARG, "sketch degree must be set before setup");
  SUBQ_CHECK(p >= 1 && p <= 64, SUBQ_ERR_ARG, "sketch degree p must be 1..64, got %d", p);
  SUBQ_CHECK(p == 1 || s->type == SUBQ_SKETCH_TENSOR, SUBQ_ERR_ARG,
             "degree p = %d needs a tensorsketch (the %s sketch is linear)", p,
             subq_sketch_type_name(s->type));
  s->p = p;
  return SUBQ_OK;
}

int subq_sketch_streams(const subq_sketch_t *s) { return s ? s->p : 0; }

int subq_sketch_set_device(subq_sketch_t *s, subq_device_t dev) {
  SUBQ_CHECK(s, SUBQ_ERR_ARG, "sketch is NULL");
  SUBQ_CHECK(!s->ready, SUBQ_ERR_ARG, "sketch device must be set before setup");
  SUBQ_CALL(subq_device_check(dev));
  s->device = dev;
  return SUBQ_OK;
}

void subq_sketch_cuda_desc_(const subq_sketch_t *s, subq_cuda_sketch_desc_t *desc) {
  desc->type = (int)s->type;
  desc->d = s->d;
  desc->r = s->r;
  desc->p = s->p;
  desc->h = s->h;
  desc->S = s->S;
  desc->sign = s->sign;
  desc->col = s->col;
  desc->bucket = s->bucket;
  desc->csign = s->csign;
}

static int next_pow2_(int d) {
  int h = 1;
  while (h < d) h <<= 1;
  return h;
}

int subq_sketch_setup(subq_sketch_t *s) {
  SUBQ_CHECK(s, SUBQ_ERR_ARG, "sketch is NULL");
  if (s->ready) return SUBQ_OK;
  const int d = s->d, r = s->r;
  switch (s->type) {
  case SUBQ_SKETCH_GAUSSIAN: {
    size_t dr;
    SUBQ_CALL(subq_size_mul((size_t)d, (size_t)r, &dr));
    SUBQ_CALL(SUBQ_ALLOC(s->S, dr));
    SUBQ_CALL(SUBQ_ALLOC(s->Sf, dr));
    subq_rng_fill_gauss(s->seed, s->stream, 0, dr, s->S);
    const double sc = 1.0 / sqrt((double)r);
    for (size_t i = 0; i < dr; i++) {
      s->S[i] *= sc;
      s->Sf[i] = (float)s->S[i];
    }
    break;
  }
  case SUBQ_SKETCH_SRHT: {
    SUBQ_CHECK(d <= (1 << 29), SUBQ_ERR_ARG, "SRHT input dimension too large: %d", d);
    s->h = next_pow2_(d);
    SUBQ_CALL(SUBQ_ALLOC(s->sign, d));
    SUBQ_CALL(SUBQ_ALLOC(s->col, r));
    SUBQ_CALL(SUBQ_ALLOC(s->work, s->h));
    SUBQ_CALL(SUBQ_ALLOC(s->workf, s->h));
    for (int i = 0; i < d; i++) s->sign[i] = subq_rng_rademacher(s->seed, s->stream, (uint64_t)i);
    for (int j = 0; j < r; j++)
      s->col[j] = (int)subq_rng_below(s->seed, s->stream, (uint64_t)s->h + (uint64_t)j,
                                      (uint64_t)s->h);
    break;
  }
  case SUBQ_SKETCH_COUNT:
  case SUBQ_SKETCH_TENSOR: {
    size_t pd;
    SUBQ_CALL(subq_size_mul((size_t)s->p, (size_t)d, &pd));
    SUBQ_CALL(SUBQ_ALLOC(s->bucket, pd));
    SUBQ_CALL(SUBQ_ALLOC(s->csign, pd));
    for (int k = 0; k < s->p; k++)
      for (int i = 0; i < d; i++) {
        int b, sg;
        subq_count_sketch_hash(s->seed, s->stream + (uint64_t)k, (uint64_t)i, r, &b, &sg);
        s->bucket[(size_t)k * d + i] = b;
        s->csign[(size_t)k * d + i] = (signed char)sg;
      }
    if (s->type == SUBQ_SKETCH_TENSOR) SUBQ_CALL(subq_tensor_sketch_setup_(s));
    break;
  }
  }
  if (s->device == SUBQ_DEVICE_CUDA) {
    subq_cuda_sketch_desc_t desc;
    subq_sketch_cuda_desc_(s, &desc);
    SUBQ_CALL(subq_cuda_sketch_create(&desc, &s->cu));
  }
  s->ready = 1;
  return SUBQ_OK;
}

/* ---- fast Walsh-Hadamard transform ------------------------------------------------ */

#define FWHT_BODY(T)                                                                     \
  for (size_t row = 0; row < n; row++) {                                                 \
    T *restrict x = X + row * ldx;                                                       \
    for (int len = 1; len < h; len <<= 1)                                                \
      for (int i = 0; i < h; i += len << 1)                                              \
        for (int j = i; j < i + len; j++) {                                              \
          T a = x[j], b = x[j + len];                                                    \
          x[j] = a + b;                                                                  \
          x[j + len] = a - b;                                                            \
        }                                                                                \
  }

int subq_fwht(size_t n, int h, double *X, size_t ldx) {
  SUBQ_CHECK(h >= 1 && (h & (h - 1)) == 0, SUBQ_ERR_ARG,
             "Walsh-Hadamard length must be a power of two, got %d", h);
  SUBQ_CHECK(ldx >= (size_t)h, SUBQ_ERR_ARG, "leading dimension %zu < length %d", ldx, h);
  FWHT_BODY(double)
  return SUBQ_OK;
}

int subq_fwht_f32(size_t n, int h, float *X, size_t ldx) {
  SUBQ_CHECK(h >= 1 && (h & (h - 1)) == 0, SUBQ_ERR_ARG,
             "Walsh-Hadamard length must be a power of two, got %d", h);
  SUBQ_CHECK(ldx >= (size_t)h, SUBQ_ERR_ARG, "leading dimension %zu < length %d", ldx, h);
  FWHT_BODY(float)
  return SUBQ_OK;
}

/* ---- apply ------------------------------------------------------------------------- */

static int check_apply_(const subq_sketch_t *s, size_t ldx, size_t ldy) {
  SUBQ_CHECK(s && s->ready, SUBQ_ERR_ARG, "sketch is not set up (call subq_sketch_setup)");
  SUBQ_CHECK(ldx >= (size_t)s->d, SUBQ_ERR_ARG, "ldx = %zu < d = %d", ldx, s->d);
  SUBQ_CHECK(ldy >= (size_t)s->r, SUBQ_ERR_ARG, "ldy = %zu < r = %d", ldy, s->r);
  return SUBQ_OK;
}

/* Linear sketches, one body for double and float: SRHT and CountSketch rows. */
#define SRHT_ROWS(T, WORK, FWHT)                                                         \
  do {                                                                                   \
    const T sc = (T)(1.0 / sqrt((double)s->r));                                          \
    for (size_t i = 0; i < n; i++) {                                                     \
      const T *x = X + i * ldx;                                                          \
      T *y = Y + i * ldy;                                                                \
      for (int k = 0; k < s->d; k++) WORK[k] = (T)s->sign[k] * x[k];                     \
      for (int k = s->d; k < s->h; k++) WORK[k] = 0;                                     \
      FWHT(1, s->h, WORK, (size_t)s->h);                                                 \
      for (int j = 0; j < s->r; j++) y[j] = sc * WORK[s->col[j]];                        \
    }                                                                                    \
  } while (0)

#define COUNT_ROWS(T)                                                                    \
  do {                                                                                   \
    for (size_t i = 0; i < n; i++) {                                                     \
      const T *x = X + i * ldx;                                                          \
      T *y = Y + i * ldy;                                                                \
      for (int j = 0; j < s->r; j++) y[j] = 0;                                           \
      for (int k = 0; k < s->d; k++) y[s->bucket[k]] += (T)s->csign[k] * x[k];           \
    }                                                                                    \
  } while (0)

int subq_sketch_apply(subq_sketch_t *s, size_t n, const double *X, size_t ldx, double *Y,
                      size_t ldy) {
  SUBQ_CALL(check_apply_(s, ldx, ldy));
  if (n == 0) return SUBQ_OK;
  if (s->cu) {
    SUBQ_CALL(subq_cuda_sketch_apply(s->cu, 0, n, X, ldx, Y, ldy));
    return SUBQ_OK;
  }
  switch (s->type) {
  case SUBQ_SKETCH_GAUSSIAN:
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, s->r, s->d, 1.0, X,
                (int)ldx, s->S, s->r, 0.0, Y, (int)ldy);
    break;
  case SUBQ_SKETCH_SRHT:
    SRHT_ROWS(double, s->work, subq_fwht);
    break;
  case SUBQ_SKETCH_COUNT:
    COUNT_ROWS(double);
    break;
  case SUBQ_SKETCH_TENSOR:
    SUBQ_CALL(subq_tensor_sketch_apply_(s, n, X, ldx, Y, ldy));
    break;
  }
  return SUBQ_OK;
}

int subq_sketch_apply_f32(subq_sketch_t *s, size_t n, const float *X, size_t ldx, float *Y,
                          size_t ldy) {
  SUBQ_CALL(check_apply_(s, ldx, ldy));
  if (n == 0) return SUBQ_OK;
  if (s->cu) {
    SUBQ_CALL(subq_cuda_sketch_apply(s->cu, 1, n, X, ldx, Y, ldy));
    return SUBQ_OK;
  }
  switch (s->type) {
  case SUBQ_SKETCH_GAUSSIAN:
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, s->r, s->d, 1.0f, X,
                (int)ldx, s->Sf, s->r, 0.0f, Y, (int)ldy);
    break;
  case SUBQ_SKETCH_SRHT:
    SRHT_ROWS(float, s->workf, subq_fwht_f32);
    break;
  case SUBQ_SKETCH_COUNT:
    COUNT_ROWS(float);
    break;
  case SUBQ_SKETCH_TENSOR: {
    /* Through double, one row at a time (the TensorSketch is not the hot path in fp32). */
    double xd[1024], yd[1024];
    SUBQ_CHECK(s->d <= 1024 && s->r <= 1024, SUBQ_ERR_UNSUPPORTED,
               "fp32 tensorsketch supports d, r <= 1024 (d = %d, r = %d)", s->d, s->r);
    for (size_t i = 0; i < n; i++) {
      for (int k = 0; k < s->d; k++) xd[k] = X[i * ldx + k];
      SUBQ_CALL(subq_tensor_sketch_apply_(s, 1, xd, (size_t)s->d, yd, (size_t)s->r));
      for (int j = 0; j < s->r; j++) Y[i * ldy + j] = (float)yd[j];
    }
    break;
  }
  }
  return SUBQ_OK;
}

int subq_sketch_matrix(const subq_sketch_t *s, double *S) {
  SUBQ_CHECK(s && s->ready, SUBQ_ERR_ARG, "sketch is not set up (call subq_sketch_setup)");
  SUBQ_CHECK(s->type != SUBQ_SKETCH_TENSOR, SUBQ_ERR_ARG,
             "a tensorsketch is not linear: it has no matrix");
  const int d = s->d, r = s->r;
  if (s->type == SUBQ_SKETCH_GAUSSIAN) {
    memcpy(S, s->S, sizeof(double) * (size_t)d * (size_t)r);
    return SUBQ_OK;
  }
  memset(S, 0, sizeof(double) * (size_t)d * (size_t)r);
  if (s->type == SUBQ_SKETCH_COUNT) {
    for (int i = 0; i < d; i++) S[(size_t)i * r + s->bucket[i]] = s->csign[i];
    return SUBQ_OK;
  }
  /* SRHT: S_ij = sign_i H[i, col_j] / sqrt(r), H_ab = (-1)^popcount(a & b). */
  const double sc = 1.0 / sqrt((double)r);
  for (int i = 0; i < d; i++)
    for (int j = 0; j < r; j++)
      S[(size_t)i * r + j] =
          s->sign[i] * ((__builtin_popcount((unsigned)(i & s->col[j])) & 1) ? -sc : sc);
  return SUBQ_OK;
}

void subq_sketch_destroy(subq_sketch_t **s) {
  if (!s || !*s) return;
  subq_sketch_t *o = *s;
  subq_free(&o->S);
  subq_free(&o->Sf);
  subq_free(&o->sign);
  subq_free(&o->work);
  subq_free(&o->workf);
  subq_free(&o->col);
  subq_free(&o->bucket);
  subq_free(&o->csign);
  subq_tensor_sketch_free_(o);
  subq_cuda_sketch_destroy(&o->cu);
  subq_free(s);
}
