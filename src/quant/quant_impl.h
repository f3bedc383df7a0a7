/* Internal: the quantizer object, its ops table (one implementation per file), packed
 * tensor, bit packing and fp16 helpers shared by the implementations in src/quant/. */
#ifndef SUBQ_QUANT_IMPL_H
#define SUBQ_QUANT_IMPL_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "cuda/subq_cuda.h"
#include "subq/core.h"
#include "subq/quant.h"

/* RNG streams of this module (design.md: one stream per purpose). */
#define SUBQ_STREAM_QUANT_SIGNS 0x5155000000000001ull
#define SUBQ_STREAM_QUANT_DENSE 0x5155000000000002ull
#define SUBQ_STREAM_QUANT_QJL 0x5155000000000003ull
#define SUBQ_STREAM_QUANT_KMEANS 0x5155000000000010ull /* + level */

#define SUBQ_POLAR_MAX_BLOCK (1 << SUBQ_POLAR_MAX_LEVELS)

struct subq_qtensor {
  size_t n;        /* rows */
  size_t nq;       /* quantized rows (the first nq); the rest are the fp16 residual */
  int dim;
  uint8_t *code;   /* bit-packed codes, LSB first */
  size_t ncode_bits;
  uint16_t *half;  /* fp16 metadata (radii, scales, zero points, norms) */
  size_t nhalf;
  uint16_t *resid; /* (n - nq) x dim fp16 */
  subq_cuda_qcodes_t *cu; /* device copy of code/half (encoded on cuda), else NULL */
};

typedef struct subq_quant_ops {
  const char *name;
  int default_precond;
  int (*setup)(subq_quant_t *q, size_t n, const float *Xrot); /* may be NULL */
  /* Encode nq rows (already preconditioned) into t: fill code/ncode_bits/half/nhalf. */
  int (*encode)(const subq_quant_t *q, size_t nq, const float *Xrot, subq_qtensor_t *t);
  /* Decode t's nq rows into X (nq x dim, preconditioned coordinates). */
  int (*decode)(const subq_quant_t *q, const subq_qtensor_t *t, float *X);
  /* Optional: S[i*lds + j] = q'_i . xhat_j for the nq quantized rows, from the codes. */
  int (*scores)(const subq_quant_t *q, const subq_qtensor_t *t, size_t nqry,
                const float *Qrot, float *S, size_t lds);
  /* Optional: O[i*dim + c] = sum_j P[i*ldp + j] xhat_j[c] over the nq quantized rows, in
   * preconditioned coordinates, from the codes (attention's weighted sum of values). */
  int (*wsum)(const subq_quant_t *q, const subq_qtensor_t *t, size_t nqry, const float *P,
              size_t ldp, float *O);
} subq_quant_ops_t;

struct subq_quant {
  const subq_quant_ops_t *ops;
  char type[16];
  int dim;
  int bits[SUBQ_POLAR_MAX_LEVELS];
  int nbits;
  int levels;
  int precond, codebook, role, group, sketch_m;
  size_t residual;
  uint64_t seed;
  int is_setup;
  float *signs; /* Hadamard: dim random signs */
  float *rot;   /* dense: dim x dim orthogonal, y = rot x */
  /* Codebooks (PolarQuant: per level; turbo: level 0): sorted centroids, cos, sin. */
  double *cb[SUBQ_POLAR_MAX_LEVELS];
  float *cbcos[SUBQ_POLAR_MAX_LEVELS], *cbsin[SUBQ_POLAR_MAX_LEVELS];
  int cbk[SUBQ_POLAR_MAX_LEVELS];
  float *S; /* QJL: m x dim */
  /* PolarQuant code layout (polarquant.c, setup): bit offset within a block's bpb bits and
   * width of angle f = 0..2^L-2 (level order), and whether the AVX-512 kernels
   * (polar_avx512.c) are used: set at setup when the CPU has them and every level has 1, 2
   * or 4 bits; tests clear it to exercise the portable path. */
  int poff[SUBQ_POLAR_MAX_BLOCK], pk[SUBQ_POLAR_MAX_BLOCK];
  /* PolarQuant cell boundaries as directions (polarquant.c, encode without atan2): level 1:
   * cos, sin of the k - 1 midpoints and of the wrap-around midpoint (k entries); level
   * l >= 2: cos^2, sin^2 of the k - 1 midpoints. */
  double *bnd_c[SUBQ_POLAR_MAX_LEVELS], *bnd_s[SUBQ_POLAR_MAX_LEVELS];
  int *guess1; /* level 1: midpoints below 2 pi t / SUBQ_POLAR_GUESS_BINS, t = 0..bins-1 */
  int simd;
  /* Where encode/scores/wsum run (subq_quant_set_device) and the device copy (setup). */
  subq_device_t device;
  subq_cuda_polar_t *cu;
};

