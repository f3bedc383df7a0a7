/* The CPU build's stand-ins for src/cuda (compiled only without -DSUBQ_CUDA=ON): no device
 * is visible and every device entry point is SUBQ_ERR_UNSUPPORTED.  The public
 * set_device functions refuse SUBQ_DEVICE_CUDA first, so these stubs are reached only by
 * a bug; they exist so that the C modules need no #ifdef (cuda/subq_cuda.h). */
#include <stdio.h>

#include "cuda/subq_cuda.h"
#include "subq/core.h"

#define NOT_BUILT()                                                                       \
  SUBQ_FAIL(SUBQ_ERR_UNSUPPORTED, "this libsubq was built without CUDA (configure with "    \
                                  "-DSUBQ_CUDA=ON)")

int subq_cuda_device_count(int *count, char *desc, size_t cap) {
  *count = 0;
  snprintf(desc, cap, "not built (configure with -DSUBQ_CUDA=ON)");
  return SUBQ_OK;
}
int subq_cuda_device_name(int device, char *name, size_t cap) {
  (void)device;
  snprintf(name, cap, "none");
  return NOT_BUILT();
}
int subq_cuda_bind(int device) {
  (void)device;
  return NOT_BUILT();
}
int subq_cuda_bound(void) { return -1; }
void subq_cuda_release(void) {}
int subq_cuda_host_alloc(size_t n, size_t size, void *out_ptr) {
  return subq_malloc(n, size, out_ptr);
}
void subq_cuda_host_free(void *pp) { subq_free(pp); }
int subq_cuda_gemm_rate(int single, double *gflops) {
  (void)single;
  *gflops = 0;
  return NOT_BUILT();
}

int subq_cuda_gram_local(const subq_dmat_t *A, double *G) {
  (void)A, (void)G;
  return NOT_BUILT();
}
int subq_cuda_lev_apply(const subq_dmat_t *K, const double *W, size_t r, double *tau) {
  (void)K, (void)W, (void)r, (void)tau;
  return NOT_BUILT();
}

int subq_cuda_sketch_create(const subq_cuda_sketch_desc_t *desc, subq_cuda_sketch_t **s) {
  (void)desc;
  *s = NULL;
  return NOT_BUILT();
}
void subq_cuda_sketch_destroy(subq_cuda_sketch_t **s) { (void)s; }
int subq_cuda_sketch_apply(subq_cuda_sketch_t *s, int f32, size_t n, const void *X,
                           size_t ldx, void *Y, size_t ldy) {
  (void)s, (void)f32, (void)n, (void)X, (void)ldx, (void)Y, (void)ldy;
  return NOT_BUILT();
}
int subq_cuda_polysketch_create(const subq_cuda_sketch_desc_t *s1,
                                const subq_cuda_sketch_desc_t *s2,
                                subq_cuda_polysketch_t **ps) {
  (void)s1, (void)s2;
  *ps = NULL;
  return NOT_BUILT();
}
void subq_cuda_polysketch_destroy(subq_cuda_polysketch_t **ps) { (void)ps; }
int subq_cuda_polysketch_features(subq_cuda_polysketch_t *ps, int f32, size_t n,
                                  const void *X, size_t ldx, void *F, size_t ldf) {
  (void)ps, (void)f32, (void)n, (void)X, (void)ldx, (void)F, (void)ldf;
  return NOT_BUILT();
}

int subq_cuda_attn_create(const subq_cuda_attn_desc_t *desc, subq_cuda_attn_t **a) {
  (void)desc;
  *a = NULL;
  return NOT_BUILT();
}
void subq_cuda_attn_destroy(subq_cuda_attn_t **a) { (void)a; }
void subq_cuda_attn_stats(const subq_cuda_attn_t *a, double *flops, double *seconds) {
  (void)a;
  *flops = *seconds = 0;
}
int subq_cuda_attn_exact_begin(subq_cuda_attn_t *a, int f32, size_t nq, size_t q0,
                               const void *Q) {
  (void)a, (void)f32, (void)nq, (void)q0, (void)Q;
  return NOT_BUILT();
}
int subq_cuda_attn_exact_shard(subq_cuda_attn_t *a, size_t nk, size_t k0, const void *K,
                               const void *V) {
  (void)a, (void)nk, (void)k0, (void)K, (void)V;
  return NOT_BUILT();
}
int subq_cuda_attn_exact_end(subq_cuda_attn_t *a, void *O) {
  (void)a, (void)O;
  return NOT_BUILT();
}
int subq_cuda_attn_ps_begin(subq_cuda_attn_t *a, int f32, size_t nl, size_t g0,
                            const void *Qn, const void *Kn, const void *V) {
  (void)a, (void)f32, (void)nl, (void)g0, (void)Qn, (void)Kn, (void)V;
  return NOT_BUILT();
}
int subq_cuda_attn_ps_state(subq_cuda_attn_t *a, void *Z) {
  (void)a, (void)Z;
  return NOT_BUILT();
}
int subq_cuda_attn_ps_output(subq_cuda_attn_t *a, const void *Z, void *O) {
  (void)a, (void)Z, (void)O;
  return NOT_BUILT();
}
void subq_cuda_attn_ps_end(subq_cuda_attn_t *a) { (void)a; }

