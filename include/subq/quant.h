/* subq quant: KV-cache quantizers.  PolarQuant (Han, Kacham, Karbasi, Mirrokni, Zandieh
 * 2025, "PolarQuant: Quantizing KV Caches with Polar Transformation", arXiv 2502.02617)
 * and the peers it is judged against, all behind one object:
 *
 *   subq_quant_create(type, dim, &q)        type: polarquant | kivi | qjl | turbo | q4_0 |
 *                                           fp16 | fp32
 *   subq_quant_set_*(q, ...)                bits, levels, preconditioner, codebook, ...
 *   subq_quant_setup(q, n, X)               codebooks, rotation (X: training rows for
 *                                           online codebooks, may be NULL otherwise)
 *   subq_quant_encode(q, n, X, &t)          many times: X (n x dim) -> packed tensor t
 *   subq_quant_decode / subq_quant_scores   dequantize, or score queries from the codes
 *   subq_qtensor_destroy, subq_quant_destroy
 *
 * Layout: every matrix is row-major, one row per token (n x dim, float32).  A packed
 * tensor stores exactly subq_qtensor_bits(t) bits: the bit-packed codes, the fp16
 * metadata (radii, scales, norms) and the fp16 residual window (the last `residual`
 * tokens).  Nothing here is collective except subq_quant_attention.
 *
 * Randomness (rotation signs, dense rotation, QJL sketch, k-means++ seeding) is drawn from
 * the counter RNG keyed by the quantizer's seed, so two quantizers with the same seed and
 * dim (keys and values, or two ranks) share the same rotation. */
#ifndef SUBQ_QUANT_H
#define SUBQ_QUANT_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "subq/device.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct subq_quant subq_quant_t;
typedef struct subq_qtensor subq_qtensor_t;

enum { SUBQ_PRECOND_HADAMARD = 0, SUBQ_PRECOND_DENSE = 1, SUBQ_PRECOND_NONE = 2 };
enum { SUBQ_CODEBOOK_OFFLINE = 0, SUBQ_CODEBOOK_ONLINE = 1 };
enum { SUBQ_QUANT_KEYS = 0, SUBQ_QUANT_VALUES = 1 };
#define SUBQ_POLAR_MAX_LEVELS 8

/* Create a quantizer of `type` for vectors of `dim` coordinates with its defaults:
 *   polarquant  levels 4, bits 4,2,2,2 (3.875 bits/coord with the fp16 radius), offline
 *               codebooks, randomized Hadamard preconditioning (paper, Sec. 3-4);
 *   turbo       random rotation (Hadamard) + per-coordinate Lloyd-Max at bits[0] = 3 on
 *               the coordinate density of a random unit vector, + fp16 norm (TurboQuant
 *               MSE variant, Zandieh et al. 2025, arXiv 2504.19874, Alg. 1);
 *   kivi        2-bit asymmetric min/max, group 32; keys per channel (groups of 32 tokens),
 *               values per token (groups of 32 channels); fp16 scale and zero point
 *               (Liu et al. 2024, arXiv 2402.02750, Sec. 3.2);
 *   qjl         keys as sign(S k), S m x dim Gaussian, m = sketch dim (default 4*dim - 16),
 *               + fp16 norm; reconstruction sqrt(pi/2)/m * |k| * S^T sign(S k) (Zandieh,
 *               Daliri, Han 2024, arXiv 2406.03482, Def. 1 / Thm. 3.2);
 *   q4_0        llama.cpp q4_0 (blocks of 32, fp16 scale, 4-bit codes: 4.5 bits/coord)
 *               after a randomized Hadamard rotation;
 *   fp16, fp32  unquantized references.
 * Errors: SUBQ_ERR_ARG (unknown type, dim < 1), SUBQ_ERR_MEM. */
int subq_quant_create(const char *type, int dim, subq_quant_t **q);
/* Free the quantizer; accepts NULL and *q == NULL. */
void subq_quant_destroy(subq_quant_t **q);
/* The type name given at creation. */
const char *subq_quant_type(const subq_quant_t *q);

/* Options (before setup; after setup they give SUBQ_ERR_ARG "already set up").
 * bits: polarquant takes one width per level (n == levels), the others one width; each
 * 1..8 (polarquant up to 16 for round-trip tests).  Errors: SUBQ_ERR_ARG naming value. */
int subq_quant_set_bits(subq_quant_t *q, const int *bits, int n);
/* PolarQuant recursion depth L: blocks of 2^L coordinates; 1..SUBQ_POLAR_MAX_LEVELS.
 * dim must be a multiple of 2^L (checked at setup: a clear error, no padding). */
