/* PolarQuant (Han, Kacham, Karbasi, Mirrokni, Zandieh 2025, arXiv 2502.02617).
 *
 * After the shared random preconditioning (precond.c) every row is cut into blocks of
 * D = 2^L coordinates.  Each block goes through the recursive polar transform (Alg. 1,
 * Eq. (3)): level 1 turns coordinate pairs into radii and angles atan2(x_{2j+1}, x_{2j}) in
 * [0, 2pi); level l >= 2 turns consecutive radius pairs into their norm and the angle
 * atan2(|right|, |left|) in [0, pi/2]; the last radius (the block norm) is kept in fp16.
 * Level-l angles are quantized with b_l bits against a codebook: "offline" = Lloyd-Max on
 * the analytic density (Lemma 2: uniform at level 1, proportional to sin^(2^(l-1)-1)(2psi)
 * above), "online" = 1-D k-means++ on the angles of the data given to setup (Sec. 4.1).
 *
 * Storage per block: 16 bits (radius) + sum_l b_l D/2^l bits, e.g. 16 + 8*4 + 4*2 + 2*2 +
 * 1*2 = 62 bits per 16 coordinates = 3.875 bits/coordinate for L = 4, bits 4,2,2,2.
 * Codes are stored in groups of 16 rows, transposed so that one load gives a code field of
 * all 16 rows (layout in quant_impl.h); the last n mod 16 rows are stored row-major. */
#include <stdlib.h>

#include "quant/quant_impl.h"

enum { MAXD = 1 << SUBQ_POLAR_MAX_LEVELS };

void subq_polar_transform(int L, size_t nblocks, const double *x, double *radius,
                          double *angles) {
  const int D = 1 << L, na = D - 1;
  for (size_t b = 0; b < nblocks; b++) {
    const double *xb = x + b * (size_t)D;
    double *a = angles + b * (size_t)na, r[MAXD / 2];
    int m = D / 2, off = 0;
    for (int j = 0; j < m; j++) {
      double t = atan2(xb[2 * j + 1], xb[2 * j]);
      if (t < 0) t += 2 * M_PI;
      a[j] = t < 2 * M_PI ? t : 0.0;
      r[j] = hypot(xb[2 * j], xb[2 * j + 1]);
    }
    off = m;
    for (int l = 2; l <= L; l++) {
      m /= 2;
      for (int j = 0; j < m; j++) {
        a[off + j] = atan2(r[2 * j + 1], r[2 * j]);
        r[j] = hypot(r[2 * j], r[2 * j + 1]);
      }
      off += m;
    }
    radius[b] = r[0];
  }
}

void subq_polar_inverse(int L, size_t nblocks, const double *radius, const double *angles,
                        double *x) {
  const int D = 1 << L, na = D - 1;
  for (size_t b = 0; b < nblocks; b++) {
    const double *a = angles + b * (size_t)na;
    double r[MAXD / 2], nr[MAXD / 2];
    r[0] = radius[b];
    int m = 1, off = na - 1; /* level L holds one angle at the end */
    for (int l = L; l >= 2; l--) {
      for (int j = 0; j < m; j++) {
        nr[2 * j] = r[j] * cos(a[off + j]);
        nr[2 * j + 1] = r[j] * sin(a[off + j]);
      }
      m *= 2;
      off -= m;
      memcpy(r, nr, (size_t)m * sizeof(double));
    }
    double *xb = x + b * (size_t)D;
    for (int j = 0; j < D / 2; j++) {
      xb[2 * j] = r[j] * cos(a[j]);
      xb[2 * j + 1] = r[j] * sin(a[j]);
    }
  }
}

static double density_cb_(double psi, void *ctx) { return subq_polar_density(*(int *)ctx, psi); }

/* Cell boundaries of every level as directions, so that encoding compares coordinates
 * with them instead of computing angles (see block_codes_). */
