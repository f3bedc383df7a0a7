/* Hashing-based estimator (HBE) of Charikar and Siminelakis 2017, "Hashing-based-
 * estimators for kernel density in high dimensions" (FOCS 2017), with the Euclidean
 * (p-stable) LSH of Datar, Immorlica, Indyk, Mirrokni 2004 as the hash family.
 *
 * Hash table l concatenates K functions h(x) = floor((<g, x> + b) / w), g ~ N(0, I_d),
 * b ~ U[0, w).  The collision probability of two points at distance c is exactly
 * p(c) = p1(c)^K with p1(c) = 1 - 2 Phi(-w/c) - 2/(sqrt(2 pi) w/c) (1 - exp(-(w/c)^2/2))
 * (Datar et al., Sec. 3.2).  For a query y and table l, let B(y) be y's bucket (all
 * ranks together, ordered by global index) and X uniform in B(y): Z_l = |B(y)| k(X, y) /
 * p(||X - y||) satisfies E[Z_l] = sum_x k(x, y) (CS17, Sec. 3, "HBE").  One kernel
 * evaluation per non-empty table.  Estimate = median over groups of the mean of Z_l.
 *
 * Parameters: p ~ exp(-a c) for c << w/K with a = K sqrt(2/pi)/w.  CS17's variance bound
 * for a scale-free HBE needs p(c) ~ sqrt(k(c)); we take a = 1/(2h) for the exponential
 * kernel (exact sqrt) and, for the Gaussian kernel, the rate that matches sqrt(k) at the
 * distance where k = tau, a = ln(1/tau) / (2 c_tau), c_tau = h sqrt(2 ln(1/tau)) (the
 * Gaussian decays faster beyond it, so the weights k/p stay <= 1 there).
 * K = max(1, ceil(a c_tau)) keeps c/w small over the relevant distances.
 *
 * Distributed: each rank hashes its rows; bucket sizes per (query, table) are exchanged
 * with one MPI_Allgather; the position in the global bucket is drawn from the counter RNG
 * keyed by (qid, table), so the sample never depends on the number of ranks. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kde/kde_impl.h"

typedef struct {
  uint64_t key;
  uint64_t g; /* global index */
} entry_t;

typedef struct {
  size_t L, K;      /* tables, functions per table */
  double w;         /* bucket width */
  double *G;        /* (L K) x d, row c = direction of function c */
  double *b;        /* L K offsets */
  entry_t *tab;     /* L x nloc entries, each table sorted by (key, g) */
  uint64_t *kbuf;   /* workspace: L keys */
  double *pbuf;     /* workspace: L K projections */
} hbe_t;

enum { HBE_BLOCK = 128 }; /* stored points hashed per dgemm */

static uint64_t mix_(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Keys of m points X (m x d, row-major) for all L tables: keys (m x L).  proj: workspace
 * of m L K doubles.  The projections G x + b are one dgemm (X G^T); stored points are
 * hashed in blocks and queries one at a time, so a query equal to a stored point gets the
 * same keys unless one of its L K projections lies within rounding (about 1e-16
 * relative) of a bucket boundary, an event of probability ~1e-16 per projection. */
static void keys_(const hbe_t *H, size_t d, size_t m, const double *X, double *proj,
                  uint64_t *keys) {
  const size_t LK = H->L * H->K;
  if (d > 0)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)LK, (int)d, 1.0, X,
                (int)d, H->G, (int)d, 0.0, proj, (int)LK);
  else
    memset(proj, 0, m * LK * sizeof *proj);
  for (size_t i = 0; i < m; i++)
    for (size_t l = 0; l < H->L; l++) {
      uint64_t key = 0x243F6A8885A308D3ull ^ l;
      for (size_t j = 0; j < H->K; j++) {
        size_t c = l * H->K + j;
        /* clamped: a tiny bandwidth makes s / w overflow int64 (undefined in C) */
        double f = floor((proj[i * LK + c] + H->b[c]) / H->w);
        int64_t v = f >= 9.2e18 ? INT64_MAX : f <= -9.2e18 ? INT64_MIN : (int64_t)f;
        key = mix_(key ^ (uint64_t)v);
      }
      keys[i * H->L + l] = key;
    }
}

