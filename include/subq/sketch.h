/* subq sketch: oblivious random sketches from the counter-based RNG, and the polynomial
 * sketches of PolySketchFormer.
 *
 * A sketch is an object: create -> set options -> setup -> apply (many times) -> destroy,
 * like an FFTW plan.  Every random entry (a Gaussian entry, a sign, a hash bucket, a
 * sampled Hadamard column) is drawn with subq_rng_* keyed by (seed, stream, global index),
 * so every rank (and every thread) that sets up a sketch with the same seed and stream
 * holds the same sketch; it is generated on demand, never communicated.  Sketching a
 * row-distributed matrix is therefore local: each rank applies the sketch to its own rows,
 * with no communication, and the result is bitwise the same at any number of ranks.
 *
 * Conventions: inputs are row-major n x d matrices (one vector per row, the row dimension
 * is the one distributed over ranks), outputs are row-major n x r.  The linear sketches
 * are normalised so that E[S S^T] = I_d: <xS, yS> is an unbiased estimate of <x, y>.
 *
 * Types
 *   SUBQ_SKETCH_GAUSSIAN     S = G / sqrt(r), G_ij ~ N(0,1) (stream `stream`, index i*r+j).
 *                            Applied with BLAS (dgemm/sgemm).
 *                            Var<xS,yS> = (|x|^2|y|^2 + <x,y>^2) / r.
 *   SUBQ_SKETCH_SRHT         S = D H P / sqrt(r): D random signs on the input padded with
 *                            zeros to the next power of two h >= d, H the unnormalised
 *                            h x h Walsh-Hadamard matrix (entries +-1, applied by the fast
 *                            Walsh-Hadamard transform in O(h log h)), P samples r columns
 *                            uniformly with replacement.  Signs: stream, index i; columns:
 *                            stream, index h + j.  Var<xS,yS> <= (|x|^2|y|^2 + <x,y>^2)/r:
 *                            given D, the r column estimates are independent with mean
 *                            <x,y> (H H^T = h I), and E_D[(a.Dh)^2 (b.Dh)^2] <=
 *                            |x|^2|y|^2 + 2<x,y>^2 (Rademacher fourth moment 1 < 3).
 *   SUBQ_SKETCH_COUNT        CountSketch (Charikar-Chen-Farach-Colton): coordinate i goes to
 *                            bucket h(i) in [0, r) with sign s(i) = +-1, both from one 64-bit
 *                            draw (seed, stream, i).  Var<xS,yS> = (|x|^2|y|^2 + <x,y>^2
 *                            - 2 sum_i x_i^2 y_i^2) / r <= 2|x|^2|y|^2 / r.
 *   SUBQ_SKETCH_TENSOR       TensorSketch of degree p (Pham & Pagh, KDD 2013): p independent
 *                            CountSketches C_1..C_p (streams stream .. stream+p-1), then
 *                            TS(x) = IFFT( prod_k FFT(C_k x) ) (circular convolution), with
 *                            FFTW r2c/c2r plans made in setup.  Not linear in x: it sketches
 *                            x^{(x)p}, <TS(x), TS(y)> is unbiased for <x,y>^p with
 *                            Var <= (2 + 3^p) |x|^{2p} |y|^{2p} / r (Avron, Nguyen, Woodruff,
 *                            "Subspace embeddings for the polynomial kernel", NIPS 2014,
 *                            Lemma 2; design.md quotes ~(3^p - 1)/r for unit vectors).
 */
#ifndef SUBQ_SKETCH_H
#define SUBQ_SKETCH_H

#include <stddef.h>
#include <stdint.h>

#include "subq/device.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  SUBQ_SKETCH_GAUSSIAN = 0,
  SUBQ_SKETCH_SRHT = 1,
  SUBQ_SKETCH_COUNT = 2,
  SUBQ_SKETCH_TENSOR = 3
} subq_sketch_type_t;

typedef struct subq_sketch subq_sketch_t;