static int boundaries_setup_(subq_quant_t *q) {
  for (int l = 1; l <= q->levels; l++) {
    const int k = q->cbk[l - 1];
    const double *c = q->cb[l - 1];
    SUBQ_CALL(SUBQ_ALLOC(q->bnd_c[l - 1], k));
    SUBQ_CALL(SUBQ_ALLOC(q->bnd_s[l - 1], k));
    for (int j = 0; j < k; j++) {
      /* the wrap-around midpoint, taken modulo 2pi (block_codes_ knows which side) */
      double beta = j < k - 1 ? 0.5 * (c[j] + c[j + 1]) : 0.5 * (c[k - 1] + c[0]) + M_PI;
      if (j == k - 1 && c[k - 1] + c[0] >= 2 * M_PI) beta = 0.5 * (c[k - 1] + c[0]) - M_PI;
      if (l == 1) {
        q->bnd_c[0][j] = cos(beta);
        q->bnd_s[0][j] = sin(beta);
      } else {
        q->bnd_c[l - 1][j] = cos(beta) * cos(beta);
        q->bnd_s[l - 1][j] = sin(beta) * sin(beta);
      }
    }
  }
  const int nb = SUBQ_POLAR_GUESS_BINS, k1 = q->cbk[0];
  SUBQ_CALL(SUBQ_ALLOC(q->guess1, nb));
  for (int t = 0, n = 0; t < nb; t++) {
    while (n < k1 - 1 && 0.5 * (q->cb[0][n] + q->cb[0][n + 1]) < 2 * M_PI * t / nb) n++;
    q->guess1[t] = n;
  }
  return SUBQ_OK;
}

/* Is theta(x, y) in [0, 2pi) > beta, for a boundary direction (c, s) = (cos beta,
 * sin beta) in half-turn bup (1: [0, pi), 0: [pi, 2pi))?  In the same half-turn the angles
 * differ by less than pi and the sign of sin(theta - beta) = c y - s x decides; otherwise
 * the half-turns do.  up: the half-turn of (x, y); (x, y) = 0 is theta = 0. */
static inline int above_(int up, double x, double y, double c, double s, int bup) {
  const double cr = c * y - s * x;
  return ((up == bup) & (cr > 0)) | ((up != bup) & !up);
}
static inline int below_(int up, double x, double y, double c, double s, int bup) {
  const double cr = c * y - s * x;
  return ((up == bup) & (cr < 0)) | ((up != bup) & up);
}
static inline int half_(double x, double y) { return (y > 0) | ((y == 0) & (x >= 0)); }

/* atan2(y, x) in [0, 2pi) to ~1e-5 rad (only a guess for block_codes_: a minimax
 * polynomial for atan on [0, 1], Abramowitz & Stegun 4.4.49 form, after octant reduction). */
static inline float angle_guess_(float x, float y) {
  const float ax = fabsf(x), ay = fabsf(y), mx = ax > ay ? ax : ay, mn = ax > ay ? ay : ax;
  const float z = mx > 0 ? mn / mx : 0, z2 = z * z;
  float a = z * (0.99997726f + z2 * (-0.33262347f + z2 * (0.19354346f + z2 * (-0.11643287f +
                 z2 * (0.05265332f + z2 * -0.01172120f)))));
  a = ay > ax ? (float)M_PI_2 - a : a; /* selects, not jumps: the signs are random */
  a = x < 0 ? (float)M_PI - a : a;
  return y < 0 ? (float)(2 * M_PI) - a : a;
}

/* Codes of one block of D = 2^L coordinates (level order) and its squared norm: the
 * recursive polar transform's angles (Alg. 1) quantized to the nearest centroid without
 * computing them.  The nearest centroid is the number of cell midpoints below the angle
 * (what subq_nearest_ finds).  Level 1: a guess from an approximate angle, corrected by exact
 * comparisons of (x, y) with the midpoint directions (above_), then the circular
 * wrap-around cell; level l >= 2: psi = atan2(rR, rL) in [0, pi/2] exceeds a
 * midpoint beta iff rR^2 cos^2 beta > rL^2 sin^2 beta, so only squared radii are formed.
 * The same codes as atan2/hypot and subq_nearest_ except for angles on a boundary within
 * rounding (test_polar.c, test_encode_codes_, finds none in 48k Gaussian blocks). */
