/* PolarQuant attention from the codes, AVX-512 kernels (the arithmetic of polar_codes.c,
 * 16 keys at a time).  The grouped layout (quant_impl.h) puts one code field of 16 keys in
 * 2k bytes: a 32- or 64-bit broadcast load and one variable shift give every lane its
 * code in the low bits, and `vpermps` looks up a 16-entry table (the level-1 table of the
 * query for that coordinate pair, or a level's cos/sin table replicated with period
 * 2^k, so the bits above the code do not matter).  Scores fold the tree lane-parallel
 * (one FMA pair per node); values rebuild the 16 coordinates of a block lane-parallel and
 * accumulate them, times the softmax weights, into per-lane sums (one zmm per output
 * coordinate and query), reduced over lanes by the caller.  The codes and cos/sin
 * lookups are shared by the up to 4 queries of a call (heads of one GQA group).
 *
 * Compiled for any x86-64 with GCC's target attribute; used only when
 * subq_polar_avx512_ok_() (CPU has AVX-512 F/BW/VL/DQ) says so. */
#include "quant/quant_impl.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>

int subq_polar_avx512_ok_(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,fma,f16c")
#define INL static inline __attribute__((always_inline))
#define QB_ 4 /* queries per call (polar_codes.c: QB) */

/* Codes of one field (2k bytes at p) in the low bits of each lane (garbage above). */
INL __m512i field_(const uint8_t *p, int k) {
  if (k == 4) {
    uint64_t w;
    memcpy(&w, p, 8);
    return _mm512_srlv_epi32(_mm512_set1_epi64((long long)w),
                             _mm512_set_epi32(28, 28, 24, 24, 20, 20, 16, 16, 12, 12, 8, 8, 4, 4, 0, 0));
  }
  uint32_t w;
  memcpy(&w, p, 4); /* k = 1: 2 bytes of the field + 2 of the next (or the padding) */
  const __m512i sh = k == 2 ? _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0)
                            : _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  return _mm512_srlv_epi32(_mm512_set1_epi32((int)w), sh);
}

/* Software prefetch of group g's codes and radii (the hardware prefetcher alone left the
 * kernels below the read bandwidth on the development VM). */
#define PF_AHEAD_ 8
INL void prefetch_(const subq_qtensor_t *t, size_t g, size_t gbytes, size_t nb) {
  const char *c = (const char *)t->code + g * gbytes, *h = (const char *)(t->half + g * nb * 16);
  for (size_t o = 0; o < gbytes; o += 64) _mm_prefetch(c + o, _MM_HINT_T0);
  for (size_t o = 0; o < nb * 32; o += 64) _mm_prefetch(h + o, _MM_HINT_T0);
}

/* Per-level cos/sin codebooks replicated to 16 entries (period 2^k). */
static void rep_tables_(const subq_quant_t *q, __m512 *cs, __m512 *sn) {
  for (int l = 0; l < q->levels; l++) {
    float a[16], b[16];
    for (int c = 0; c < 16; c++) {
      a[c] = q->cbcos[l][c % q->cbk[l]];
      b[c] = q->cbsin[l][c % q->cbk[l]];
    }
    cs[l] = _mm512_loadu_ps(a);
    sn[l] = _mm512_loadu_ps(b);
  }
}

/* Bit offset (within a block) of angle j of level l; k[] bits per level. */
INL int aoff_(int L, const int *k, int l, int j) {
  int o = 0;
  #pragma GCC unroll 16
  for (int m = 1; m < l; m++) o += ((1 << L) >> m) * k[m - 1];
  return o + j * k[l - 1];
}