/* Name <-> type: "gaussian", "srht", "countsketch", "tensorsketch".
 * subq_sketch_type_from_name errors: SUBQ_ERR_ARG naming the bad name. */
const char *subq_sketch_type_name(subq_sketch_type_t t);
int subq_sketch_type_from_name(const char *name, subq_sketch_type_t *t);

/* Create a sketch of the given type mapping R^d -> R^r.  Defaults: seed 0, stream 0,
 * degree 1 (TensorSketch).  Not collective.  Errors: SUBQ_ERR_ARG (d < 1, r < 1, bad
 * type, named), SUBQ_ERR_MEM. */
int subq_sketch_create(subq_sketch_type_t type, int d, int r, subq_sketch_t **s);
/* Seed and first RNG stream (a sketch uses streams [stream, stream + subq_sketch_streams)).
 * Must be called before setup. */
int subq_sketch_set_seed(subq_sketch_t *s, uint64_t seed, uint64_t stream);
/* Degree p >= 1 of a TensorSketch (other types accept only 1).  Errors: SUBQ_ERR_ARG. */
int subq_sketch_set_degree(subq_sketch_t *s, int p);
/* Where subq_sketch_apply(_f32) runs: SUBQ_DEVICE_CPU (default) or SUBQ_DEVICE_CUDA (the
 * device bound by subq_device_select; setup copies the sketch there and plans cuFFT for a
 * TensorSketch; apply takes and returns the same host arrays, equal to the CPU result up
 * to rounding).  Must be called before setup.  Errors: SUBQ_ERR_ARG (after setup),
 * SUBQ_ERR_UNSUPPORTED (cuda in a build without CUDA), SUBQ_ERR_DEVICE (no device
 * bound). */
int subq_sketch_set_device(subq_sketch_t *s, subq_device_t dev);
/* Number of RNG streams the sketch uses (TensorSketch: p; others 1). */
int subq_sketch_streams(const subq_sketch_t *s);
/* Generate the sketch (Gaussian matrix, signs, hashes, sampled columns) and make the FFTW
 * plans (TensorSketch).  Not collective; deterministic in (type, d, r, p, seed, stream).
 * Errors: SUBQ_ERR_MEM, SUBQ_ERR_INTERNAL (FFTW planning failed). */
int subq_sketch_setup(subq_sketch_t *s);

/* Y = sketch(X) for n rows: X is n x d row-major with leading dimension ldx >= d, Y is
 * n x r with ldy >= r (Y must not alias X).  Linear types compute Y = X S; TensorSketch
 * computes TS(x) row by row.  n = 0 is allowed.  No allocation for the linear types
 * (TensorSketch uses the buffers made in setup; one apply at a time per object).
 * Not collective: applied to the local rows of a row-distributed matrix it sketches the
 * distributed matrix with no communication.  Errors: SUBQ_ERR_ARG (not set up, bad ld). */
int subq_sketch_apply(subq_sketch_t *s, size_t n, const double *X, size_t ldx, double *Y,
                      size_t ldy);
/* Single precision: the same sketch (entries rounded to float), sgemm for Gaussian;
 * TensorSketch computes in double and rounds the result. */
int subq_sketch_apply_f32(subq_sketch_t *s, size_t n, const float *X, size_t ldx, float *Y,
                          size_t ldy);

/* Dense d x r matrix of a linear sketch (row-major, S[i*r + j]), e.g. for tests; for
 * TensorSketch SUBQ_ERR_ARG.  Errors: SUBQ_ERR_ARG (not set up). */
int subq_sketch_matrix(const subq_sketch_t *s, double *S);

/* CountSketch hash and sign of coordinate i for `buckets` buckets, stream `stream`: the
 * exact draw SUBQ_SKETCH_COUNT and the TensorSketch factors use.  Pure. */
void subq_count_sketch_hash(uint64_t seed, uint64_t stream, uint64_t i, int buckets,
                            int *bucket, int *sign);