static double block_codes_(const subq_quant_t *q, const float *x, uint32_t *code) {
  const int L = q->levels, D = 1 << L, k1 = q->cbk[0];
  const double *bc = q->bnd_c[0], *bs = q->bnd_s[0];
  double r2[MAXD / 2];
  /* the wrap-around midpoint lies at or past 2pi (stored modulo 2pi) or before it */
  const int beyond = k1 > 1 && q->cb[0][k1 - 1] + q->cb[0][0] >= 2 * M_PI;
  const int wup = half_(bc[k1 - 1], bs[k1 - 1]);
  for (int j = 0; j < D / 2; j++) {
    const double a = x[2 * j], b = x[2 * j + 1];
    const int up = half_(a, b);
    r2[j] = a * a + b * b;
    /* Guess from an approximate angle and a table of bins, then exact steps to the cell with
     * beta_{n-1} < theta <= beta_n (usually none). */
    const float th = angle_guess_((float)a, (float)b);
    int t = (int)(th * (float)(SUBQ_POLAR_GUESS_BINS / (2 * M_PI)));
    int n = q->guess1[t < 0 ? 0 : t >= SUBQ_POLAR_GUESS_BINS ? SUBQ_POLAR_GUESS_BINS - 1 : t];
    while (n < k1 - 1 && above_(up, a, b, bc[n], bs[n], half_(bc[n], bs[n]))) n++;
    while (n > 0 && !above_(up, a, b, bc[n - 1], bs[n - 1], half_(bc[n - 1], bs[n - 1]))) n--;
    if (k1 > 1) {
      if (!beyond && n == k1 - 1 && above_(up, a, b, bc[k1 - 1], bs[k1 - 1], wup)) n = 0;
      else if (beyond && n == 0 && below_(up, a, b, bc[k1 - 1], bs[k1 - 1], wup)) n = k1 - 1;
    }
    code[j] = (uint32_t)n;
  }
  for (int l = 2, m = D / 2, f = D / 2; l <= L; l++) {
    const int k = q->cbk[l - 1];
    const double *c2 = q->bnd_c[l - 1], *s2 = q->bnd_s[l - 1];
    m /= 2;
    for (int j = 0; j < m; j++, f++) {
      const double rl = r2[2 * j], rr = r2[2 * j + 1];
      int n = 0;
      for (int i = 0; i < k - 1; i++) n += rr * c2[i] > rl * s2[i];
      code[f] = (uint32_t)n;
      r2[j] = rl + rr;
    }
  }
  return r2[0];
}

int subq_polar_bpb_(const subq_quant_t *q) {
  int s = 0, D = 1 << q->levels;
  for (int l = 1; l <= q->levels; l++) s += q->bits[l - 1] * (D >> l);
  return s;
}

static int setup_(subq_quant_t *q, size_t n, const float *X) {
  const int L = q->levels, D = 1 << L, d = q->dim;
  SUBQ_CHECK(q->nbits == L, SUBQ_ERR_ARG,
             "polarquant needs one bit width per level: %d levels, %d widths", L, q->nbits);
  SUBQ_CHECK(d % D == 0, SUBQ_ERR_ARG,
             "head dim %d is not a multiple of the block size 2^levels = %d (no padding is "
             "done: use fewer levels)", d, D);
  SUBQ_CHECK(d <= 4 * MAXD, SUBQ_ERR_ARG, "polarquant supports dim up to %d, got %d",
             4 * MAXD, d);
  SUBQ_CHECK(q->codebook == SUBQ_CODEBOOK_OFFLINE || n > 0, SUBQ_ERR_ARG,
             "online codebooks need training rows, got n = 0");
  const size_t nb = (size_t)(d / D);
  double *ang = NULL, *xb = NULL, *rad = NULL, *vals = NULL;
  int err = 0;
  if (q->codebook == SUBQ_CODEBOOK_ONLINE) {
    size_t nblk = 0, na = 0;
    err = subq_size_mul(n, nb, &nblk);
    if (!err) err = subq_size_mul(nblk, (size_t)(D - 1), &na);
    if (!err) err = subq_malloc(na, sizeof(double), &ang);
    if (!err) err = subq_malloc(nblk * (size_t)D, sizeof(double), &xb);
    if (!err) err = subq_malloc(nblk, sizeof(double), &rad);
    if (!err) err = subq_malloc(nblk * (size_t)(D / 2), sizeof(double), &vals);
    if (!err) {
      for (size_t i = 0; i < n * (size_t)d; i++) xb[i] = X[i];
      subq_polar_transform(L, nblk, xb, rad, ang);
    }
  }
  for (int l = 1; !err && l <= L; l++) {
    const int b = q->bits[l - 1], k = 1 << b;
    err = SUBQ_ALLOC(q->cb[l - 1], k);
    if (!err) err = SUBQ_ALLOC(q->cbcos[l - 1], k);
    if (!err) err = SUBQ_ALLOC(q->cbsin[l - 1], k);
    if (err) break;
    double *c = q->cb[l - 1], hi = l == 1 ? 2 * M_PI : M_PI / 2;
    q->cbk[l - 1] = k;
    if (q->codebook == SUBQ_CODEBOOK_ONLINE) {
      if (b > 8) {
        err = SUBQ_FAIL(SUBQ_ERR_ARG, "online codebooks take at most 8 bits, got %d at level %d", b, l);
        break;
      }
      const int cnt = D >> l, off = D - (D >> (l - 1)); /* angles of level l in a block */
      size_t m = 0;
      for (size_t blk = 0; blk < n * nb; blk++)
        for (int j = 0; j < cnt; j++) vals[m++] = ang[blk * (size_t)(D - 1) + (size_t)(off + j)];
      err = subq_kmeans1d(m, vals, k, q->seed, SUBQ_STREAM_QUANT_KMEANS + (uint64_t)l, c);
    } else if (l == 1 || b > 8) {
      /* Level 1 is uniform on the circle: Lloyd-Max cells are equal arcs with centroids
       * at their midpoints.  Above 8 bits a uniform grid is used at every level (Lloyd-Max
       * gains nothing measurable there and costs k^2 work). */
      for (int j = 0; j < k; j++) c[j] = (j + 0.5) * hi / k;
    } else {
      int lev = l;
      err = subq_lloyd_max(density_cb_, &lev, 0.0, M_PI / 2, k, c, NULL);
    }
    for (int j = 0; !err && j < k; j++) {
      q->cbcos[l - 1][j] = (float)cos(c[j]);
      q->cbsin[l - 1][j] = (float)sin(c[j]);
    }
  }
  subq_free(&ang);
  subq_free(&xb);
  subq_free(&rad);
  subq_free(&vals);
  if (!err) err = boundaries_setup_(q);
  if (!err) {
    for (int l = 1, f = 0, off = 0; l <= L; l++)
      for (int j = 0; j < (D >> l); j++, f++, off += q->bits[l - 1]) {
        q->poff[f] = off;
        q->pk[f] = q->bits[l - 1];
      }
    int narrow = 1; /* the AVX-512 kernels take 1, 2 or 4 bits per level */
    for (int l = 1; l <= L; l++) narrow &= q->bits[l - 1] == 1 || q->bits[l - 1] == 2 || q->bits[l - 1] == 4;
    q->simd = narrow && subq_polar_avx512_ok_();
  }
  if (err) return subq_error_trace(err, __FILE__, __LINE__, __func__);
  return SUBQ_OK;
}