/* Scores of groups [g0, g1): the tree folded per lane, NQ queries. */
INL void scores_groups_(const subq_quant_t *q, const subq_qtensor_t *t, const int L,
                        const int *k, const int NQ, const float *T1, size_t g0, size_t g1,
                        float *S, size_t lds) {
  const int D = 1 << L, nb = q->dim / D, bpb = subq_polar_bpb_(q);
  const size_t h = (size_t)q->dim / 2;
  __m512 cs[SUBQ_POLAR_MAX_LEVELS], sn[SUBQ_POLAR_MAX_LEVELS];
  rep_tables_(q, cs, sn);
  const size_t gbytes = (size_t)nb * (size_t)bpb * 2; /* one group's codes */
  for (size_t g = g0; g < g1; g++) {
    prefetch_(t, g + PF_AHEAD_ < g1 ? g + PF_AHEAD_ : g, gbytes, (size_t)nb);
    __m512 acc[QB_];
    #pragma GCC unroll 16
    for (int qi = 0; qi < NQ; qi++) acc[qi] = _mm512_setzero_ps();
    #pragma GCC unroll 16
    for (int b = 0; b < nb; b++) {
      const size_t rb = g * (size_t)nb + (size_t)b;
      const uint8_t *rec = t->code + rb * (size_t)bpb * 2;
      const __m512 r = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(t->half + rb * 16)));
      __m512 s[QB_][SUBQ_POLAR_MAX_BLOCK / 2];
      #pragma GCC unroll 16
      for (int j = 0; j < D / 2; j++) {
        const __m512i ix = field_(rec + 2 * aoff_(L, k, 1, j), k[0]);
        #pragma GCC unroll 16
        for (int qi = 0; qi < NQ; qi++)
          s[qi][j] = _mm512_permutexvar_ps(
              ix, _mm512_loadu_ps(T1 + ((size_t)qi * h + (size_t)(b * D / 2 + j)) * 16));
      }
      #pragma GCC unroll 16
      for (int l = 2, m = D / 2; l <= L; l++) {
        m /= 2;
        #pragma GCC unroll 16
        for (int j = 0; j < m; j++) {
          const __m512i ix = field_(rec + 2 * aoff_(L, k, l, j), k[l - 1]);
          const __m512 c = _mm512_permutexvar_ps(ix, cs[l - 1]), z = _mm512_permutexvar_ps(ix, sn[l - 1]);
          #pragma GCC unroll 16
          for (int qi = 0; qi < NQ; qi++)
            s[qi][j] = _mm512_fmadd_ps(c, s[qi][2 * j], _mm512_mul_ps(z, s[qi][2 * j + 1]));
        }
      }
      #pragma GCC unroll 16
      for (int qi = 0; qi < NQ; qi++) acc[qi] = _mm512_fmadd_ps(r, s[qi][0], acc[qi]);
    }
    #pragma GCC unroll 16
    for (int qi = 0; qi < NQ; qi++) _mm512_storeu_ps(S + (size_t)qi * lds + g * 16, acc[qi]);
  }
}

/* Weighted values of groups [g0, g1): acc[(qi*dim + c)*16 + lane] += p x_c per lane. */
INL void wsum_groups_(const subq_quant_t *q, const subq_qtensor_t *t, const int L,
                      const int *k, const int NQ, const float *P, size_t ldp, size_t g0,
                      size_t g1, float *acc) {
  const int D = 1 << L, nb = q->dim / D, bpb = subq_polar_bpb_(q);
  const size_t d = (size_t)q->dim;
  __m512 cs[SUBQ_POLAR_MAX_LEVELS], sn[SUBQ_POLAR_MAX_LEVELS];
  rep_tables_(q, cs, sn);
  __m512 *A = (__m512 *)acc;
  const size_t gbytes = (size_t)nb * (size_t)bpb * 2; /* one group's codes */
  for (size_t g = g0; g < g1; g++) {
    prefetch_(t, g + PF_AHEAD_ < g1 ? g + PF_AHEAD_ : g, gbytes, (size_t)nb);
    __m512 p[QB_];
    #pragma GCC unroll 16
    for (int qi = 0; qi < NQ; qi++) p[qi] = _mm512_loadu_ps(P + (size_t)qi * ldp + g * 16);
    #pragma GCC unroll 16
    for (int b = 0; b < nb; b++) {
      const size_t rb = g * (size_t)nb + (size_t)b;
      const uint8_t *rec = t->code + rb * (size_t)bpb * 2;
      const __m512 r = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(t->half + rb * 16)));
      __m512 w[SUBQ_POLAR_MAX_BLOCK / 2]; /* in place, top-down: node j -> 2j, 2j+1 */
      w[0] = NQ == 1 ? _mm512_mul_ps(r, p[0]) : r;
#pragma GCC unroll 16
      for (int l = L, m = 1; l >= 2; l--, m *= 2) {
#pragma GCC unroll 16
        for (int j = m - 1; j >= 0; j--) {
          const __m512i ix = field_(rec + 2 * aoff_(L, k, l, j), k[l - 1]);
          const __m512 wj = w[j];
          w[2 * j] = _mm512_mul_ps(wj, _mm512_permutexvar_ps(ix, cs[l - 1]));
          w[2 * j + 1] = _mm512_mul_ps(wj, _mm512_permutexvar_ps(ix, sn[l - 1]));
        }
      }
#pragma GCC unroll 16
      for (int j = 0; j < D / 2; j++) {
        const __m512i ix = field_(rec + 2 * aoff_(L, k, 1, j), k[0]);
        const __m512 c = _mm512_permutexvar_ps(ix, cs[0]), z = _mm512_permutexvar_ps(ix, sn[0]);
        const size_t o = (size_t)(b * D + 2 * j);
        if (NQ == 1) {
          A[o] = _mm512_fmadd_ps(w[j], c, A[o]);
          A[o + 1] = _mm512_fmadd_ps(w[j], z, A[o + 1]);
        } else {
          const __m512 x0 = _mm512_mul_ps(w[j], c), x1 = _mm512_mul_ps(w[j], z);
          #pragma GCC unroll 16
          for (int qi = 0; qi < NQ; qi++) {
            A[qi * d + o] = _mm512_fmadd_ps(p[qi], x0, A[qi * d + o]);
            A[qi * d + o + 1] = _mm512_fmadd_ps(p[qi], x1, A[qi * d + o + 1]);
          }
        }
      }
    }
  }
}