int subq_quant_set_levels(subq_quant_t *q, int levels);
/* SUBQ_PRECOND_*.  Hadamard needs dim a power of two (checked at setup). */
int subq_quant_set_precondition(subq_quant_t *q, int precond);
/* SUBQ_CODEBOOK_OFFLINE (Lloyd-Max on the analytic angle density) or _ONLINE (1-D
 * k-means++ on the angles of the rows given to setup).  PolarQuant only. */
int subq_quant_set_codebook(subq_quant_t *q, int codebook);
int subq_quant_set_seed(subq_quant_t *q, uint64_t seed);
/* SUBQ_QUANT_KEYS or _VALUES: KIVI's grouping (keys per channel, values per token). */
int subq_quant_set_role(subq_quant_t *q, int role);
/* KIVI group size (tokens for keys, channels for values), >= 1. */
int subq_quant_set_group(subq_quant_t *q, int group);
/* QJL sketch dimension m >= 1 (bits per key for the signs). */
int subq_quant_set_sketch_dim(subq_quant_t *q, int m);
/* Keep the last `n` rows of every encoded matrix in fp16 (KIVI's recent window). */
int subq_quant_set_residual(subq_quant_t *q, size_t n);
/* Where encode, scores and the attention's weighted sum of values run (before setup;
 * default SUBQ_DEVICE_CPU).  SUBQ_DEVICE_CUDA (polarquant only) runs the preconditioning,
 * polar transform and codebook search of encode, the scores from the codes (per-query
 * level-1 tables in shared memory) and the value sums of subq_quant_attention on the
 * rank's bound GPU (src/cuda/quant.cu); the codes are the CPU's up to angles within an
 * ulp or two of a cell boundary (atan2/hypot differ), scores agree to float rounding, and
 * an encoded tensor keeps a device copy of its codes.  On cuda, encode/scores/attention
 * share the rank's one stream: call them from one thread.  Errors: SUBQ_ERR_ARG (already set
 * up), SUBQ_ERR_UNSUPPORTED (not polarquant; a build without CUDA), SUBQ_ERR_DEVICE (no
 * device bound: subq_device_select); at setup, SUBQ_ERR_UNSUPPORTED when the score tables,
 * (dim/2) 2^bits[0] floats, exceed 48 KiB of shared memory. */
int subq_quant_set_device(subq_quant_t *q, subq_device_t dev);

/* Build the preconditioner and codebooks.  X: n x dim rows used only by online codebooks
 * (NULL/n = 0 allowed otherwise; online with n = 0 is SUBQ_ERR_ARG).  Offline codebooks
 * are Lloyd-Max on the analytic densities (subq_lloyd_max).
 * Errors: SUBQ_ERR_ARG (dim incompatible with levels/Hadamard/q4_0 blocks, named),
 * SUBQ_ERR_NUMERIC (non-finite training row), SUBQ_ERR_LAPACK, SUBQ_ERR_MEM. */
int subq_quant_setup(subq_quant_t *q, size_t n, const float *X);

/* Quantize n rows X (n x dim) into a new packed tensor *t (n = 0 allowed).
 * Errors: SUBQ_ERR_ARG (not set up), SUBQ_ERR_NUMERIC naming row and column of the first
 * NaN/Inf, SUBQ_ERR_MEM.  Not collective; thread-safe for distinct tensors. */
int subq_quant_encode(const subq_quant_t *q, size_t n, const float *X, subq_qtensor_t **t);
/* Dequantize t into X (rows(t) x dim), in the original (unrotated) coordinates. */
int subq_quant_decode(const subq_quant_t *q, const subq_qtensor_t *t, float *X);
/* Scores S = Q Xhat^T from the codes: Q is nq x dim, S is nq x rows(t) (row-major).
 * PolarQuant uses per-query lookup tables (level-1 table of q'_{2j} cos t + q'_{2j+1}
 * sin t over the codebook, then cos/sin of the higher-level codes up the tree, times the
 * fp16 radius); QJL uses its estimator; others dequantize then multiply (BLAS).  Agrees
 * with decode-then-dot to float rounding. */
int subq_quant_scores(const subq_quant_t *q, const subq_qtensor_t *t, size_t nq,
                      const float *Q, float *S);
/* Apply the preconditioner Pi (inverse = 0) or Pi^T (inverse = 1) to n rows in place
 * (y = Pi x per row).  Pi is orthogonal: (1/sqrt d) H D for Hadamard, Q of a QR of a
 * Gaussian for dense, identity for none.  Errors: SUBQ_ERR_ARG when not set up. */
