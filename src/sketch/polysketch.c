/* PolySketch feature maps (Kacham, Mirrokni, Zhong, "PolySketchFormer", arXiv 2310.01655,
 * Sec. 3 and Alg. 1): phi(x) with <phi(x), phi(y)> ~ <x, y>^q, q = 1 or 2 for the
 * Gaussian/SRHT sketches, any q for TensorSketch. */
#include <math.h>

#include "sketch/sketch_impl.h"

#define PS_BLOCK 256 /* rows per block of the degree-2 product */

struct subq_polysketch {
  subq_sketch_type_t type;
  int d, r, q;
  subq_sketch_t *s1, *s2; /* s2 only for q = 2 with Gaussian/SRHT */
  double *w;
  float *wf;
  subq_cuda_polysketch_t *cu; /* device copy when set to cuda */
};

int subq_polysketch_create(subq_sketch_type_t type, int d, int r, int q, uint64_t seed,
                           uint64_t stream, subq_polysketch_t **ps) {
  SUBQ_CHECK(ps, SUBQ_ERR_ARG, "output pointer is NULL");
  *ps = NULL;
  SUBQ_CHECK(q >= 1, SUBQ_ERR_ARG, "polysketch degree q must be >= 1, got %d", q);
  SUBQ_CHECK(r >= 1, SUBQ_ERR_ARG, "polysketch dimension r must be >= 1, got %d", r);
  SUBQ_CHECK(type == SUBQ_SKETCH_TENSOR || q <= 2, SUBQ_ERR_ARG,
             "a %s polysketch supports degree q = 1 or 2 (attention p = 2 or 4), got q = %d; "
             "use tensorsketch for higher degrees", subq_sketch_type_name(type), q);
  SUBQ_CHECK(type != SUBQ_SKETCH_COUNT || q == 1, SUBQ_ERR_ARG,
             "a countsketch polysketch supports only q = 1, got q = %d", q);
  subq_polysketch_t *o = NULL;
  SUBQ_CALL(SUBQ_ZALLOC(o, 1));
  *ps = o;
  o->type = type;
  o->d = d;
  o->r = r;
  o->q = q;
  int err = subq_sketch_create(type, d, r, &o->s1);
  if (!err && type == SUBQ_SKETCH_TENSOR) err = subq_sketch_set_degree(o->s1, q);
  if (!err) err = subq_sketch_set_seed(o->s1, seed, stream);
  if (!err) err = subq_sketch_setup(o->s1);
  if (!err && q == 2 && type != SUBQ_SKETCH_TENSOR) {
    err = subq_sketch_create(type, d, r, &o->s2);
    if (!err) err = subq_sketch_set_seed(o->s2, seed, stream + 1);
    if (!err) err = subq_sketch_setup(o->s2);
    if (!err) err = subq_malloc((size_t)PS_BLOCK * (size_t)r, sizeof(double), &o->w);
    if (!err) err = subq_malloc((size_t)PS_BLOCK * (size_t)r, sizeof(float), &o->wf);
  }
  if (err) {
    subq_polysketch_destroy(ps);
    return subq_error_trace(err, __FILE__, __LINE__, __func__);
  }
  return SUBQ_OK;
}

int subq_polysketch_dim(const subq_polysketch_t *ps) { return ps ? ps->r : 0; }

int subq_polysketch_set_device(subq_polysketch_t *ps, subq_device_t dev) {
  SUBQ_CHECK(ps, SUBQ_ERR_ARG, "polysketch is NULL");
  SUBQ_CALL(subq_device_check(dev));
  if (dev == SUBQ_DEVICE_CPU) {
    subq_cuda_polysketch_destroy(&ps->cu);
    return SUBQ_OK;
  }
  if (ps->cu) return SUBQ_OK;
  subq_cuda_sketch_desc_t d1, d2;
  subq_sketch_cuda_desc_(ps->s1, &d1);
  if (ps->s2) subq_sketch_cuda_desc_(ps->s2, &d2);
  SUBQ_CALL(subq_cuda_polysketch_create(&d1, ps->s2 ? &d2 : NULL, &ps->cu));
  return SUBQ_OK;
}

subq_cuda_polysketch_t *subq_polysketch_cuda_(const subq_polysketch_t *ps) {
  return ps ? ps->cu : NULL;
}

/* One body for double and float. */
#define FEATURES_BODY(APPLY, W, T)                                                       \
  do {                                                                                   \
    SUBQ_CHECK(ps, SUBQ_ERR_ARG, "polysketch is NULL");                                  \
    SUBQ_CHECK(ldf >= (size_t)ps->r, SUBQ_ERR_ARG, "ldf = %zu < r = %d", ldf, ps->r);    \
    SUBQ_CHECK(ldx >= (size_t)ps->d, SUBQ_ERR_ARG, "ldx = %zu < d = %d", ldx, ps->d);    \
    if (ps->cu) {                                                                        \
      SUBQ_CALL(subq_cuda_polysketch_features(ps->cu, sizeof(T) == sizeof(float), n, X,  \
                                              ldx, F, ldf));                             \
      return SUBQ_OK;                                                                    \
    }                                                                                    \
    if (!ps->s2) return APPLY(ps->s1, n, X, ldx, F, ldf);                                \
    const T sr = (T)sqrt((double)ps->r);                                                 \
    const int r = ps->r;                                                                 \
    for (size_t i0 = 0; i0 < n; i0 += PS_BLOCK) {                                        \
      size_t nb = n - i0 < PS_BLOCK ? n - i0 : PS_BLOCK;                                 \
      SUBQ_CALL(APPLY(ps->s1, nb, X + i0 * ldx, ldx, F + i0 * ldf, ldf));                \
      SUBQ_CALL(APPLY(ps->s2, nb, X + i0 * ldx, ldx, W, (size_t)r));                     \
      for (size_t i = 0; i < nb; i++) {                                                  \
        T *restrict f = F + (i0 + i) * ldf;                                              \
        const T *restrict w = W + i * (size_t)r;                                         \
        for (int j = 0; j < r; j++) f[j] = sr * f[j] * w[j];                             \
      }                                                                                  \
    }                                                                                    \
    return SUBQ_OK;                                                                      \
  } while (0)

int subq_polysketch_features(subq_polysketch_t *ps, size_t n, const double *X, size_t ldx,
                             double *F, size_t ldf) {
  FEATURES_BODY(subq_sketch_apply, ps->w, double);
}

int subq_polysketch_features_f32(subq_polysketch_t *ps, size_t n, const float *X,
                                 size_t ldx, float *F, size_t ldf) {
  FEATURES_BODY(subq_sketch_apply_f32, ps->wf, float);
}

void subq_polysketch_destroy(subq_polysketch_t **ps) {
  if (!ps || !*ps) return;
  subq_sketch_destroy(&(*ps)->s1);
  subq_sketch_destroy(&(*ps)->s2);
  subq_free(&(*ps)->w);
  subq_free(&(*ps)->wf);
  subq_cuda_polysketch_destroy(&(*ps)->cu);
  subq_free(ps);
}