static int cmp_entry_(const void *a, const void *b) {
  const entry_t *x = a, *y = b;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  return (x->g > y->g) - (x->g < y->g);
}

/* Collision probability of one function at distance c (Datar et al. 2004). */
static double p1_(double c, double w) {
  if (c <= 0) return 1.0;
  double s = w / c;
  double p = 1.0 - erfc(s / sqrt(2.0)) - 2.0 / (sqrt(2.0 * M_PI) * s) * (1.0 - exp(-0.5 * s * s));
  return p > 0 ? p : 0;
}

static int setup_(subq_kde_t *k) {
  SUBQ_CHECK(k->kernel.type != SUBQ_KERNEL_LAPLACIAN, SUBQ_ERR_ARG,
             "the HBE estimator supports the gaussian and exponential kernels, not laplacian");
  SUBQ_CHECK(k->per_group >= 1 && k->groups >= 1, SUBQ_ERR_ARG,
             "HBE needs >= 1 table per group and >= 1 group, got %zu, %zu", k->per_group,
             k->groups);
  hbe_t *H = NULL;
  SUBQ_CALL(SUBQ_ZALLOC(H, 1));
  k->impl = H;
  const double h = k->kernel.h, lt = log(1.0 / k->tau);
  double a, ctau;
  if (k->kernel.type == SUBQ_KERNEL_EXPONENTIAL) {
    a = 1.0 / (2 * h);
    ctau = h * fmax(lt, 1.0);
  } else {
    ctau = h * sqrt(2.0 * fmax(lt, 0.5));
    a = fmax(lt, 0.5) / (2 * ctau);
  }
  H->L = k->per_group * k->groups;
  H->K = (size_t)fmax(1.0, ceil(a * ctau));
  H->w = (double)H->K * sqrt(2.0 / M_PI) / a;
  const size_t LK = H->L * H->K, d = k->d;
  SUBQ_CHECK(LK <= INT32_MAX && d <= INT32_MAX, SUBQ_ERR_ARG,
             "HBE: %zu tables x %zu functions or dimension %zu exceed BLAS int", H->L, H->K, d);
  SUBQ_CALL(subq_malloc(LK, d * sizeof(double), &H->G));
  SUBQ_CALL(SUBQ_ALLOC(H->pbuf, LK));
  SUBQ_CALL(SUBQ_ALLOC(H->b, LK));
  SUBQ_CALL(SUBQ_ALLOC(H->kbuf, H->L));
  size_t ntab = 0;
  SUBQ_CALL(subq_size_mul(H->L, k->nloc, &ntab));
  SUBQ_CALL(SUBQ_ALLOC(H->tab, ntab));
  subq_rng_fill_gauss(k->seed, subq_kde_stream_(k, SUBQ_KDE_P_HBE_G), 0, LK * d, H->G);
  for (size_t c = 0; c < LK; c++)
    H->b[c] = H->w * subq_rng_uniform(k->seed, subq_kde_stream_(k, SUBQ_KDE_P_HBE_B), c);
  uint64_t *keys = NULL;
  SUBQ_CALL(SUBQ_ALLOC(keys, H->L * (k->nloc ? k->nloc : 1)));
  /* stored points in blocks of HBE_BLOCK rows (workspace HBE_BLOCK L K doubles) */
  double *proj = NULL;
  const size_t nb = k->nloc < HBE_BLOCK ? k->nloc : HBE_BLOCK;
  int e = subq_malloc(nb ? nb : 1, LK * sizeof(double), &proj);
  if (e) subq_free(&keys);
  SUBQ_CALL(e);
  for (size_t i = 0; i < k->nloc; i += HBE_BLOCK) {
    size_t m = k->nloc - i < HBE_BLOCK ? k->nloc - i : HBE_BLOCK;
    keys_(H, d, m, k->X + i * d, proj, keys + i * H->L);
  }
  subq_free(&proj);
  for (size_t l = 0; l < H->L; l++) {
    entry_t *T = H->tab + l * k->nloc;
    for (size_t i = 0; i < k->nloc; i++) {
      T[i].key = keys[i * H->L + l];
      T[i].g = k->lo + i;
    }
    qsort(T, k->nloc, sizeof *T, cmp_entry_);
  }
  subq_free(&keys);
  return SUBQ_OK;
}

