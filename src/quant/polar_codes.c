/* PolarQuant: attention arithmetic straight from the codes (no dequantized cache).
 *
 * A block of D = 2^L coordinates stores its fp16 radius and bpb code bits, level 1 first
 * (D/2 codes of b1 bits), then level 2 (D/4 codes of b2 bits), then levels 3..L (ub bits
 * together).  Its reconstruction (polarquant.c, decode_block_) is, for level-2 node
 * j = 0..D/4-1 (coordinates 4j..4j+3, level-1 pairs 2j and 2j+1, level-2 angle psi_j):
 *
 *   xhat[4j..4j+3] = r * W_u[j] * ( cos psi_j cos t_{2j}, cos psi_j sin t_{2j},
 *                                   sin psi_j cos t_{2j+1}, sin psi_j sin t_{2j+1} )
 *
 * where W_u[j] is the product of the cos/sin factors of levels 3..L on the path to node j
 * and depends only on the ub upper code bits u.  Two query-independent tables follow
 * (built at setup when the layout allows, subq_polar_tables_setup_):
 *   up  2^ub x D/4     W_u[j]
 *   v2  2^(2 b1 + b2) x 4   the 4-vector in parentheses, indexed by the node's 10 code bits
 *                      (c_{2j} | c_{2j+1} << b1 | c_psi << 2 b1) -- contiguous level-1 bits
 *                      plus the level-2 code;
 * and one per query: t2[j][idx] = <q'[4j..4j+3], v2[idx]> for every node of the row.
 * Then a key's score is sum_blocks r * sum_j W_u[j] t2[j][idx_j] (D/4 lookups per block),
 * and a value is accumulated as o[4j..] += (p r W_u[j]) v2[idx_j] (one 4-wide multiply-add
 * per node).  The block's bits are read with one unaligned 64-bit load (bpb <= 57).
 * Default (L = 4, bits 4,2,2,2): bpb = 46, ub = 6, v2 = 1024 x 4 floats, up = 64 x 4. */
#include <stdlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "quant/quant_impl.h"

typedef float v4f_ __attribute__((vector_size(16)));

int subq_polar_tables_setup_(subq_quant_t *q) {
  const int L = q->levels, D = 1 << L, b1 = q->bits[0], b2 = L >= 2 ? q->bits[1] : 0;
  if (L < 2 || subq_polar_bpb_(q) > 57 || 2 * b1 + b2 > 12) return SUBQ_OK; /* generic */
  int ub = 0;
  for (int l = 3; l <= L; l++) ub += (D >> l) * q->bits[l - 1];
  if (ub > 10) return SUBQ_OK;
  const int nn = D / 4, e2 = 1 << (2 * b1 + b2);
  SUBQ_CALL(subq_malloc((size_t)nn << ub, sizeof(float), &q->up));
  SUBQ_CALL(subq_malloc((size_t)e2 * 4, sizeof(float), &q->v2));
  q->ub = ub;
  for (uint32_t u = 0; u < (1u << ub); u++) {
    float r[SUBQ_POLAR_MAX_BLOCK / 4], nr[SUBQ_POLAR_MAX_BLOCK / 4];
    r[0] = 1;
    int m = 1, off = ub; /* bit offset (within u) just past the current level */
    for (int l = L; l >= 3; l--) {
      const int b = q->bits[l - 1];
      off -= m * b;
      for (int j = 0; j < m; j++) {
        uint32_t c = (u >> (off + j * b)) & ((1u << b) - 1u);
        nr[2 * j] = r[j] * q->cbcos[l - 1][c];
        nr[2 * j + 1] = r[j] * q->cbsin[l - 1][c];
      }
      m *= 2;
      memcpy(r, nr, (size_t)m * sizeof(float));
    }
    memcpy(q->up + (size_t)u * nn, r, (size_t)nn * sizeof(float));
  }
  const uint32_t m1 = (1u << b1) - 1u;
  for (uint32_t i = 0; i < (uint32_t)e2; i++) {
    uint32_t ca = i & m1, cb = (i >> b1) & m1, c2 = i >> (2 * b1);
    float *o = q->v2 + (size_t)i * 4;
    o[0] = q->cbcos[1][c2] * q->cbcos[0][ca];
    o[1] = q->cbcos[1][c2] * q->cbsin[0][ca];
    o[2] = q->cbsin[1][c2] * q->cbcos[0][cb];
    o[3] = q->cbsin[1][c2] * q->cbsin[0][cb];
  }
  return SUBQ_OK;
}

