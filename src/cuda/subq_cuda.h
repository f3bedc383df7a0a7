/* Private: the C interface of src/cuda (not installed).
 *
 * The CUDA build (-DSUBQ_CUDA=ON) implements these functions in the .cu files of src/cuda; the CPU
 * build links src/cuda/nocuda.c instead, whose stubs return SUBQ_ERR_UNSUPPORTED.  So the
 * C modules call subq_cuda_* without #ifdef and the CPU build has no CUDA dependency.
 * A module reaches this code only when a caller asked for SUBQ_DEVICE_CUDA, which the
 * public set_device functions refuse when the build has no CUDA or no device is visible.
 *
 * Conventions: every function returns 0 or a SUBQ_ERR_* code with a message (CUDA, cuBLAS
 * or cuFFT failures are SUBQ_ERR_DEVICE naming the call, device allocations that fail are
 * SUBQ_ERR_MEM).  Arrays passed in are host arrays, row-major, with the same shapes as the
 * CPU function the call replaces; device buffers never leave src/cuda.  None of these
 * functions is collective: the C callers do the MPI communication on host buffers (Open
 * MPI on Debian is not CUDA-aware), pinned with subq_cuda_host_alloc where the volume
 * matters, and agree on errors at their phase boundaries.  The device used is the one
 * bound by subq_cuda_bind (subq_device_select). */
#ifndef SUBQ_CUDA_IFACE_H
#define SUBQ_CUDA_IFACE_H

#include <stddef.h>
#include <stdint.h>

#include "subq/dist.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- devices (device.cu) --------------------------------------------------------- */

/* Visible devices and a description ("2 x NVIDIA H200" or why none is visible). */
int subq_cuda_device_count(int *count, char *desc, size_t cap);
/* Name of device `device` ("NVIDIA H200, 139 GiB, sm_90"). */
int subq_cuda_device_name(int device, char *name, size_t cap);
/* Make `device` current for this process and create the library's cuBLAS handle on it. */
int subq_cuda_bind(int device);
/* The device bound on this process, -1 when none. */
int subq_cuda_bound(void);
/* Destroy the cuBLAS handle (subq_finalize). */
void subq_cuda_release(void);
/* Pinned (page-locked) host memory for MPI staging; same contract as subq_malloc, and
 * subq_cuda_host_free accepts NULL and *p == NULL. */
int subq_cuda_host_alloc(size_t n, size_t size, void *out_ptr);
void subq_cuda_host_free(void *pp);
/* cuBLAS gemm rate (GFLOP/s) at n = 4096 on the bound device, single or double. */
int subq_cuda_gemm_rate(int single, double *gflops);

/* ---- leverage scores (lev.cu) ---------------------------------------------------- */

/* G = A_loc^T A_loc of the local rows only (d x d row-major float64, full symmetric):
 * cublasDsyrk over row chunks, float32 rows converted to float64 on the device.  The
 * caller sums G over ranks (subq_lev_weights, gram method). */
int subq_cuda_gram_local(const subq_dmat_t *A, double *G);
/* Same contract as subq_lev_apply: tau[i] = || k_i W ||^2 for the local rows (cublasDgemm
 * over row chunks + a row sum-of-squares kernel). */
int subq_cuda_lev_apply(const subq_dmat_t *K, const double *W, size_t r, double *tau);

/* ---- sketches (sketch.cu) -------------------------------------------------------- */

/* What a sketch is, as plain arrays (host, owned by the subq_sketch_t it describes):
 * type as subq_sketch_type_t; Gaussian: S (d x r, scaled); SRHT: h, sign (d), col (r);
 * CountSketch/TensorSketch: bucket, csign (p x d). */
typedef struct {
  int type, d, r, p, h;
  const double *S;
  const double *sign;
  const int *col;
  const int *bucket;
  const signed char *csign;
} subq_cuda_sketch_desc_t;

typedef struct subq_cuda_sketch subq_cuda_sketch_t;
typedef struct subq_cuda_polysketch subq_cuda_polysketch_t;

/* Copy a sketch to the device (and make the cuFFT plans of a TensorSketch). */
int subq_cuda_sketch_create(const subq_cuda_sketch_desc_t *desc, subq_cuda_sketch_t **s);
void subq_cuda_sketch_destroy(subq_cuda_sketch_t **s);
/* Same contract as subq_sketch_apply (f32 = 0) / subq_sketch_apply_f32 (f32 = 1). */
int subq_cuda_sketch_apply(subq_cuda_sketch_t *s, int f32, size_t n, const void *X,
                           size_t ldx, void *Y, size_t ldy);

/* The PolySketch feature map phi on the device: s2 NULL for a single sketch, else
 * phi(x) = sqrt(r) (x S1) .* (x S2) (sketch.h). */