int subq_cuda_polar_create(const subq_cuda_polar_desc_t *desc, subq_cuda_polar_t **p) {
  (void)desc;
  *p = NULL;
  return NOT_BUILT();
}
void subq_cuda_polar_destroy(subq_cuda_polar_t **p) { (void)p; }
int subq_cuda_polar_encode(subq_cuda_polar_t *p, size_t n, const float *X, unsigned char *code,
                           unsigned short *radii, subq_cuda_qcodes_t **dc) {
  (void)p, (void)n, (void)X, (void)code, (void)radii;
  if (dc) *dc = NULL;
  return NOT_BUILT();
}
void subq_cuda_qcodes_destroy(subq_cuda_qcodes_t **dc) { (void)dc; }
int subq_cuda_polar_scores(subq_cuda_polar_t *p, const subq_cuda_qcodes_t *dc,
                           const unsigned char *code, const unsigned short *radii, size_t rows,
                           size_t nqry, const float *Qr, float *S, size_t lds) {
  (void)p, (void)dc, (void)code, (void)radii, (void)rows, (void)nqry, (void)Qr, (void)S, (void)lds;
  return NOT_BUILT();
}
int subq_cuda_polar_wsum(subq_cuda_polar_t *p, const subq_cuda_qcodes_t *dc,
                         const unsigned char *code, const unsigned short *radii, size_t rows,
                         size_t nqry, const float *P, size_t ldp, float *O) {
  (void)p, (void)dc, (void)code, (void)radii, (void)rows, (void)nqry, (void)P, (void)ldp, (void)O;
  return NOT_BUILT();
}

int subq_cuda_kde_create(int type, double h, size_t nloc, size_t d, const double *X,
                         subq_cuda_kde_t **k) {
  (void)type, (void)h, (void)nloc, (void)d, (void)X;
  *k = NULL;
  return NOT_BUILT();
}
void subq_cuda_kde_destroy(subq_cuda_kde_t **k) { (void)k; }
int subq_cuda_kde_sums(subq_cuda_kde_t *k, size_t q, const double *Y, double *part) {
  (void)k, (void)q, (void)Y, (void)part;
  return NOT_BUILT();
}

int subq_cuda_levatt_partial(int fn, int p, double scale, int causal, size_t d, size_t dv,
                             size_t nq, const double *Q, size_t q0, size_t nk, const double *K,
                             const double *V, const int64_t *kidx, double *m, double *l,
                             double *O) {
  (void)fn, (void)p, (void)scale, (void)causal, (void)d, (void)dv, (void)nq, (void)Q, (void)q0;
  (void)nk, (void)K, (void)V, (void)kidx, (void)m, (void)l, (void)O;
  return NOT_BUILT();
}

int subq_cuda_polar_attention(subq_cuda_polar_t *pk, const subq_cuda_qcodes_t *dk,
                              const unsigned char *kcode, const unsigned short *krad,
                              subq_cuda_polar_t *pv, const subq_cuda_qcodes_t *dv,
                              const unsigned char *vcode, const unsigned short *vrad,
                              size_t rows, size_t nq, const float *Qr, float scale, double *m,
                              double *l, float *O) {
  (void)pk, (void)dk, (void)kcode, (void)krad, (void)pv, (void)dv, (void)vcode, (void)vrad;
  (void)rows, (void)nq, (void)Qr, (void)scale, (void)m, (void)l, (void)O;
  return NOT_BUILT();
}
