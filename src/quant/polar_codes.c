/* PolarQuant: attention arithmetic straight from the codes (no dequantized cache).
 *
 * Scores (paper Sec. 3.2 evaluates softmax(K^ q) after dequantizing; here the same value
 * is folded up the polar tree): per query, a level-1 table T1[j][c] = q'_{2j} cos t_c +
 * q'_{2j+1} sin t_c for every coordinate pair j and level-1 code c; per key block the
 * tree is folded bottom-up, s <- cos(psi) s_left + sin(psi) s_right with the level's
 * codebook, and the block contributes its radius times s.  Values: the block is rebuilt
 * top-down (radius times the cos/sin factors of each level) and added, times the softmax
 * weight, into the output in the rotated basis (one inverse rotation per query at the
 * end, attention.c).  Cost per (query, key, block of D = 2^L): D/2 lookups and D/2 - 1
 * multiply-adds; nothing of size n x dim is formed.
 *
 * Two implementations with the same arithmetic: the AVX-512 kernels (polar_avx512.c) take
 * 16 keys at a time from the grouped code layout (quant_impl.h), one key per lane, table
 * lookups by vpermps; the portable path here takes one key at a time and serves CPUs
 * without AVX-512, bit widths other than 1, 2, 4, and the tail rows (nq mod 16) that are
 * not in a group.  Queries are taken QB at a time so that the codes are unpacked once for
 * all heads of a GQA group. */
#include <stdlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "quant/quant_impl.h"

enum { MAXD = SUBQ_POLAR_MAX_BLOCK, QB = 4 };

/* Width of a level-1 table row: 2^b1 entries, at least 16 (replicated with period 2^b1 so
 * that a 4-bit lane lookup of a b1-bit code is exact). */
static size_t t1_width_(const subq_quant_t *q) { return q->cbk[0] > 16 ? (size_t)q->cbk[0] : 16; }

/* T1 for nqry queries: T1[(qi * dim/2 + j) * tw + c]. */
static void level1_tables_(const subq_quant_t *q, size_t nqry, const float *Qr, float *T1) {
  const size_t tw = t1_width_(q), h = (size_t)q->dim / 2, k1 = (size_t)q->cbk[0];
  for (size_t qi = 0; qi < nqry; qi++)
    for (size_t j = 0; j < h; j++) {
      const float *x = Qr + qi * (size_t)q->dim + 2 * j;
      float *T = T1 + (qi * h + j) * tw;
      for (size_t c = 0; c < tw; c++)
        T[c] = x[0] * q->cbcos[0][c % k1] + x[1] * q->cbsin[0][c % k1];
    }
}

/* Static share [*lo, *hi) of n units for the calling OpenMP thread. */
static void share_(size_t n, size_t *lo, size_t *hi) {
#ifdef _OPENMP
  size_t nt = (size_t)omp_get_num_threads(), id = (size_t)omp_get_thread_num();
#else
  size_t nt = 1, id = 0;
#endif
  *lo = n * id / nt;
  *hi = n * (id + 1) / nt;
}

/* Portable scores of rows [i0, i1) for nqry <= QB queries: S[qi*lds + i]. */
static void scores_rows_(const subq_quant_t *q, const subq_qtensor_t *t, size_t nqry,
                         const float *T1, size_t i0, size_t i1, float *S, size_t lds) {
  const int L = q->levels, D = 1 << L, nb = q->dim / D;
  const size_t tw = t1_width_(q), h = (size_t)q->dim / 2;
  for (size_t i = i0; i < i1; i++) {
    float acc[QB] = {0};
    for (int b = 0; b < nb; b++) {
      uint32_t c[MAXD];
      subq_polar_codes_(q, t, i, b, c);
      const float r = subq_h2f_(t->half[subq_polar_rad_(t->nq, nb, i, b)]);
      for (size_t qi = 0; qi < nqry; qi++) {
        const float *Tb = T1 + (qi * h + (size_t)b * (size_t)(D / 2)) * tw;
        float s[MAXD / 2];
        int m = D / 2, off = m;
        for (int j = 0; j < m; j++) s[j] = Tb[(size_t)j * tw + c[j]];
        for (int l = 2; l <= L; l++) {
          const float *cs = q->cbcos[l - 1], *sn = q->cbsin[l - 1];
          m /= 2;
          for (int j = 0; j < m; j++) s[j] = cs[c[off + j]] * s[2 * j] + sn[c[off + j]] * s[2 * j + 1];
          off += m;
        }
        acc[qi] += r * s[0];
      }
    }
    for (size_t qi = 0; qi < nqry; qi++) S[qi * lds + i] = acc[qi];
  }
}