/* Quantize rows [i0, i1) (preconditioned X) into t at their layout positions. */
static void encode_rows_(const subq_quant_t *q, const float *X, size_t i0, size_t i1,
                         subq_qtensor_t *t, size_t *bad) {
  const int D = 1 << q->levels, d = q->dim, bpb = subq_polar_bpb_(q), nb = d / D;
  for (size_t i = i0; i < i1; i++)
    for (int b = 0; b < nb; b++) {
      uint32_t c[MAXD];
      const double r = sqrt(block_codes_(q, X + i * (size_t)d + (size_t)(b * D), c));
      uint16_t h = subq_f2h_((float)r);
      if ((h & 0x7c00u) == 0x7c00u && *bad == 0) *bad = i + 1;
      t->half[subq_polar_rad_(t->nq, nb, i, b)] = h;
      for (int f = 0; f < D - 1; f++)
        subq_bits_put_(t->code, subq_polar_pos_(q, t->nq, nb, bpb, i, b, f), c[f], q->pk[f]);
    }
}

static int encode_(const subq_quant_t *q, size_t n, const float *X, subq_qtensor_t *t) {
  const int D = 1 << q->levels, d = q->dim, bpb = subq_polar_bpb_(q);
  const size_t nb = (size_t)(d / D), G = SUBQ_POLAR_GROUP, ng = n / G;
  size_t nblk = 0, nbits = 0;
  SUBQ_CALL(subq_size_mul(n, nb, &nblk));
  SUBQ_CALL(subq_size_mul(nblk, (size_t)bpb, &nbits));
  SUBQ_CALL(subq_qtensor_alloc_(t, nbits, nblk));
  t->nq = n; /* the layout depends on it (subq_quant_encode sets the same value) */
  size_t bad = 0; /* 1 + first row whose block norm overflows fp16 */
  /* Groups own whole bytes; the tail rows (row-major, may share bytes) go to one thread. */
#pragma omp parallel for schedule(static) reduction(max : bad)
  for (size_t g = 0; g <= ng; g++) {
    size_t b1 = 0;
    encode_rows_(q, X, g * G, g < ng ? (g + 1) * G : n, t, &b1);
    if (b1 && (!bad || b1 < bad)) bad = b1;
  }
  SUBQ_CHECK(!bad, SUBQ_ERR_NUMERIC, "row %zu: a block norm exceeds the fp16 range (65504)",
             bad - 1);
  return SUBQ_OK;
}

