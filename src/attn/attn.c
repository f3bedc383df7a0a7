/* Attention operator object: options, setup, apply dispatch, decode state. */
#include "attn/attn_impl.h"

static const char *const names_[] = {"softmax", "poly", "polysketch"};

const char *subq_attn_type_name(subq_attn_type_t t) {
  return (t >= 0 && t <= SUBQ_ATTN_POLYSKETCH) ? names_[t] : "unknown";
}

int subq_attn_create(MPI_Comm comm, subq_attn_type_t type, int d, int dv, subq_attn_t **a) {
  SUBQ_CHECK(a, SUBQ_ERR_ARG, "output pointer is NULL");
  *a = NULL;
  SUBQ_CHECK(type >= SUBQ_ATTN_SOFTMAX && type <= SUBQ_ATTN_POLYSKETCH, SUBQ_ERR_ARG,
             "attention type must be 0..2, got %d", (int)type);
  SUBQ_CHECK(d >= 1, SUBQ_ERR_ARG, "attention head dimension d must be >= 1, got %d", d);
  SUBQ_CHECK(dv >= 1, SUBQ_ERR_ARG, "attention value dimension dv must be >= 1, got %d", dv);
  subq_attn_t *o = NULL;
  SUBQ_CALL(SUBQ_ZALLOC(o, 1));
  if (MPI_Comm_dup(comm, &o->comm) != MPI_SUCCESS) {
    subq_free(&o);
    return SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Comm_dup failed");
  }
  MPI_Comm_rank(o->comm, &o->rank);
  MPI_Comm_size(o->comm, &o->size);
  o->type = type;
  o->d = d;
  o->dv = dv;
  o->causal = 1;
  o->scale = 1.0 / sqrt((double)d);
  o->p = 4;
  o->sketch = SUBQ_SKETCH_GAUSSIAN;
  o->r = 32;
  o->block = 256;
  *a = o;
  return SUBQ_OK;
}

#define NOT_READY(a)                                                                      \
  SUBQ_CHECK(a, SUBQ_ERR_ARG, "attention operator is NULL");                              \
  SUBQ_CHECK(!(a)->ready, SUBQ_ERR_ARG, "attention options must be set before setup")

int subq_attn_set_causal(subq_attn_t *a, int causal) {
  NOT_READY(a);
  a->causal = causal != 0;
  return SUBQ_OK;
}

int subq_attn_set_scale(subq_attn_t *a, double scale) {
  NOT_READY(a);
  SUBQ_CHECK(scale > 0 && isfinite(scale), SUBQ_ERR_ARG,
             "softmax scale must be finite and > 0, got %g", scale);
  a->scale = scale;
  return SUBQ_OK;
}

int subq_attn_set_degree(subq_attn_t *a, int p) {
  NOT_READY(a);
  SUBQ_CHECK(p >= 2 && p <= 64 && p % 2 == 0, SUBQ_ERR_ARG,
             "polynomial degree p must be even and in 2..64, got %d", p);
  a->p = p;
  return SUBQ_OK;
}

int subq_attn_set_sketch(subq_attn_t *a, subq_sketch_type_t type, int r, uint64_t seed) {
  NOT_READY(a);
  SUBQ_CHECK(type == SUBQ_SKETCH_GAUSSIAN || type == SUBQ_SKETCH_SRHT ||
                 type == SUBQ_SKETCH_TENSOR,
             SUBQ_ERR_ARG, "attention sketch must be gaussian|srht|tensorsketch, got %s",
             subq_sketch_type_name(type));
  SUBQ_CHECK(r >= 1 && r <= 4096, SUBQ_ERR_ARG, "sketch size r must be in 1..4096, got %d", r);
  a->sketch = type;
  a->r = r;
  a->seed = seed;
  return SUBQ_OK;
}