static int is_default_(const subq_quant_t *q) {
  return q->levels == 4 && q->bits[0] == 4 && q->bits[1] == 2 && q->bits[2] == 2 && q->bits[3] == 2;
}

/* Instantiations: the paper's default (L = 4, bits 4,2,2,2) with compile-time offsets, and
 * any other layout of 1/2/4-bit levels with run-time ones; NQ = 1..4 each. */
static const int kdef_[4] = {4, 2, 2, 2};
#define INST(NQ)                                                                          \
  static void scores_def_##NQ(const subq_quant_t *q, const subq_qtensor_t *t, const float *T1, \
                              size_t g0, size_t g1, float *S, size_t lds) {               \
    scores_groups_(q, t, 4, kdef_, NQ, T1, g0, g1, S, lds);                                \
  }                                                                                       \
  static void scores_any_##NQ(const subq_quant_t *q, const subq_qtensor_t *t, const float *T1, \
                              size_t g0, size_t g1, float *S, size_t lds) {               \
    scores_groups_(q, t, q->levels, q->bits, NQ, T1, g0, g1, S, lds);                      \
  }                                                                                       \
  static void wsum_def_##NQ(const subq_quant_t *q, const subq_qtensor_t *t, const float *P, \
                            size_t ldp, size_t g0, size_t g1, float *acc) {               \
    wsum_groups_(q, t, 4, kdef_, NQ, P, ldp, g0, g1, acc);                                 \
  }                                                                                       \
  static void wsum_any_##NQ(const subq_quant_t *q, const subq_qtensor_t *t, const float *P, \
                            size_t ldp, size_t g0, size_t g1, float *acc) {               \
    wsum_groups_(q, t, q->levels, q->bits, NQ, P, ldp, g0, g1, acc);                       \
  }
INST(1)
INST(2)
INST(3)
INST(4)

typedef void (*scores_fn_)(const subq_quant_t *, const subq_qtensor_t *, const float *, size_t,
                           size_t, float *, size_t);
typedef void (*wsum_fn_)(const subq_quant_t *, const subq_qtensor_t *, const float *, size_t,
                         size_t, size_t, float *);
static const scores_fn_ scores_fns_[2][4] = {{scores_any_1, scores_any_2, scores_any_3, scores_any_4},
                                             {scores_def_1, scores_def_2, scores_def_3, scores_def_4}};
static const wsum_fn_ wsum_fns_[2][4] = {{wsum_any_1, wsum_any_2, wsum_any_3, wsum_any_4},
                                         {wsum_def_1, wsum_def_2, wsum_def_3, wsum_def_4}};

void subq_polar_avx512_scores_(const subq_quant_t *q, const subq_qtensor_t *t, int nqry,
                               const float *T1, size_t g0, size_t g1, float *S, size_t lds) {
  scores_fns_[is_default_(q)][nqry - 1](q, t, T1, g0, g1, S, lds);
}

void subq_polar_avx512_wsum_(const subq_quant_t *q, const subq_qtensor_t *t, int nqry,
                             const float *P, size_t ldp, size_t g0, size_t g1, float *acc) {
  wsum_fns_[is_default_(q)][nqry - 1](q, t, P, ldp, g0, g1, acc);
}
#pragma GCC pop_options

#else /* not x86-64 GCC: the portable path only */
int subq_polar_avx512_ok_(void) { return 0; }
void subq_polar_avx512_scores_(const subq_quant_t *q, const subq_qtensor_t *t, int nqry,
                               const float *T1, size_t g0, size_t g1, float *S, size_t lds) {
  (void)q, (void)t, (void)nqry, (void)T1, (void)g0, (void)g1, (void)S, (void)lds;
}
void subq_polar_avx512_wsum_(const subq_quant_t *q, const subq_qtensor_t *t, int nqry,
                             const float *P, size_t ldp, size_t g0, size_t g1, float *acc) {
  (void)q, (void)t, (void)nqry, (void)P, (void)ldp, (void)g0, (void)g1, (void)acc;
}
#endif