void subq_polar_codes_(const subq_quant_t *q, const subq_qtensor_t *t, size_t i, int b,
                       uint32_t *c) {
  const int D = 1 << q->levels, nb = q->dim / D, bpb = subq_polar_bpb_(q);
  for (int f = 0; f < D - 1; f++)
    c[f] = subq_bits_get_(t->code, subq_polar_pos_(q, t->nq, nb, bpb, i, b, f), q->pk[f]);
}

void subq_polar_reconstruct_(const subq_quant_t *q, const uint32_t *c, float r0, float *x) {
  const int L = q->levels, D = 1 << L;
  float r[MAXD / 2], nr[MAXD / 2];
  r[0] = r0;
  int m = 1, off = D - 2;
  for (int l = L; l >= 2; l--) {
    const float *cs = q->cbcos[l - 1], *sn = q->cbsin[l - 1];
    for (int j = 0; j < m; j++) {
      nr[2 * j] = r[j] * cs[c[off + j]];
      nr[2 * j + 1] = r[j] * sn[c[off + j]];
    }
    m *= 2;
    off -= m;
    memcpy(r, nr, (size_t)m * sizeof(float));
  }
  for (int j = 0; j < D / 2; j++) {
    x[2 * j] = r[j] * q->cbcos[0][c[j]];
    x[2 * j + 1] = r[j] * q->cbsin[0][c[j]];
  }
}

static int decode_(const subq_quant_t *q, const subq_qtensor_t *t, float *X) {
  const int D = 1 << q->levels, d = q->dim, nb = d / D;
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < t->nq; i++) {
    uint32_t c[MAXD];
    for (int b = 0; b < nb; b++) {
      subq_polar_codes_(q, t, i, b, c);
      subq_polar_reconstruct_(q, c, subq_h2f_(t->half[subq_polar_rad_(t->nq, nb, i, b)]),
                              X + i * (size_t)d + (size_t)(b * D));
    }
  }
  return SUBQ_OK;
}

/* ---- device path (src/cuda/quant.cu) ------------------------------------------------- */

/* The device copy of the set-up quantizer: rotation, codebooks and their cos/sin tables. */
int subq_polar_cuda_setup_(subq_quant_t *q) {
  subq_cuda_polar_desc_t desc;
  memset(&desc, 0, sizeof desc);
  desc.dim = q->dim;
  desc.levels = q->levels;
  desc.precond = q->precond;
  desc.signs = q->signs;
  desc.rot = q->rot;
  for (int l = 0; l < q->levels; l++) {
    desc.bits[l] = q->bits[l];
    desc.cbk[l] = q->cbk[l];
    desc.cb[l] = q->cb[l];
    desc.cbcos[l] = q->cbcos[l];
    desc.cbsin[l] = q->cbsin[l];
  }
  SUBQ_CALL(subq_cuda_polar_create(&desc, &q->cu));
  return SUBQ_OK;
}

/* Copy codes and radii between the grouped layout of t (quant_impl.h) and the row-major
 * layout (every row stored as a tail row: bit (i nb + b) bpb + poff[f], radius i nb + b).
 * to_rm: t -> (code, half); else (code, half) -> t.  code has the padded size of t's. */
static void rowmajor_copy_(const subq_quant_t *q, const subq_qtensor_t *t, int to_rm,
                           uint8_t *code, uint16_t *half) {
  const int D = 1 << q->levels, nb = q->dim / D, bpb = subq_polar_bpb_(q);
  uint8_t *dst = to_rm ? code : t->code;
  memset(dst, 0, (t->ncode_bits + 7) / 8);
  for (size_t i = 0; i < t->nq; i++)
    for (int b = 0; b < nb; b++) {
      const size_t rm = i * (size_t)nb + (size_t)b, gr = subq_polar_rad_(t->nq, nb, i, b);
      if (to_rm) half[rm] = t->half[gr];
      else t->half[gr] = half[rm];
      for (int f = 0; f < D - 1; f++) {
        const size_t prm = rm * (size_t)bpb + (size_t)q->poff[f],
                     pgr = subq_polar_pos_(q, t->nq, nb, bpb, i, b, f);
        if (to_rm) subq_bits_put_(code, prm, subq_bits_get_(t->code, pgr, q->pk[f]), q->pk[f]);
        else subq_bits_put_(t->code, pgr, subq_bits_get_(code, prm, q->pk[f]), q->pk[f]);
      }
    }
}