int subq_cuda_polysketch_create(const subq_cuda_sketch_desc_t *s1,
                                const subq_cuda_sketch_desc_t *s2,
                                subq_cuda_polysketch_t **ps);
void subq_cuda_polysketch_destroy(subq_cuda_polysketch_t **ps);
/* Same contract as subq_polysketch_features(_f32). */
int subq_cuda_polysketch_features(subq_cuda_polysketch_t *ps, int f32, size_t n,
                                  const void *X, size_t ldx, void *F, size_t ldf);
/* The device copy of a polysketch (src/sketch/polysketch.c): NULL until
 * subq_polysketch_set_device(ps, SUBQ_DEVICE_CUDA). */
struct subq_polysketch;
subq_cuda_polysketch_t *subq_polysketch_cuda_(const struct subq_polysketch *ps);

/* ---- attention (attn_exact.cu, attn_polysketch.cu) ------------------------------- */

/* The options of a set-up subq_attn_t (attn.h), and its device feature map. */
typedef struct {
  int type; /* subq_attn_type_t */
  int d, dv, causal, p, r, block, mixed;
  double scale;
  subq_cuda_polysketch_t *phi; /* polysketch only; not owned */
} subq_cuda_attn_desc_t;

typedef struct subq_cuda_attn subq_cuda_attn_t;

int subq_cuda_attn_create(const subq_cuda_attn_desc_t *desc, subq_cuda_attn_t **a);
void subq_cuda_attn_destroy(subq_cuda_attn_t **a);
/* flops of the cuBLAS calls of the last apply, and the device seconds of that apply. */
void subq_cuda_attn_stats(const subq_cuda_attn_t *a, double *flops, double *seconds);

/* Exact softmax / polynomial attention of this rank's nq queries at global positions
 * q0.. (Q as the CPU ring code holds it: raw for softmax, layer-normalised for poly):
 * begin uploads Q and clears the running (max, sum, output); shard adds nk keys at global
 * positions k0.. (K layer-normalised for poly), continuing the online softmax across
 * shards (equal to the CPU's log-sum-exp merge up to rounding); end writes O (nq x dv). */
int subq_cuda_attn_exact_begin(subq_cuda_attn_t *a, int f32, size_t nq, size_t q0,
                               const void *Q);
int subq_cuda_attn_exact_shard(subq_cuda_attn_t *a, size_t nk, size_t k0, const void *K,
                               const void *V);
int subq_cuda_attn_exact_end(subq_cuda_attn_t *a, void *O);

/* Polysketch attention of this rank's nl tokens at global positions g0.. (Qn, Kn
 * layer-normalised, V raw): begin uploads them and computes the features; state writes
 * the sum over the local tokens of t(phi k)^T [v 1] into Z (r(r+1)/2 x (dv+1)); output
 * computes O given Z = the state of all earlier tokens (causal: block algorithm of
 * attn.h; non-causal: Z = the state of all tokens, O = t(phi q) Z normalised); end frees
 * the per-apply buffers. */
int subq_cuda_attn_ps_begin(subq_cuda_attn_t *a, int f32, size_t nl, size_t g0,
                            const void *Qn, const void *Kn, const void *V);
int subq_cuda_attn_ps_state(subq_cuda_attn_t *a, void *Z);
int subq_cuda_attn_ps_output(subq_cuda_attn_t *a, const void *Z, void *O);
void subq_cuda_attn_ps_end(subq_cuda_attn_t *a);


/* ---- PolarQuant (quant.cu) ------------------------------------------------------- */

/* A set-up PolarQuant quantizer as plain host arrays (owned by the subq_quant_t):
 * precond as SUBQ_PRECOND_* with signs (dim, Hadamard) or rot (dim x dim, y = rot x,
 * dense); per level l = 0..levels-1: bits, cbk = 2^bits sorted centroids cb (radians)
 * and their float cos/sin (the CPU's tables, so both paths use the same numbers). */
typedef struct {
  int dim, levels, precond;
  int bits[8], cbk[8];
  const float *signs, *rot;
  const double *cb[8];
  const float *cbcos[8], *cbsin[8];
} subq_cuda_polar_desc_t;

typedef struct subq_cuda_polar subq_cuda_polar_t;
/* A packed tensor's codes and fp16 radii kept on the device (made by encode). */
typedef struct subq_cuda_qcodes subq_cuda_qcodes_t;

/* Copy the quantizer to the device.  SUBQ_ERR_UNSUPPORTED (naming the sizes) when the
 * per-query score tables, (dim/2) 2^bits[0] floats plus the cos/sin of levels 2..L, do
 * not fit in 48 KiB of shared memory. */