/* [first, last) of key in table T (nloc entries sorted by key). */
static void range_(const entry_t *T, size_t n, uint64_t key, size_t *first, size_t *last) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (T[mid].key < key) lo = mid + 1;
    else hi = mid;
  }
  *first = lo;
  hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (T[mid].key <= key) lo = mid + 1;
    else hi = mid;
  }
  *last = lo;
}

static size_t npre_(const subq_kde_t *k) { return ((const hbe_t *)k->impl)->L; }
static size_t nout_(const subq_kde_t *k) { return ((const hbe_t *)k->impl)->L; }

static void pre_(const subq_kde_t *k, const double *y, long *cnt) {
  const hbe_t *H = k->impl;
  uint64_t *keys = H->kbuf;
  keys_(H, k->d, 1, y, H->pbuf, keys);
  for (size_t l = 0; l < H->L; l++) {
    size_t f, e;
    range_(H->tab + l * k->nloc, k->nloc, keys[l], &f, &e);
    cnt[l] = (long)(e - f);
  }
}

static int local_(subq_kde_t *k, const double *Y, size_t q, const uint64_t *qids,
                  const long *allcnt, double *part, uint64_t *evals) {
  hbe_t *H = k->impl;
  const size_t L = H->L;
  const uint64_t st = subq_kde_stream_(k, SUBQ_KDE_P_HBE_PICK);
  uint64_t *keys = NULL;
  SUBQ_CALL(SUBQ_ALLOC(keys, L));
  for (size_t i = 0; i < q; i++) {
    const double *y = Y + i * k->d;
    const long *ac = allcnt + i * (size_t)k->size * L;
    keys_(H, k->d, 1, y, H->pbuf, keys);
    for (size_t l = 0; l < L; l++) {
      long C = 0, off = 0;
      for (int r = 0; r < k->size; r++) {
        if (r < k->rank) off += ac[(size_t)r * L + l];
        C += ac[(size_t)r * L + l];
      }
      long mine = ac[(size_t)k->rank * L + l];
      if (C == 0 || mine == 0) continue;
      long u = (long)subq_rng_below(k->seed, st, qids[i] * (uint64_t)L + l, (uint64_t)C);
      if (u < off || u >= off + mine) continue;
      size_t f, e;
      range_(H->tab + l * k->nloc, k->nloc, keys[l], &f, &e);
      const double *x = k->X + (H->tab[l * k->nloc + f + (size_t)(u - off)].g - k->lo) * k->d;
      double c = subq_kde_dist_(k->kernel.type, x, y, k->d);
      double kv = subq_kernel_eval(&k->kernel, x, y, k->d);
      double p = pow(p1_(c, H->w), (double)H->K);
      part[i * L + l] = p > 0 ? (double)C * kv / p : 0;
      (*evals)++;
    }
  }
  subq_free(&keys);
  return SUBQ_OK;
}

static double combine_(const subq_kde_t *k, double *v) {
  const size_t G = k->groups, m = k->per_group;
  for (size_t g = 0; g < G; g++) {
    double s = 0;
    for (size_t t = 0; t < m; t++) s += v[g * m + t];
    v[g] = s / (double)m;
  }
  return subq_kde_median_(v, G);
}

static void destroy_(subq_kde_t *k) {
  hbe_t *H = k->impl;
  if (!H) return;
  subq_free(&H->G);
  subq_free(&H->b);
  subq_free(&H->tab);
  subq_free(&H->kbuf);
  subq_free(&H->pbuf);
  subq_free(&k->impl);
}

const subq_kde_ops_t subq_kde_hbe_ops_ = {"hbe", setup_, npre_, pre_, nout_, local_, combine_,
                                          destroy_};