/* In-place fast Walsh-Hadamard transform (unnormalised, Sylvester order) of each of the
 * n rows of X (row length h, a power of two, leading dimension ldx): x <- H_h x in
 * h log2 h additions.  Errors: SUBQ_ERR_ARG (h not a power of two). */
int subq_fwht(size_t n, int h, double *X, size_t ldx);
int subq_fwht_f32(size_t n, int h, float *X, size_t ldx);

void subq_sketch_destroy(subq_sketch_t **s);

/* ---- PolySketch features (Kacham, Mirrokni, Zhong 2024, arXiv 2310.01655, Sec. 3) ----
 *
 * A feature map phi: R^d -> R^r with <phi(x), phi(y)> ~ <x, y>^q for q = p/2, so that the
 * "self-tensored" kernel <phi(x), phi(y)>^2 is a non-negative approximation of <x,y>^p
 * with r^2 implicit features (PolySketchFormer Sec. 3.2).
 *   q = 1, Gaussian/SRHT/CountSketch:  phi(x) = x S                     (JL sketch)
 *   q = 2, Gaussian/SRHT:              phi(x) = sqrt(r) (x S1) .* (x S2)
 *                                      = (x G1) .* (x G2) / sqrt(r)    (paper's Alg. 1,
 *                                      degree 2; S1, S2 independent, streams s and s+1)
 *   q >= 1, TensorSketch:              phi(x) = TS_q(x)  (Pham-Pagh)
 * Degree-2 variance (Gaussian, exact): Var<phi x, phi y> =
 *   ((|x|^2|y|^2 + 2<x,y>^2)^2 - <x,y>^4) / r  <=  8 |x|^4 |y|^4 / r;
 * SRHT: the same expression is an upper bound (given the signs D1, D2 the r products are
 * independent with mean <x,y>^2, and the Rademacher fourth moments are below Gaussian ones).  The squared kernel is biased upwards by exactly Var<phi x, phi y>
 * (E[Z^2] = (EZ)^2 + Var Z); if |<phi x,phi y> - <x,y>^q| <= eps |x|^q|y|^q then
 * |<phi x,phi y>^2 - <x,y>^p| <= (2 eps + eps^2) |x|^p |y|^p (paper's Theorem 2.5 form). */
typedef struct subq_polysketch subq_polysketch_t;

/* Create phi for input dimension d, r features, degree q (see above), sketch type, seed;
 * streams [stream, stream + 4) are used.  Sets up the underlying sketches.  Not
 * collective.  Errors: SUBQ_ERR_ARG (q < 1, q > 2 for Gaussian/SRHT/CountSketch, q > 1 for
 * CountSketch, r < 1; named), SUBQ_ERR_MEM. */
int subq_polysketch_create(subq_sketch_type_t type, int d, int r, int q, uint64_t seed,
                           uint64_t stream, subq_polysketch_t **ps);
/* F = phi(X): X n x d (ldx), F n x r (ldf).  Uses an internal n-row-block workspace made
 * at create time (calls with large n are processed in blocks).  Not collective; one call
 * at a time per object.  Errors: SUBQ_ERR_ARG (bad ld). */
int subq_polysketch_features(subq_polysketch_t *ps, size_t n, const double *X, size_t ldx,
                             double *F, size_t ldf);
int subq_polysketch_features_f32(subq_polysketch_t *ps, size_t n, const float *X,
                                 size_t ldx, float *F, size_t ldf);
int subq_polysketch_dim(const subq_polysketch_t *ps); /* r */
/* Where subq_polysketch_features(_f32) runs (default cpu; see subq_sketch_set_device):
 * cuda copies the sketches to the bound device.  May be called at any time.  Errors:
 * SUBQ_ERR_ARG, SUBQ_ERR_UNSUPPORTED, SUBQ_ERR_DEVICE, SUBQ_ERR_MEM. */
int subq_polysketch_set_device(subq_polysketch_t *ps, subq_device_t dev);
void subq_polysketch_destroy(subq_polysketch_t **ps);

#ifdef __cplusplus
}
#endif
#endif