int subq_attn_set_block(subq_attn_t *a, int b) {
  NOT_READY(a);
  SUBQ_CHECK(b >= 1 && b <= (1 << 20), SUBQ_ERR_ARG, "block size must be in 1..2^20, got %d", b);
  a->block = b;
  return SUBQ_OK;
}

int subq_attn_set_mixed(subq_attn_t *a, int mixed) {
  NOT_READY(a);
  a->mixed = mixed != 0;
  return SUBQ_OK;
}

int subq_attn_set_device(subq_attn_t *a, subq_device_t dev) {
  NOT_READY(a);
  SUBQ_CALL(subq_device_check(dev));
  a->device = dev;
  return SUBQ_OK;
}

/* The device context: the options and (polysketch) the device copy of phi. */
static int setup_cuda_(subq_attn_t *a) {
  if (a->type == SUBQ_ATTN_POLYSKETCH) SUBQ_CALL(subq_polysketch_set_device(a->phi, SUBQ_DEVICE_CUDA));
  subq_cuda_attn_desc_t desc = {(int)a->type, a->d, a->dv, a->causal, a->p, a->r, a->block,
                                a->mixed, a->scale, subq_polysketch_cuda_(a->phi)};
  SUBQ_CALL(subq_cuda_attn_create(&desc, &a->cu));
  return SUBQ_OK;
}

int subq_attn_setup(subq_attn_t *a) {
  SUBQ_CHECK(a, SUBQ_ERR_ARG, "attention operator is NULL");
  if (a->ready) return SUBQ_OK;
  int err = SUBQ_OK;
  if (a->type == SUBQ_ATTN_POLYSKETCH)
    err = subq_polysketch_create(a->sketch, a->d, a->r, a->p / 2, a->seed, 0, &a->phi);
  if (!err && a->device == SUBQ_DEVICE_CUDA) err = setup_cuda_(a);
  SUBQ_CALL(subq_error_agree(a->comm, err));
  a->ready = 1;
  return SUBQ_OK;
}

static int check_apply_(const subq_attn_t *a, size_t nl, const void *Q, const void *K,
                        const void *V, const void *O) {
  SUBQ_CHECK(nl == 0 || (Q && K && V && O), SUBQ_ERR_ARG,
             "attention: NULL Q, K, V or O with %zu local tokens", nl);
  SUBQ_CHECK(nl < ((size_t)1 << 40), SUBQ_ERR_ARG, "attention: n_local = %zu too large", nl);
  (void)a;
  return SUBQ_OK;
}