int subq_polar_cuda_rowmajor_(const subq_quant_t *q, const subq_qtensor_t *t, uint8_t **code,
                              uint16_t **half) {
  *code = NULL;
  *half = NULL;
  if (t->cu) return SUBQ_OK;
  int e = subq_calloc((t->ncode_bits + 7) / 8 + 8, 1, code);
  if (!e) e = subq_calloc(t->nhalf ? t->nhalf : 1, sizeof(uint16_t), half);
  if (e) {
    subq_free(code);
    subq_free(half);
    return subq_error_trace(e, __FILE__, __LINE__, __func__);
  }
  rowmajor_copy_(q, t, 1, *code, *half);
  return SUBQ_OK;
}

/* encode_ on the device: the same codes and radii, from the raw rows X. */
int subq_polar_cuda_encode_(const subq_quant_t *q, size_t n, const float *X, subq_qtensor_t *t) {
  const int D = 1 << q->levels, bpb = subq_polar_bpb_(q);
  const size_t nb = (size_t)(q->dim / D);
  size_t nblk = 0, nbits = 0;
  SUBQ_CALL(subq_size_mul(n, nb, &nblk));
  SUBQ_CALL(subq_size_mul(nblk, (size_t)bpb, &nbits));
  SUBQ_CALL(subq_qtensor_alloc_(t, nbits, nblk));
  t->nq = n; /* the layout depends on it */
  uint8_t *code = NULL;
  uint16_t *half = NULL;
  int e = subq_calloc((nbits + 7) / 8 + 8, 1, &code);
  if (!e) e = subq_calloc(nblk ? nblk : 1, sizeof(uint16_t), &half);
  if (!e) e = subq_cuda_polar_encode(q->cu, n, X, code, half, &t->cu);
  for (size_t b = 0; !e && b < nblk; b++)
    if ((half[b] & 0x7c00u) == 0x7c00u)
      e = SUBQ_FAIL(SUBQ_ERR_NUMERIC, "row %zu: a block norm exceeds the fp16 range (65504)",
                    b / nb);
  if (!e) rowmajor_copy_(q, t, 0, code, half);
  subq_free(&code);
  subq_free(&half);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : SUBQ_OK;
}

/* The local part of subq_quant_attention on the device (see quant_impl.h). */
int subq_polar_cuda_attention_(const subq_quant_t *qk, const subq_qtensor_t *K,
                               const subq_quant_t *qv, const subq_qtensor_t *V, size_t nq,
                               const float *Q, float scale, double *m, double *lo) {
  const size_t d = (size_t)qk->dim, w = d + 1;
  float *Qr = NULL, *O = NULL;
  double *l = NULL;
  uint8_t *kc = NULL, *vc = NULL;
  uint16_t *kh = NULL, *vh = NULL;
  int err = subq_malloc(nq, d * sizeof(float), &Qr);
  if (!err) err = subq_malloc(nq, d * sizeof(float), &O);
  if (!err) err = SUBQ_ALLOC(l, nq);
  if (!err) err = subq_polar_cuda_rowmajor_(qk, K, &kc, &kh);
  if (!err) err = subq_polar_cuda_rowmajor_(qv, V, &vc, &vh);
  if (!err) {
    memcpy(Qr, Q, nq * d * sizeof(float));
    err = subq_quant_rotate(qk, nq, Qr, 0);
  }
  if (!err)
    err = subq_cuda_polar_attention(qk->cu, K->cu, kc ? kc : K->code, kh ? kh : K->half,
                                    qv->cu, V->cu, vc ? vc : V->code, vh ? vh : V->half, K->nq,
                                    nq, Qr, scale, m, l, O);
  if (!err) err = subq_quant_rotate(qv, nq, O, 1); /* back to the original coordinates */
  for (size_t i = 0; !err && i < nq; i++) {
    lo[i * w] = l[i];
    for (size_t c = 0; c < d; c++) lo[i * w + 1 + c] = O[i * d + c];
  }
  subq_free(&Qr);
  subq_free(&O);
  subq_free(&l);
  subq_free(&kc);
  subq_free(&kh);
  subq_free(&vc);
  subq_free(&vh);
  if (err) return subq_error_trace(err, __FILE__, __LINE__, __func__);
  return SUBQ_OK;
}


const subq_quant_ops_t subq_quant_ops_polarquant = {"polarquant", SUBQ_PRECOND_HADAMARD,
                                                    setup_, encode_, decode_, subq_polar_scores_,
                                                    subq_polar_wsum_};