extern const subq_quant_ops_t subq_quant_ops_polarquant, subq_quant_ops_kivi,
    subq_quant_ops_qjl, subq_quant_ops_turbo, subq_quant_ops_q4_0, subq_quant_ops_fp16,
    subq_quant_ops_fp32;

/* PolarQuant internals (polarquant.c, polar_codes.c, polar_avx512.c).
 *
 * Code layout of a tensor with nq quantized rows, nb = dim / 2^L blocks per row and bpb
 * code bits per block.  Rows are stored in groups of SUBQ_POLAR_GROUP = 16 consecutive
 * rows; the last nq mod 16 rows (the tail) follow row-major, as the whole tensor was
 * stored before groups were introduced.  Inside a group the bits are "transposed" so that
 * one load gives a code field of all 16 rows:
 *   group g, block b: a record of 16 * bpb bits at bit (g nb + b) 16 bpb;
 *   angle f of the block (level order, width k = pk[f], offset poff[f] within a block's
 *   bpb bits): a field of 16 k bits at record + 16 poff[f] (whole bytes, 2k of them);
 *   row 16 g + l inside the field: k bits at lane_pos(k, l) = k l, except k = 4:
 *   32 (l & 1) + 4 (l >> 1) (a 64-bit load, broadcast to the even and odd 32-bit lanes
 *   and shifted by 4 (l >> 1) gives every lane its code).
 * Tail row i, block b, angle f: bit (i nb + b) bpb + poff[f].
 * Radii (fp16, t->half): group g: half[(g nb + b) 16 + l]; tail row i: half[i nb + b].
 * Both layouts use exactly 16 + bpb bits per block: sizes are what the bits say. */
#define SUBQ_POLAR_GROUP 16
#define SUBQ_POLAR_GUESS_BINS 1024
int subq_polar_bpb_(const subq_quant_t *q); /* code bits per block of 2^L coordinates */
static inline size_t subq_polar_lane_pos_(int k, int l) {
  return k == 4 ? (size_t)(32 * (l & 1) + 4 * (l >> 1)) : (size_t)(k * l);
}
/* Bit position of angle f of block b of row i (tensor of nq quantized rows). */
static inline size_t subq_polar_pos_(const subq_quant_t *q, size_t nq, int nb, int bpb,
                                     size_t i, int b, int f) {
  const size_t G = SUBQ_POLAR_GROUP;
  if (i < nq / G * G)
    return ((i / G * (size_t)nb + (size_t)b) * (size_t)bpb + (size_t)q->poff[f]) * G +
           subq_polar_lane_pos_(q->pk[f], (int)(i % G));
  return (i * (size_t)nb + (size_t)b) * (size_t)bpb + (size_t)q->poff[f];
}
/* Index into t->half of the radius of block b of row i. */
static inline size_t subq_polar_rad_(size_t nq, int nb, size_t i, int b) {
  const size_t G = SUBQ_POLAR_GROUP;
  if (i < nq / G * G) return (i / G * (size_t)nb + (size_t)b) * G + i % G;
  return i * (size_t)nb + (size_t)b;
}
/* The 2^L - 1 codes of block b of row i into c (level order). */
void subq_polar_codes_(const subq_quant_t *q, const subq_qtensor_t *t, size_t i, int b,
                       uint32_t *c);
/* Reconstruct one block x (2^L floats, preconditioned coordinates) from radius and codes. */
void subq_polar_reconstruct_(const subq_quant_t *q, const uint32_t *c, float r0, float *x);
int subq_polar_scores_(const subq_quant_t *q, const subq_qtensor_t *t, size_t nqry,
                       const float *Qr, float *S, size_t lds);
int subq_polar_wsum_(const subq_quant_t *q, const subq_qtensor_t *t, size_t nqry,
                     const float *P, size_t ldp, float *O);
/* Device path (q->cu): copy the set-up quantizer to the device; encode the nq rows X
 * (original coordinates) into t with the device's preconditioning and codes.  The device
 * kernels (src/cuda/quant.cu) keep every row in the row-major layout of the tail rows
 * above; t's host copy is in the grouped layout (converted here). */
int subq_polar_cuda_setup_(subq_quant_t *q);
int subq_polar_cuda_encode_(const subq_quant_t *q, size_t n, const float *X, subq_qtensor_t *t);
/* t's codes and radii for a device call: NULL (*code, *half) when t has a device copy
 * (t->cu), else row-major copies that the caller frees (subq_free). */