#define APPLY_BODY(SFX)                                                                   \
  do {                                                                                    \
    SUBQ_CHECK(a, SUBQ_ERR_ARG, "attention operator is NULL");                            \
    SUBQ_CHECK(a->ready, SUBQ_ERR_ARG, "attention operator is not set up");               \
    SUBQ_CALL(subq_error_agree(a->comm, check_apply_(a, nl, Q, K, V, O)));                \
    a->gemm_flops = a->gemm_s = a->gemm_cpu_s = 0;                                        \
    a->host_apply = 0;                                                                    \
    if (a->type == SUBQ_ATTN_POLYSKETCH)                                                  \
      SUBQ_CALL(subq_attn_sketch_apply_##SFX(a, nl, Q, K, V, O));                         \
    else                                                                                  \
      SUBQ_CALL(subq_attn_exact_apply_##SFX(a, nl, Q, K, V, O));                          \
    if (a->cu && !a->host_apply) subq_cuda_attn_stats(a->cu, &a->gemm_flops, &a->gemm_s); \
    return SUBQ_OK;                                                                       \
  } while (0)

int subq_attn_apply(subq_attn_t *a, size_t nl, const double *Q, const double *K,
                    const double *V, double *O) {
  APPLY_BODY(d_);
}

int subq_attn_apply_f32(subq_attn_t *a, size_t nl, const float *Q, const float *K,
                        const float *V, float *O) {
  APPLY_BODY(f_);
}

void subq_attn_gemm_stats(const subq_attn_t *a, double *flops, double *seconds) {
  if (flops) *flops = a ? a->gemm_flops : 0;
  if (seconds) *seconds = a ? a->gemm_s : 0;
}

void subq_attn_gemm_stats_cpu(const subq_attn_t *a, double *seconds) {
  if (seconds) *seconds = a ? a->gemm_cpu_s : 0;
}

/* ---- decode state ------------------------------------------------------------------ */

int subq_attn_decode_reset(subq_attn_t *a) {
  SUBQ_CHECK(a && a->ready && a->type == SUBQ_ATTN_POLYSKETCH, SUBQ_ERR_ARG,
             "decode state needs a set-up polysketch attention operator");
  const size_t rr = subq_attn_rr_(a->r), dv1 = (size_t)a->dv + 1;
  if (!a->dz) {
    SUBQ_CALL(subq_malloc(rr * dv1, sizeof(double), &a->dz));
    /* work: qn, kn (d each), a, b (r each), a2, b2 (rr each), out (dv + 1) */
    SUBQ_CALL(subq_malloc(2 * (size_t)a->d + 2 * (size_t)a->r + 2 * rr + dv1, sizeof(double),
                          &a->dwork));
  }
  memset(a->dz, 0, sizeof(double) * rr * dv1);
  return SUBQ_OK;
}

int subq_attn_decode_step(subq_attn_t *a, const double *q, const double *k, const double *v,
                          double *o) {
  SUBQ_CHECK(a && a->dz, SUBQ_ERR_ARG, "decode state not initialised (subq_attn_decode_reset)");
  SUBQ_CHECK(q && k && v && o, SUBQ_ERR_ARG, "decode step: NULL q, k, v or o");
  const int d = a->d, r = a->r, dv = a->dv, dv1 = dv + 1;
  const size_t rr = subq_attn_rr_(r);
  double *qn = a->dwork, *kn = qn + d, *fa = kn + d, *fb = fa + r, *a2 = fb + r, *b2 = a2 + rr,
         *out = b2 + rr;
  for (int c = 0; c < dv; c++)
    SUBQ_CHECK(isfinite(v[c]), SUBQ_ERR_NUMERIC, "decode step: NaN/Inf in v[%d]", c);
  SUBQ_CALL(subq_layer_norm(1, d, q, qn));
  SUBQ_CALL(subq_layer_norm(1, d, k, kn));
  SUBQ_CALL(subq_polysketch_features(a->phi, 1, qn, (size_t)d, fa, (size_t)r));
  SUBQ_CALL(subq_polysketch_features(a->phi, 1, kn, (size_t)d, fb, (size_t)r));
  subq_attn_tensor2_d_(1, r, fa, a2);
  subq_attn_tensor2_d_(1, r, fb, b2);
  /* Z += t(b) [v 1]^T, out = t(a)^T Z */
  memcpy(out, v, sizeof(double) * (size_t)dv);
  out[dv] = 1;
  cblas_dger(CblasRowMajor, (int)rr, dv1, 1.0, b2, 1, out, 1, a->dz, dv1);
  cblas_dgemv(CblasRowMajor, CblasTrans, (int)rr, dv1, 1.0, a->dz, dv1, a2, 1, 0.0, out, 1);
  const double inv = 1 / (1 + out[dv]);
  for (int c = 0; c < dv; c++) o[c] = out[c] * inv;
  return SUBQ_OK;
}

void subq_attn_destroy(subq_attn_t **a) {
  if (!a || !*a) return;
  subq_attn_t *o = *a;
  subq_cuda_attn_destroy(&o->cu);
  subq_polysketch_destroy(&o->phi);
  subq_free(&o->dz);
  subq_free(&o->dwork);
  int fin = 0;
  MPI_Finalized(&fin);
  if (!fin && o->comm != MPI_COMM_NULL) MPI_Comm_free(&o->comm);
  subq_free(a);
}