int subq_cuda_polar_create(const subq_cuda_polar_desc_t *desc, subq_cuda_polar_t **p);
void subq_cuda_polar_destroy(subq_cuda_polar_t **p);
/* Same contract as subq_quant_encode's quantized part: n rows X (n x dim, original
 * coordinates, finite) preconditioned, polar transformed and coded on the device; code
 * (ncode_bits = n (dim/2^L) bpb bits, LSB first, zero-filled by the caller) and radii
 * (n dim/2^L fp16) written to the host; *dc (may be NULL: not kept) keeps the device copy
 * for scores/wsum. */
int subq_cuda_polar_encode(subq_cuda_polar_t *p, size_t n, const float *X, unsigned char *code,
                           unsigned short *radii, subq_cuda_qcodes_t **dc);
void subq_cuda_qcodes_destroy(subq_cuda_qcodes_t **dc);
/* S[i*lds + j] = q'_i . xhat_j for the rows j < rows of the tensor (codes from dc when
 * not NULL, else uploaded from code/radii), Qr (nqry x dim) preconditioned queries: a
 * per-query level-1 table in shared memory, the tree folded per key block (the CPU's
 * scores_). */
int subq_cuda_polar_scores(subq_cuda_polar_t *p, const subq_cuda_qcodes_t *dc,
                           const unsigned char *code, const unsigned short *radii, size_t rows,
                           size_t nqry, const float *Qr, float *S, size_t lds);
/* O[i*dim + c] = sum_j P[i*ldp + j] xhat_j[c] (preconditioned coordinates): the rows are
 * decoded on the device in chunks and multiplied by cublasSgemm. */
int subq_cuda_polar_wsum(subq_cuda_polar_t *p, const subq_cuda_qcodes_t *dc,
                         const unsigned char *code, const unsigned short *radii, size_t rows,
                         size_t nqry, const float *P, size_t ldp, float *O);

/* Decode attention over one shard from the codes, all on the device (no fp16 residual
 * rows): for each query i of Qr (nq x dim, preconditioned by the key quantizer), the
 * scores s_j = q'_i . khat_j of the rows j < rows (polar_scores), m_i = max_j scale s_j,
 * w_ij = expf(scale s_j - m_i), l_i = sum_j w_ij (float64), and O_i = sum_j w_ij vhat_j
 * (nq x dim, in the value quantizer's preconditioned coordinates): attention.c's local
 * part without the n-float round trips through the host.  Codes from dk/dv when not NULL,
 * else uploaded.  m, l (nq) and O are host arrays. */
int subq_cuda_polar_attention(subq_cuda_polar_t *pk, const subq_cuda_qcodes_t *dk,
                              const unsigned char *kcode, const unsigned short *krad,
                              subq_cuda_polar_t *pv, const subq_cuda_qcodes_t *dv,
                              const unsigned char *vcode, const unsigned short *vrad,
                              size_t rows, size_t nq, const float *Qr, float scale, double *m,
                              double *l, float *O);

/* ---- exact KDE blocks (kde.cu) --------------------------------------------------- */

typedef struct subq_cuda_kde subq_cuda_kde_t;
/* Upload the local points X (nloc x d, float64) for kernel `type` (subq_kernel_type_t)
 * with bandwidth h. */
int subq_cuda_kde_create(int type, double h, size_t nloc, size_t d, const double *X,
                         subq_cuda_kde_t **k);
void subq_cuda_kde_destroy(subq_cuda_kde_t **k);
/* part[i] += sum_j k(x_j, y_i) over the local points for q queries Y (q x d): tiles of
 * cublasDgemm -2 Y X^T + |y|^2 + |x|^2 (Gaussian, exponential) or a direct L1 kernel
 * (Laplacian), then the kernel and a warp-per-row sum (subq_kernel_block's arithmetic). */
int subq_cuda_kde_sums(subq_cuda_kde_t *k, size_t q, const double *Y, double *part);

/* ---- LevAttention restricted attention (levatt.cu) ------------------------------ */

/* The running partials of subq_levatt_attend (partial_ of src/lev/levatt_attend.c): fn 0
 * f = |x|^p, fn 1 f = exp(scale x) with a running max; queries Q (nq x d) at global
 * positions q0.., keys K (nk x d) and values V (nk x dv) at positions kidx (NULL: 0..nk-1),
 * causal mask when causal != 0.  m, l (nq) and O (nq x dv) are host arrays updated in
 * place (m = -inf, l = 0, O = 0 to start). */
int subq_cuda_levatt_partial(int fn, int p, double scale, int causal, size_t d, size_t dv,
                             size_t nq, const double *Q, size_t q0, size_t nk, const double *K,
                             const double *V, const int64_t *kidx, double *m, double *l,
                             double *O);

#ifdef __cplusplus
}
#endif
#endif
