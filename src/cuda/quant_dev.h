/* Private: the per-thread arithmetic of the PolarQuant kernels (src/cuda/quant.cu), in C that
 * compiles for the device (nvcc) and for the host (a C compiler), so the packing, transform,
 * scoring and decoding code of the kernels is also run on the CPU by
 * tests/cuda/test_cuda_quant_host.c against the CPU quantizer (src/quant), in every build,
 * with or without a GPU.  Layout and formulas: src/quant/polarquant.c. */
#ifndef SUBQ_CUDA_QUANT_DEV_H
#define SUBQ_CUDA_QUANT_DEV_H

#include <math.h>
#include <stddef.h>

#ifdef __CUDACC__
#define SUBQ_QD static inline __host__ __device__
#else
#define SUBQ_QD static inline
#endif

#define SUBQ_QD_MAXL 8

/* The code layout: D = 2^L coordinates per block, nb blocks per row, bpb code bits per
 * block; level l (0-based) has cbk[l] = 2^bits[l] centroids at offset cboff[l] of the
 * concatenated centroid / cos / sin arrays (ncb in all). */
typedef struct {
  int d, L, D, nb, bpb, ncb;
  int bits[SUBQ_QD_MAXL], cbk[SUBQ_QD_MAXL], cboff[SUBQ_QD_MAXL];
} subq_qd_layout_t;

/* The layout of a quantizer of dim d (a multiple of 2^L), L levels, bits per level. */
SUBQ_QD subq_qd_layout_t subq_qd_layout(int d, int L, const int *bits) {
  subq_qd_layout_t y;
  y.d = d;
  y.L = L;
  y.D = 1 << L;
  y.nb = d / y.D;
  y.bpb = y.ncb = 0;
  for (int l = 0; l < SUBQ_QD_MAXL; l++) y.bits[l] = y.cbk[l] = y.cboff[l] = 0;
  for (int l = 0; l < L; l++) {
    y.bits[l] = bits[l];
    y.cbk[l] = 1 << bits[l];
    y.cboff[l] = y.ncb;
    y.bpb += bits[l] * (y.D >> (l + 1));
    y.ncb += y.cbk[l];
  }
  return y;
}

/* `nb` <= 16 bits at bit `pos` (LSB first); buffers carry >= 4 bytes of zero padding. */
SUBQ_QD unsigned subq_qd_get_bits(const unsigned char *b, size_t pos, int nb) {
  const unsigned char *p = b + (pos >> 3);
  const unsigned w = (unsigned)p[0] | ((unsigned)p[1] << 8) | ((unsigned)p[2] << 16) |
                     ((unsigned)p[3] << 24);
  return (w >> (pos & 7)) & ((1u << nb) - 1u);
}

/* OR v (< 2^nb, nb <= 16) into the bit stream at bit pos: 32-bit little-endian words hold
 * bytes 4k..4k+3, so bit pos of the byte stream is bit pos & 31 of word pos >> 5.  Atomic
 * on the device (neighbouring blocks share words). */
SUBQ_QD void subq_qd_put_bits(unsigned *w, size_t pos, unsigned v, int nb) {
  const size_t k = pos >> 5;
  const int off = (int)(pos & 31);
#ifdef __CUDA_ARCH__
  atomicOr(w + k, v << off);
  if (off + nb > 32) atomicOr(w + k + 1, v >> (32 - off));
#else
  w[k] |= v << off;
  if (off + nb > 32) w[k + 1] |= v >> (32 - off);
#endif
}

/* Nearest of k sorted centroids (midpoint boundaries, subq_nearest_); level 1 is circular
 * (angle_code_ of polarquant.c). */
SUBQ_QD int subq_qd_code(const double *c, int k, double v, int circ) {
  int lo = 0, hi = k - 1;
  while (lo < hi) {
    const int mid = (lo + hi) / 2;
    if (v <= 0.5 * (c[mid] + c[mid + 1])) hi = mid;
    else lo = mid + 1;
  }
  if (circ && k > 1) {
    const double dj = fabs(v - c[lo]);
    if (fabs(v - (c[0] + 2 * M_PI)) < dj) lo = 0;
    else if (fabs(v - (c[k - 1] - 2 * M_PI)) < dj) lo = k - 1;
  }
  return lo;
}

/* Butterfly t (0 <= t < d/2) of the Walsh-Hadamard stage of half-width h, in place. */
SUBQ_QD void subq_qd_butterfly(float *x, int h, int t) {
  const int a = (t / h) * 2 * h + t % h;
  const float u = x[a], v = x[a + h];
  x[a] = u + v;
  x[a + h] = u - v;
}