int subq_quant_rotate(const subq_quant_t *q, size_t n, float *X, int inverse);
/* The codebook of PolarQuant level `level` (1-based) or of TurboQuant (level 1):
 * *k = 2^bits centroids, sorted, in radians (PolarQuant) or coordinate units (turbo). */
int subq_quant_codebook(const subq_quant_t *q, int level, const double **centroids, int *k);

/* Packed tensor accessors.  bits: exact storage in bits including every piece of
 * metadata and the fp16 residual rows; bits per coordinate = bits / (rows * dim). */
size_t subq_qtensor_rows(const subq_qtensor_t *t);
double subq_qtensor_bits(const subq_qtensor_t *t);
void subq_qtensor_destroy(subq_qtensor_t **t);

/* ---- building blocks (PolarQuant, Sec. 3) --------------------------------------- */

/* Recursive polar transform of nblocks blocks of 2^L coordinates (x: nblocks x 2^L).
 * Per block: radius[b] = |x_block| and angles[b*(2^L-1) + ...] ordered level 1 first
 * (2^(L-1) angles atan2(x_{2j+1}, x_{2j}) in [0, 2pi)), then level 2 (2^(L-2) angles
 * atan2(|right|, |left|) in [0, pi/2]) ... level L (1 angle).  Zero blocks give angles 0.
 * Paper Alg. 1 / Eq. (3). */
void subq_polar_transform(int L, size_t nblocks, const double *x, double *radius,
                          double *angles);
/* Inverse of subq_polar_transform (x from radius and angles). */
void subq_polar_inverse(int L, size_t nblocks, const double *radius, const double *angles,
                        double *x);
/* Normalized density of a level-`level` angle of a Gaussian vector: level 1 uniform
 * 1/(2pi) on [0, 2pi); level l >= 2: Gamma(m)/(2^(m-1)... normalised) sin^(m-1)(2psi)
 * on [0, pi/2] with m = 2^(l-1) (paper Lemma 2).  0 outside the support. */
double subq_polar_density(int level, double psi);
/* Lloyd-Max quantizer of k cells for a density f on [a, b] (f need not be normalised).
 * Cell masses and first moments by composite 8-point Gauss-Legendre quadrature
 * (16 panels per cell, exact for polynomials of degree 15 on each panel); iterates
 * centroid <- E[x | cell], boundary <- midpoint until the centroids move < 1e-13 (b - a)
 * or 20000 iterations.  centroids (k, sorted); *mse = sum_k int (x - c_k)^2 f / int f
 * (may be NULL).  Errors: SUBQ_ERR_ARG (k < 1, a >= b), SUBQ_ERR_NUMERIC (zero mass). */
int subq_lloyd_max(double (*f)(double x, void *ctx), void *ctx, double a, double b, int k,
                   double *centroids, double *mse);
/* 1-D k-means++ (Arthur & Vassilvitskii 2007): D^2 seeding with the counter RNG
 * (seed, stream), then Lloyd iterations to convergence (<= 100).  centroids (k, sorted).
 * Fewer than k distinct values: the remaining centroids repeat the largest.
 * Errors: SUBQ_ERR_ARG (n == 0, k < 1), SUBQ_ERR_MEM. */
int subq_kmeans1d(size_t n, const double *x, int k, uint64_t seed, uint64_t stream,
                  double *centroids);

/* ---- sequence-parallel decode attention over a compressed cache ---------------- */

/* Collective over comm.  Each rank holds one contiguous shard of the cache (K, V packed
 * tensors with the same rows, possibly 0) and the same nq queries Q (nq x dim).  Computes
 * O = softmax(scale * Q K^T) V over the whole cache (nq x dim): each rank scores its shard
 * from the codes and forms (max, sum of exp, exp-weighted sum of decoded values); the
 * parts are merged with the log-sum-exp rule by Allreduce (max, then sums).  A rank with
 * an empty shard contributes nothing.  Result on every rank; equal for any number of
 * ranks to rounding.  Errors (agreed on all ranks): SUBQ_ERR_ARG, SUBQ_ERR_MEM,
 * SUBQ_ERR_MPI, SUBQ_ERR_PEER. */
int subq_quant_attention(const subq_quant_t *qk, const subq_qtensor_t *K,
                         const subq_quant_t *qv, const subq_qtensor_t *V, size_t nq,
                         const float *Q, float scale, float *O, MPI_Comm comm);

#ifdef __cplusplus
}
#endif
#endif
