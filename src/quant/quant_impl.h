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
  /* PolarQuant tables for attention from the codes (polar_codes.c; NULL: generic path). */
  float *up, *v2;
  int ub;
  /* Where encode/scores/wsum run (subq_quant_set_device) and the device copy (setup). */
  subq_device_t device;
  subq_cuda_polar_t *cu;
};

#define SUBQ_POLAR_MAX_BLOCK (1 << SUBQ_POLAR_MAX_LEVELS)

extern const subq_quant_ops_t subq_quant_ops_polarquant, subq_quant_ops_kivi,
    subq_quant_ops_qjl, subq_quant_ops_turbo, subq_quant_ops_q4_0, subq_quant_ops_fp16,
    subq_quant_ops_fp32;

/* PolarQuant internals (polarquant.c, polar_codes.c). */
int subq_polar_bpb_(const subq_quant_t *q); /* code bits per block of 2^L coordinates */
void subq_polar_decode_block_(const subq_quant_t *q, const uint8_t *code, size_t *pos,
                              float r0, float *x);
int subq_polar_tables_setup_(subq_quant_t *q);
int subq_polar_scores_fast_(const subq_quant_t *q, const subq_qtensor_t *t, size_t nqry,
                            const float *Qr, float *S, size_t lds);
int subq_polar_wsum_(const subq_quant_t *q, const subq_qtensor_t *t, size_t nqry,
                     const float *P, size_t ldp, float *O);
/* Device path (q->cu): copy the set-up quantizer to the device; encode the nq rows X
 * (original coordinates) into t with the device's preconditioning and codes. */
int subq_polar_cuda_setup_(subq_quant_t *q);
int subq_polar_cuda_encode_(const subq_quant_t *q, size_t n, const float *X, subq_qtensor_t *t);
/* The local part of subq_quant_attention on the device when qk and qv are polarquant on
 * cuda and the shard has no fp16 residual rows: m[i] (max of scale q.k), lo[i*(d+1)] (sum
 * of weights) and lo[i*(d+1) + 1..] (weighted sum of values, original coordinates) for the
 * nq queries Q, computed by subq_cuda_polar_attention (scores, softmax weights and value
 * sums on the GPU; only nq (d + 2) numbers come back). */
int subq_polar_cuda_attention_(const subq_quant_t *qk, const subq_qtensor_t *K,
                               const subq_quant_t *qv, const subq_qtensor_t *V, size_t nq,
                               const float *Q, float scale, double *m, double *lo);

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