/* Up to 57 bits starting at bit pos (LSB first); code buffers carry 8 bytes of padding. */
static inline uint64_t window_(const uint8_t *buf, size_t pos) {
  uint64_t w;
  memcpy(&w, buf + (pos >> 3), 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  w = __builtin_bswap64(w);
#endif
  return w >> (pos & 7);
}

/* Per-block constants of the fast layout. */
typedef struct {
  int nb, nn, bpb, b1x2, off2, b2, off3;
  uint64_t m11, m2, mu;
} layout_t;

static layout_t layout_(const subq_quant_t *q) {
  const int D = 1 << q->levels, b1 = q->bits[0], b2 = q->bits[1];
  layout_t y;
  y.nb = q->dim / D;
  y.nn = D / 4;
  y.bpb = subq_polar_bpb_(q);
  y.b1x2 = 2 * b1;
  y.off2 = (D / 2) * b1;
  y.b2 = b2;
  y.off3 = y.off2 + (D / 4) * b2;
  y.m11 = (1ull << (2 * b1)) - 1;
  y.m2 = (1ull << b2) - 1;
  y.mu = (1ull << q->ub) - 1;
  return y;
}

/* The paper's default (L = 4, bits 4,2,2,2): compile-time constants for the kernels. */
static const layout_t dflt_ = {0, 4, 46, 8, 32, 2, 40, 255, 3, 63};
static int is_dflt_(const layout_t *y) {
  return y->nn == 4 && y->bpb == 46 && y->b1x2 == 8 && y->b2 == 2 && y->off3 == 40 &&
         y->mu == 63;
}

#define INL static inline __attribute__((always_inline))
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define CLONES __attribute__((target_clones("avx2", "default"))) /* ifunc dispatch */
#else
#define CLONES
#endif

INL uint32_t node_idx_(const layout_t y, uint64_t w, int j) {
  return (uint32_t)(((w >> (j * y.b1x2)) & y.m11) | (((w >> (y.off2 + j * y.b2)) & y.m2) << y.b1x2));
}

/* Scores of rows [i0, i1) against one query's table T (nb*nn nodes x e2). */
INL void score_rows_(const layout_t y, int nb, const subq_qtensor_t *t, const float *restrict up,
                     const float *restrict T, size_t i0, size_t i1, float *restrict s) {
  const size_t e2 = (size_t)(y.m11 + 1) << y.b2;
  for (size_t i = i0; i < i1; i++) {
    size_t pos = i * (size_t)nb * (size_t)y.bpb;
    const uint16_t *rad = t->half + i * (size_t)nb;
    float acc = 0;
    for (int b = 0; b < nb; b++, pos += (size_t)y.bpb) {
      const uint64_t w = window_(t->code, pos);
      const float *W = up + ((w >> y.off3) & y.mu) * (size_t)y.nn;
      const float *Tb = T + (size_t)b * (size_t)y.nn * e2;
      float sb = 0;
#pragma GCC unroll 8
      for (int j = 0; j < y.nn; j++) sb += W[j] * Tb[(size_t)j * e2 + node_idx_(y, w, j)];
      acc += subq_h2f_(rad[b]) * sb;
    }
    s[i] = acc;
  }
}

CLONES static void score_rows_dflt_(int nb, const subq_qtensor_t *t, const float *up,
                                    const float *T, size_t i0, size_t i1, float *s) {
  if (nb == 4) score_rows_(dflt_, 4, t, up, T, i0, i1, s); /* d = 64 */
  else if (nb == 8) score_rows_(dflt_, 8, t, up, T, i0, i1, s); /* d = 128 */
  else score_rows_(dflt_, nb, t, up, T, i0, i1, s);
}
static void score_rows_any_(layout_t y, const subq_qtensor_t *t, const float *up,
                            const float *T, size_t i0, size_t i1, float *s) {
  score_rows_(y, y.nb, t, up, T, i0, i1, s);
}

/* Static share [*lo, *hi) of n rows for the calling OpenMP thread. */
static void share_(size_t n, size_t *lo, size_t *hi) {
#ifdef _OPENMP
  size_t nt = (size_t)omp_get_num_threads(), id = (size_t)omp_get_thread_num();
#else
  size_t nt = 1, id = 0;
#endif
  *lo = n * id / nt;
  *hi = n * (id + 1) / nt;
}

int subq_polar_scores_fast_(const subq_quant_t *q, const subq_qtensor_t *t, size_t nqry,
                            const float *Qr, float *S, size_t lds) {
  const layout_t y = layout_(q);
  const int dflt = is_dflt_(&y);
  const size_t e2 = (size_t)(y.m11 + 1) << y.b2, nodes = (size_t)y.nb * (size_t)y.nn;
  float *t2 = NULL;
  SUBQ_CALL(subq_malloc(nodes * e2, sizeof(float), &t2));
  for (size_t qi = 0; qi < nqry; qi++) {
    const float *qv = Qr + qi * (size_t)q->dim;
    for (size_t g = 0; g < nodes; g++) {
      const float *x = qv + 4 * g;
      for (size_t i = 0; i < e2; i++) {
        const float *v = q->v2 + 4 * i;
        t2[g * e2 + i] = x[0] * v[0] + x[1] * v[1] + x[2] * v[2] + x[3] * v[3];
      }
    }
#pragma omp parallel
    {
      size_t lo, hi;
      share_(t->nq, &lo, &hi);
      if (dflt) score_rows_dflt_(y.nb, t, q->up, t2, lo, hi, S + qi * lds);
      else score_rows_any_(y, t, q->up, t2, lo, hi, S + qi * lds);
    }
  }
  subq_free(&t2);
  return SUBQ_OK;
}

/* acc[qi*d + c] += sum_{i in [i0, i1)} P[qi*ldp + i] xhat_i[c]. */
INL void wsum_rows_(const layout_t y, int nb, const subq_qtensor_t *t, const float *restrict up,
                    const float *restrict v2, size_t nqry, const float *restrict P, size_t ldp,
                    size_t d, size_t i0, size_t i1, float *restrict acc) {
  for (size_t i = i0; i < i1; i++) {
    const uint16_t *rad = t->half + i * (size_t)nb;
    for (size_t qi = 0; qi < nqry; qi++) {
      const float p = P[qi * ldp + i];
      if (p == 0) continue;
      v4f_ *o = (v4f_ *)(acc + qi * d); /* acc is 16-byte aligned, d a multiple of 4 */
      size_t pos = i * (size_t)nb * (size_t)y.bpb;
      for (int b = 0; b < nb; b++, pos += (size_t)y.bpb) {
        const uint64_t w = window_(t->code, pos);
        const float *W = up + ((w >> y.off3) & y.mu) * (size_t)y.nn;
        const float f = p * subq_h2f_(rad[b]);
#pragma GCC unroll 8
        for (int j = 0; j < y.nn; j++)
          o[b * y.nn + j] += (f * W[j]) * ((const v4f_ *)v2)[node_idx_(y, w, j)];
      }
    }
  }
}

CLONES static void wsum_rows_dflt_(int nb, const subq_qtensor_t *t, const float *up,
                                   const float *v2, size_t nqry, const float *P, size_t ldp,
                                   size_t d, size_t i0, size_t i1, float *acc) {
  if (nb == 4) wsum_rows_(dflt_, 4, t, up, v2, nqry, P, ldp, d, i0, i1, acc);
  else if (nb == 8) wsum_rows_(dflt_, 8, t, up, v2, nqry, P, ldp, d, i0, i1, acc);
  else wsum_rows_(dflt_, nb, t, up, v2, nqry, P, ldp, d, i0, i1, acc);
}
static void wsum_rows_any_(layout_t y, const subq_qtensor_t *t, const float *up,
                           const float *v2, size_t nqry, const float *P, size_t ldp, size_t d,
                           size_t i0, size_t i1, float *acc) {
  wsum_rows_(y, y.nb, t, up, v2, nqry, P, ldp, d, i0, i1, acc);
}

/* O[qi*d + c] = sum_i P[qi*ldp + i] xhat_i[c] (preconditioned coordinates), fast layout:
 * rows split over threads, per-thread partial sums added at the end. */
static int wsum_fast_(const subq_quant_t *q, const subq_qtensor_t *t, size_t nqry,
                      const float *P, size_t ldp, float *O) {
  const layout_t y = layout_(q);
  const int dflt = is_dflt_(&y);
  const size_t d = (size_t)q->dim;
  memset(O, 0, nqry * d * sizeof(float));
  int err = 0;
#pragma omp parallel
  {
    float *acc = NULL; /* subq_calloc: 64-byte aligned */
    int e = subq_calloc(nqry * d, sizeof(float), &acc);
    if (!e) {
      size_t lo, hi;
      share_(t->nq, &lo, &hi);
      if (dflt) wsum_rows_dflt_(y.nb, t, q->up, q->v2, nqry, P, ldp, d, lo, hi, acc);
      else wsum_rows_any_(y, t, q->up, q->v2, nqry, P, ldp, d, lo, hi, acc);
#pragma omp critical(subq_polar_wsum)
      for (size_t k = 0; k < nqry * d; k++) O[k] += acc[k];
    }
    if (e) {
#pragma omp atomic write
      err = e;
    }
    subq_free(&acc);
  }
  return err ? SUBQ_FAIL(err, "cannot allocate per-thread sums of %zu floats", nqry * d)
             : SUBQ_OK;
}

int subq_polar_wsum_(const subq_quant_t *q, const subq_qtensor_t *t, size_t nqry,
                     const float *P, size_t ldp, float *O) {
  if (q->cu) return subq_cuda_polar_wsum(q->cu, t->cu, t->code, t->half, t->nq, nqry, P, ldp, O);
  if (q->up) return wsum_fast_(q, t, nqry, P, ldp, O);
  /* Generic layout: reconstruct each row block by block, then accumulate. */
  const int D = 1 << q->levels, bpb = subq_polar_bpb_(q);
  const size_t d = (size_t)q->dim, nb = d / (size_t)D;
  memset(O, 0, nqry * d * sizeof(float));
  float x[4 * SUBQ_POLAR_MAX_BLOCK];
  for (size_t i = 0; i < t->nq; i++) {
    size_t pos = i * nb * (size_t)bpb;
    for (size_t b = 0; b < nb; b++)
      subq_polar_decode_block_(q, t->code, &pos, subq_h2f_(t->half[i * nb + b]), x + b * D);
    for (size_t qi = 0; qi < nqry; qi++) {
      const float p = P[qi * ldp + i];
      for (size_t c = 0; c < d; c++) O[qi * d + c] += p * x[c];
    }
  }
  return SUBQ_OK;
}
