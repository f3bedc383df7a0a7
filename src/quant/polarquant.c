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
 * Codes of a row are packed back to back (block, then level, then angle index). */
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

/* Code of angle v at level l (1-based): nearest centroid; level 1 is circular. */
static inline int angle_code_(const subq_quant_t *q, int l, double v) {
  const double *c = q->cb[l - 1];
  const int k = q->cbk[l - 1];
  int j = subq_nearest_(c, k, v);
  if (l == 1 && k > 1) {
    double dj = fabs(v - c[j]);
    if (fabs(v - (c[0] + 2 * M_PI)) < dj) j = 0;
    else if (fabs(v - (c[k - 1] - 2 * M_PI)) < dj) j = k - 1;
  }
  return j;
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
  if (!err) err = subq_polar_tables_setup_(q);
  if (err) return subq_error_trace(err, __FILE__, __LINE__, __func__);
  return SUBQ_OK;
}

static int encode_(const subq_quant_t *q, size_t n, const float *X, subq_qtensor_t *t) {
  const int L = q->levels, D = 1 << L, d = q->dim, bpb = subq_polar_bpb_(q);
  const size_t nb = (size_t)(d / D);
  size_t nblk = 0, nbits = 0;
  SUBQ_CALL(subq_size_mul(n, nb, &nblk));
  SUBQ_CALL(subq_size_mul(nblk, (size_t)bpb, &nbits));
  SUBQ_CALL(subq_qtensor_alloc_(t, nbits, nblk));
  size_t bad = 0; /* 1 + first row whose block norm overflows fp16 */
  const int aligned = (nb * (size_t)bpb) % 8 == 0; /* rows own whole bytes */
#pragma omp parallel for schedule(static) reduction(max : bad) if (aligned)
  for (size_t i = 0; i < n; i++) {
    double xb[MAXD], ang[MAXD], r;
    size_t pos = i * nb * (size_t)bpb;
    for (size_t b = 0; b < nb; b++) {
      for (int j = 0; j < D; j++) xb[j] = X[i * (size_t)d + b * (size_t)D + (size_t)j];
      subq_polar_transform(L, 1, xb, &r, ang);
      uint16_t h = subq_f2h_((float)r);
      if ((h & 0x7c00u) == 0x7c00u && bad == 0) bad = i + 1;
      t->half[i * nb + b] = h;
      int off = 0;
      for (int l = 1; l <= L; l++) {
        const int cnt = D >> l, nbl = q->bits[l - 1];
        for (int j = 0; j < cnt; j++, pos += (size_t)nbl)
          subq_bits_put_(t->code, pos, (uint32_t)angle_code_(q, l, ang[off + j]), nbl);
        off += cnt;
      }
    }
  }
  SUBQ_CHECK(!bad, SUBQ_ERR_NUMERIC, "row %zu: a block norm exceeds the fp16 range (65504)",
             bad - 1);
  return SUBQ_OK;
}

/* Reconstruct one block (float) from its radius and codes starting at bit *pos. */
void subq_polar_decode_block_(const subq_quant_t *q, const uint8_t *code, size_t *pos,
                              float r0, float *x) {
  const int L = q->levels, D = 1 << L;
  uint32_t c[MAXD];
  size_t p = *pos;
  for (int l = 1, off = 0; l <= L; l++) {
    const int cnt = D >> l, nbl = q->bits[l - 1];
    for (int j = 0; j < cnt; j++, p += (size_t)nbl) c[off + j] = subq_bits_get_(code, p, nbl);
    off += cnt;
  }
  *pos = p;
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
  const int D = 1 << q->levels, d = q->dim, bpb = subq_polar_bpb_(q);
  const size_t nb = (size_t)(d / D);
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < t->nq; i++) {
    size_t pos = i * nb * (size_t)bpb;
    for (size_t b = 0; b < nb; b++)
      subq_polar_decode_block_(q, t->code, &pos, subq_h2f_(t->half[i * nb + b]),
                    X + i * (size_t)d + b * (size_t)D);
  }
  return SUBQ_OK;
}

/* Scores from codes.  Per query: level-1 table T[j][c] = q'_{2j} cos(t_c) + q'_{2j+1}
 * sin(t_c) for every coordinate pair j and level-1 code c; then per key block the tree is
 * folded bottom-up, s <- cos(psi) s_left + sin(psi) s_right with the level's code tables,
 * and the block contributes radius * s.  Cost per (query, key): d/2 table lookups and
 * d/2 - nb multiply-adds; no dequantized vector is formed.  Keys are unpacked once per
 * block of queries (tables for up to QB queries, at most ~16 MiB). */