/* One block xb (D preconditioned coordinates): the polar transform of subq_polar_transform
 * fused with the codebook search, codes written from bit pos on (level 1 first); returns
 * the block norm (the top radius).  r: scratch of D/2 doubles. */
SUBQ_QD double subq_qd_encode_block(const subq_qd_layout_t *y, const float *xb, size_t pos,
                                    const double *cb, unsigned *words, double *r) {
  int m = y->D / 2;
  for (int j = 0; j < m; j++, pos += (size_t)y->bits[0]) {
    const double x0 = xb[2 * j], x1 = xb[2 * j + 1];
    double a = atan2(x1, x0);
    if (a < 0) a += 2 * M_PI;
    if (!(a < 2 * M_PI)) a = 0.0;
    r[j] = hypot(x0, x1);
    subq_qd_put_bits(words, pos, (unsigned)subq_qd_code(cb + y->cboff[0], y->cbk[0], a, 1), y->bits[0]);
  }
  for (int l = 2; l <= y->L; l++) {
    m /= 2;
    for (int j = 0; j < m; j++, pos += (size_t)y->bits[l - 1]) {
      const double a = atan2(r[2 * j + 1], r[2 * j]);
      r[j] = hypot(r[2 * j], r[2 * j + 1]);
      subq_qd_put_bits(words, pos, (unsigned)subq_qd_code(cb + y->cboff[l - 1], y->cbk[l - 1], a, 0),
                       y->bits[l - 1]);
    }
  }
  return r[0];
}

/* The score of one block against a query (scores_ of polarquant.c): level-1 lookups in the
 * query's table Tb (D/2 x cbk[0] for this block), then the tree folded bottom-up with the
 * cos/sin C, Sn of levels 2..L (concatenated, level 2 at 0); codes read from bit pos on.
 * Returns the unit-radius score s_0.  s: scratch of D/2 floats. */
SUBQ_QD float subq_qd_score_block(const subq_qd_layout_t *y, const float *Tb, const float *C,
                                  const float *Sn, const unsigned char *code, size_t pos,
                                  float *s) {
  const int k1 = y->cbk[0];
  int m = y->D / 2;
  for (int j = 0; j < m; j++, pos += (size_t)y->bits[0])
    s[j] = Tb[j * k1 + (int)subq_qd_get_bits(code, pos, y->bits[0])];
  for (int l = 2; l <= y->L; l++) {
    const float *cl = C + (y->cboff[l - 1] - k1), *sl = Sn + (y->cboff[l - 1] - k1);
    m /= 2;
    for (int j = 0; j < m; j++, pos += (size_t)y->bits[l - 1]) {
      const unsigned c = subq_qd_get_bits(code, pos, y->bits[l - 1]);
      s[j] = cl[c] * s[2 * j] + sl[c] * s[2 * j + 1];
    }
  }
  return s[0];
}

/* Decode one block (codes from bit pos on, radius r0) into x (D floats, preconditioned
 * coordinates), top-down as subq_polar_decode_block_; cs, sn the concatenated cos/sin of
 * all levels.  c: scratch of D unsigned, r, nr: scratch of D/2 floats each. */
SUBQ_QD void subq_qd_decode_block(const subq_qd_layout_t *y, const unsigned char *code,
                                  size_t pos, float r0, const float *cs, const float *sn,
                                  float *x, unsigned *c, float *r, float *nr) {
  for (int l = 1, off = 0; l <= y->L; l++) {
    const int cnt = y->D >> l;
    for (int j = 0; j < cnt; j++, pos += (size_t)y->bits[l - 1])
      c[off + j] = subq_qd_get_bits(code, pos, y->bits[l - 1]);
    off += cnt;
  }
  r[0] = r0;
  int m = 1, off = y->D - 2;
  for (int l = y->L; l >= 2; l--) {
    const float *cl = cs + y->cboff[l - 1], *sl = sn + y->cboff[l - 1];
    for (int j = 0; j < m; j++) {
      nr[2 * j] = r[j] * cl[c[off + j]];
      nr[2 * j + 1] = r[j] * sl[c[off + j]];
    }
    m *= 2;
    off -= m;
    for (int j = 0; j < m; j++) r[j] = nr[j];
  }
  for (int j = 0; j < y->D / 2; j++) {
    x[2 * j] = r[j] * cs[c[j]];
    x[2 * j + 1] = r[j] * sn[c[j]];
  }
}

#endif
