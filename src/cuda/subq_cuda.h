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

#ifdef __cplusplus
}
#endif
#endif