static int scores_(const subq_quant_t *q, const subq_qtensor_t *t, size_t nqry,
                   const float *Qr, float *S, size_t lds) {
  if (q->cu)
    return subq_cuda_polar_scores(q->cu, t->cu, t->code, t->half, t->nq, nqry, Qr, S, lds);
  if (q->up) return subq_polar_scores_fast_(q, t, nqry, Qr, S, lds);
  const int L = q->levels, D = 1 << L, d = q->dim, bpb = subq_polar_bpb_(q), k1 = q->cbk[0];
  const size_t nb = (size_t)(d / D), tsz = (size_t)(d / 2) * (size_t)k1;
  size_t QB = ((size_t)1 << 22) / tsz;
  QB = QB < 1 ? 1 : QB > 64 ? 64 : QB;
  float *T = NULL;
  SUBQ_CALL(subq_malloc(QB, tsz * sizeof(float), &T));
  for (size_t q0 = 0; q0 < nqry; q0 += QB) {
    const size_t nb_q = nqry - q0 < QB ? nqry - q0 : QB;
    for (size_t qi = 0; qi < nb_q; qi++) {
      const float *qv = Qr + (q0 + qi) * (size_t)d;
      float *Tq = T + qi * tsz;
      for (int j = 0; j < d / 2; j++)
        for (int c = 0; c < k1; c++)
          Tq[(size_t)j * k1 + c] = qv[2 * j] * q->cbcos[0][c] + qv[2 * j + 1] * q->cbsin[0][c];
    }
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < t->nq; i++) {
      uint32_t code[MAXD * 4]; /* this row's codes, block-major (dim <= 4 MAXD: setup) */
      uint32_t *cp = code;
      size_t pos = i * nb * (size_t)bpb;
      for (size_t b = 0; b < nb; b++)
        for (int l = 1; l <= L; l++)
          for (int j = 0; j < (D >> l); j++, pos += (size_t)q->bits[l - 1])
            *cp++ = subq_bits_get_(t->code, pos, q->bits[l - 1]);
      for (size_t qi = 0; qi < nb_q; qi++) {
        const float *Tq = T + qi * tsz;
        float acc = 0;
        const uint32_t *c = code;
        for (size_t b = 0; b < nb; b++, c += D - 1) {
          float s[MAXD / 2];
          const float *Tb = Tq + b * (size_t)(D / 2) * (size_t)k1;
          int m = D / 2, off = m;
          for (int j = 0; j < m; j++) s[j] = Tb[(size_t)j * k1 + c[j]];
          for (int l = 2; l <= L; l++) {
            const float *cs = q->cbcos[l - 1], *sn = q->cbsin[l - 1];
            m /= 2;
            for (int j = 0; j < m; j++) s[j] = cs[c[off + j]] * s[2 * j] + sn[c[off + j]] * s[2 * j + 1];
            off += m;
          }
          acc += subq_h2f_(t->half[i * nb + b]) * s[0];
        }
        S[(q0 + qi) * lds + i] = acc;
      }
    }
  }
  subq_free(&T);
  return SUBQ_OK;
}

/* The device copy of the set-up quantizer: rotation, codebooks and their cos/sin tables
 * (src/cuda/quant.cu). */
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

/* encode_ on the device: the same code and radius arrays, from the raw rows X. */
int subq_polar_cuda_encode_(const subq_quant_t *q, size_t n, const float *X, subq_qtensor_t *t) {
  const int D = 1 << q->levels, bpb = subq_polar_bpb_(q);
  const size_t nb = (size_t)(q->dim / D);
  size_t nblk = 0, nbits = 0;
  SUBQ_CALL(subq_size_mul(n, nb, &nblk));
  SUBQ_CALL(subq_size_mul(nblk, (size_t)bpb, &nbits));
  SUBQ_CALL(subq_qtensor_alloc_(t, nbits, nblk));
  SUBQ_CALL(subq_cuda_polar_encode(q->cu, n, X, t->code, t->half, &t->cu));
  for (size_t b = 0; b < nblk; b++)
    SUBQ_CHECK((t->half[b] & 0x7c00u) != 0x7c00u, SUBQ_ERR_NUMERIC,
               "row %zu: a block norm exceeds the fp16 range (65504)", b / nb);
  return SUBQ_OK;
}

/* The local part of subq_quant_attention on the device (see quant_impl.h). */
int subq_polar_cuda_attention_(const subq_quant_t *qk, const subq_qtensor_t *K,
                               const subq_quant_t *qv, const subq_qtensor_t *V, size_t nq,
                               const float *Q, float scale, double *m, double *lo) {
  const size_t d = (size_t)qk->dim, w = d + 1;
  float *Qr = NULL, *O = NULL;
  double *l = NULL;
  int err = subq_malloc(nq, d * sizeof(float), &Qr);
  if (!err) err = subq_malloc(nq, d * sizeof(float), &O);
  if (!err) err = SUBQ_ALLOC(l, nq);
  if (!err) {
    memcpy(Qr, Q, nq * d * sizeof(float));
    err = subq_quant_rotate(qk, nq, Qr, 0);
  }
  if (!err)
    err = subq_cuda_polar_attention(qk->cu, K->cu, K->code, K->half, qv->cu, V->cu, V->code,
                                    V->half, K->nq, nq, Qr, scale, m, l, O);
  if (!err) err = subq_quant_rotate(qv, nq, O, 1); /* back to the original coordinates */
  for (size_t i = 0; !err && i < nq; i++) {
    lo[i * w] = l[i];
    for (size_t c = 0; c < d; c++) lo[i * w + 1 + c] = O[i * d + c];
  }
  subq_free(&Qr);
  subq_free(&O);
  subq_free(&l);
  if (err) return subq_error_trace(err, __FILE__, __LINE__, __func__);
  return SUBQ_OK;
}

const subq_quant_ops_t subq_quant_ops_polarquant = {"polarquant", SUBQ_PRECOND_HADAMARD,
                                                    setup_, encode_, decode_, scores_,
                                                    subq_polar_wsum_};