int subq_polar_cuda_rowmajor_(const subq_quant_t *q, const subq_qtensor_t *t, uint8_t **code,
                              uint16_t **half);
/* The local part of subq_quant_attention on the device when qk and qv are polarquant on
 * cuda and the shard has no fp16 residual rows: m[i] (max of scale q.k), lo[i*(d+1)] (sum
 * of weights) and lo[i*(d+1) + 1..] (weighted sum of values, original coordinates) for the
 * nq queries Q, computed by subq_cuda_polar_attention (scores, softmax weights and value
 * sums on the GPU; only nq (d + 2) numbers come back). */
int subq_polar_cuda_attention_(const subq_quant_t *qk, const subq_qtensor_t *K,
                               const subq_quant_t *qv, const subq_qtensor_t *V, size_t nq,
                               const float *Q, float scale, double *m, double *lo);
/* AVX-512 kernels (polar_avx512.c) over full groups [g0, g1) of rows; nqry <= 4 queries.
 * T1: per query, (dim/2) tables of 16 floats (level-1 lookups, replicated to 16 entries).
 * scores: S[qi*lds + i]; wsum: acc (nqry x dim __m512 lane sums, 64-byte aligned) += .. */
int subq_polar_avx512_ok_(void);
void subq_polar_avx512_scores_(const subq_quant_t *q, const subq_qtensor_t *t, int nqry,
                               const float *T1, size_t g0, size_t g1, float *S, size_t lds);
void subq_polar_avx512_wsum_(const subq_quant_t *q, const subq_qtensor_t *t, int nqry,
                             const float *P, size_t ldp, size_t g0, size_t g1, float *acc);

/* Preconditioner (precond.c). */
int subq_precond_setup_(subq_quant_t *q);
int subq_precond_apply_(const subq_quant_t *q, size_t n, float *X, int inverse);

/* Index of the nearest of k sorted centroids to v (midpoint boundaries). */
static inline int subq_nearest_(const double *c, int k, double v) {
  int lo = 0, hi = k - 1;
  while (lo < hi) { /* first index whose upper boundary is >= v */
    int mid = (lo + hi) / 2;
    if (v <= 0.5 * (c[mid] + c[mid + 1])) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/* Bit packing, LSB first; buffers are zero-filled before writing. */
static inline void subq_bits_put_(uint8_t *buf, size_t pos, uint32_t v, int nb) {
  while (nb > 0) {
    int off = (int)(pos & 7), take = 8 - off < nb ? 8 - off : nb;
    buf[pos >> 3] |= (uint8_t)((v & ((1u << take) - 1u)) << off);
    v >>= take;
    pos += (size_t)take;
    nb -= take;
  }
}
/* nb <= 24 bits at bit pos; code buffers carry 8 bytes of zero padding (alloc), so the
 * 8-byte little-endian window never reads past them. */
static inline uint32_t subq_bits_get_(const uint8_t *buf, size_t pos, int nb) {
  uint64_t w;
  memcpy(&w, buf + (pos >> 3), 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  w = __builtin_bswap64(w);
#endif
  return (uint32_t)((w >> (pos & 7)) & ((1ull << nb) - 1ull));
}

/* IEEE binary16 <-> float, round to nearest even (same rule as numpy's float16). */
static inline uint16_t subq_f2h_(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u, mant = x & 0x7fffffu;
  int exp = (int)((x >> 23) & 0xff);
  if (exp == 0xff) return (uint16_t)(sign | 0x7c00u | (mant ? 0x200u : 0));
  int e = exp - 127 + 15;
  if (e >= 31) return (uint16_t)(sign | 0x7c00u);
  if (e <= 0) {
    if (e < -10) return (uint16_t)sign;
    mant |= 0x800000u;
    int shift = 14 - e;
    uint32_t h = mant >> shift, rem = mant & ((1u << shift) - 1u), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1u))) h++;
    return (uint16_t)(sign | h);
  }
  uint32_t h = ((uint32_t)e << 10) | (mant >> 13), rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++; /* carry may reach inf: ok */
  return (uint16_t)(sign | h);
}
static inline float subq_h2f_(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ffu;
  float f;
  if (exp == 0) {
    f = ldexpf((float)mant, -24);
    return sign ? -f : f;
  }
  uint32_t x = exp == 31 ? (sign | 0x7f800000u | (mant << 13))
                         : (sign | ((exp - 15 + 127) << 23) | (mant << 13));
  memcpy(&f, &x, 4);
  return f;
}

/* Allocate t->code (zeroed) and t->half for the given sizes. */
int subq_qtensor_alloc_(subq_qtensor_t *t, size_t ncode_bits, size_t nhalf);

#endif