int subq_polar_scores_(const subq_quant_t *q, const subq_qtensor_t *t, size_t nqry,
                       const float *Qr, float *S, size_t lds) {
  if (q->cu) { /* on the device (src/cuda/quant.cu), row-major codes */
    uint8_t *c = NULL;
    uint16_t *h = NULL;
    SUBQ_CALL(subq_polar_cuda_rowmajor_(q, t, &c, &h));
    int e = subq_cuda_polar_scores(q->cu, t->cu, c ? c : t->code, h ? h : t->half, t->nq, nqry,
                                   Qr, S, lds);
    subq_free(&c);
    subq_free(&h);
    return e;
  }
  const size_t G = SUBQ_POLAR_GROUP, ng = q->simd ? t->nq / G : 0, h = (size_t)q->dim / 2;
  float *T1 = NULL;
  SUBQ_CALL(subq_malloc(QB * h, t1_width_(q) * sizeof(float), &T1));
  for (size_t q0 = 0; q0 < nqry; q0 += QB) {
    const size_t nbq = nqry - q0 < QB ? nqry - q0 : QB;
    level1_tables_(q, nbq, Qr + q0 * (size_t)q->dim, T1);
#pragma omp parallel
    {
      /* Units: the ng full groups (AVX-512), then the remaining rows one unit each. */
      size_t lo, hi;
      share_(ng + (t->nq - ng * G), &lo, &hi);
      if (lo < ng)
        subq_polar_avx512_scores_(q, t, (int)nbq, T1, lo, hi < ng ? hi : ng, S + q0 * lds, lds);
      if (hi > ng)
        scores_rows_(q, t, nbq, T1, ng * G + (lo > ng ? lo - ng : 0), ng * G + (hi - ng), S + q0 * lds, lds);
    }
  }
  subq_free(&T1);
  return SUBQ_OK;
}

/* Portable: part[qi*dim + c] += sum_{i in [i0, i1)} P[qi*ldp + i] xhat_i[c]. */
static void wsum_rows_(const subq_quant_t *q, const subq_qtensor_t *t, size_t nqry,
                       const float *P, size_t ldp, size_t i0, size_t i1, float *part) {
  const int D = 1 << q->levels, nb = q->dim / D;
  const size_t d = (size_t)q->dim;
  for (size_t i = i0; i < i1; i++)
    for (int b = 0; b < nb; b++) {
      uint32_t c[MAXD];
      float x[MAXD];
      subq_polar_codes_(q, t, i, b, c);
      subq_polar_reconstruct_(q, c, subq_h2f_(t->half[subq_polar_rad_(t->nq, nb, i, b)]), x);
      for (size_t qi = 0; qi < nqry; qi++) {
        const float p = P[qi * ldp + i];
        float *o = part + qi * d + (size_t)(b * D);
        for (int k = 0; k < D; k++) o[k] += p * x[k];
      }
    }
}

/* One thread's share of the weighted sum into part (nqry x dim, zeroed); lanes: scratch of
 * QB x dim x 16 floats (64-byte aligned) for the AVX-512 kernel, or NULL. */
static void wsum_share_(const subq_quant_t *q, const subq_qtensor_t *t, size_t nqry,
                        const float *P, size_t ldp, float *part, float *lanes) {
  const size_t G = SUBQ_POLAR_GROUP, ng = lanes ? t->nq / G : 0, d = (size_t)q->dim;
  size_t lo, hi;
  share_(ng + (t->nq - ng * G), &lo, &hi);
  for (size_t q0 = 0; lo < ng && q0 < nqry; q0 += QB) {
    const size_t nbq = nqry - q0 < QB ? nqry - q0 : QB;
    memset(lanes, 0, nbq * d * G * sizeof(float));
    subq_polar_avx512_wsum_(q, t, (int)nbq, P + q0 * ldp, ldp, lo, hi < ng ? hi : ng, lanes);
    for (size_t k = 0; k < nbq * d; k++) {
      float s = 0;
      for (size_t l = 0; l < G; l++) s += lanes[k * G + l];
      part[q0 * d + k] += s;
    }
  }
  if (hi > ng) wsum_rows_(q, t, nqry, P, ldp, ng * G + (lo > ng ? lo - ng : 0), ng * G + (hi - ng), part);
}

int subq_polar_wsum_(const subq_quant_t *q, const subq_qtensor_t *t, size_t nqry,
                     const float *P, size_t ldp, float *O) {
  if (q->cu) { /* on the device (src/cuda/quant.cu), row-major codes */
    uint8_t *c = NULL;
    uint16_t *h = NULL;
    SUBQ_CALL(subq_polar_cuda_rowmajor_(q, t, &c, &h));
    int e = subq_cuda_polar_wsum(q->cu, t->cu, c ? c : t->code, h ? h : t->half, t->nq, nqry, P,
                                 ldp, O);
    subq_free(&c);
    subq_free(&h);
    return e;
  }
  const size_t d = (size_t)q->dim;
  memset(O, 0, nqry * d * sizeof(float));
  int err = 0;
#pragma omp parallel
  {
    float *part = NULL, *lanes = NULL; /* subq_calloc: 64-byte aligned */
    int e = subq_calloc(nqry * d, sizeof(float), &part);
    if (!e && q->simd) e = subq_calloc((size_t)QB * d * SUBQ_POLAR_GROUP, sizeof(float), &lanes);
    if (!e) {
      wsum_share_(q, t, nqry, P, ldp, part, lanes);
#pragma omp critical(subq_polar_wsum)
      for (size_t k = 0; k < nqry * d; k++) O[k] += part[k];
    }
    if (e) {
#pragma omp atomic write
      err = e;
    }
    subq_free(&part);
    subq_free(&lanes);
  }
  return err ? SUBQ_FAIL(err, "cannot allocate per-thread sums of %zu floats", nqry * d)
             : SUBQ_OK;
}
