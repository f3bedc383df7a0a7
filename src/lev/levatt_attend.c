/* Attention restricted to the LevAttention universal set (Kannan et al. 2024, arXiv
 * 2410.05462, Section 3): o_i = sum_{j in U} f(q_i.k_j) v_j / sum_{j in U} f(q_i.k_j), for
 * f = |x|^p and for softmax (running max, merged across key blocks and ranks by
 * log-sum-exp).  API in include/subq/levatt.h. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "cuda/subq_cuda.h"
#include "lev/levatt_pow.h"
#include "subq/core.h"
#include "subq/levatt.h"

enum { QB = 256, KB = 2048 };

static int check_attn_(const subq_levatt_attn_t *a, size_t d, size_t dv) {
  SUBQ_CHECK(a, SUBQ_ERR_ARG, "NULL attention description");
  SUBQ_CHECK(a->fn == SUBQ_LEVATT_POLY || a->fn == SUBQ_LEVATT_SOFTMAX, SUBQ_ERR_ARG,
             "attention function must be POLY or SOFTMAX, got %d", (int)a->fn);
  SUBQ_CHECK(a->fn != SUBQ_LEVATT_POLY || a->p >= 1, SUBQ_ERR_ARG, "p must be >= 1, got %d", a->p);
  SUBQ_CHECK(d > 0 && dv > 0, SUBQ_ERR_ARG, "d and dv must be >= 1, got %zu and %zu", d, dv);
  SUBQ_CALL(subq_device_check(a->device));
  return SUBQ_OK;
}

/* partial_ on the attention's device (the GPU: src/cuda/levatt.cu). */
static int partial_dev_(const subq_levatt_attn_t *a, size_t d, size_t dv, size_t nq,
                        const double *Q, size_t q0, size_t nk, const double *K,
                        const double *V, const int64_t *kidx, double *S, double *m, double *l,
                        double *O);

/* Running partials of nq queries over nk keys: m (softmax max, -inf when none), l (sum
 * of weights), O (nq x dv numerators), updated in place.  S: QB x KB scratch. */
static void partial_(const subq_levatt_attn_t *a, size_t d, size_t dv, size_t nq,
                     const double *Q, size_t q0, size_t nk, const double *K, const double *V,
                     const int64_t *kidx, double *S, double *m, double *l, double *O) {
  const int soft = a->fn == SUBQ_LEVATT_SOFTMAX;
  const double scale = a->scale != 0 ? a->scale : 1.0 / sqrt((double)d);
  for (size_t i0 = 0; i0 < nq; i0 += QB) {
    size_t bq = nq - i0 < QB ? nq - i0 : QB;
    for (size_t j0 = 0; j0 < nk; j0 += KB) {
      size_t bk = nk - j0 < KB ? nk - j0 : KB;
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)bq, (int)bk, (int)d, 1.0,
                  Q + i0 * d, (int)d, K + j0 * d, (int)d, 0.0, S, (int)bk);
#pragma omp parallel for schedule(static)
      for (size_t i = 0; i < bq; i++) {
        double *s = S + i * bk;
        const int64_t qpos = (int64_t)(q0 + i0 + i);
        size_t jend = bk;
        if (a->causal) { /* keys with position > qpos are masked */
          for (size_t j = 0; j < bk; j++) {
            int64_t kp = kidx ? kidx[j0 + j] : (int64_t)(j0 + j);
            if (kp > qpos) s[j] = NAN; /* marker, cleared below */
          }
        }
        double sum = 0;
        if (!soft) {
          for (size_t j = 0; j < jend; j++) {
            s[j] = isnan(s[j]) ? 0 : subq_levatt_ipow_abs(s[j], a->p);
            sum += s[j];
          }
          l[i0 + i] += sum;
          continue;
        }
        double mx = -INFINITY;
        for (size_t j = 0; j < jend; j++)
          if (!isnan(s[j]) && scale * s[j] > mx) mx = scale * s[j];
        if (mx == -INFINITY) { /* no admissible key in this block */
          for (size_t j = 0; j < jend; j++) s[j] = 0;
          continue;
        }
        double mold = m[i0 + i], mnew = mold > mx ? mold : mx;
        double alpha = mold == -INFINITY ? 0 : exp(mold - mnew);
        for (size_t j = 0; j < jend; j++) {
          s[j] = isnan(s[j]) ? 0 : exp(scale * s[j] - mnew);
          sum += s[j];
        }
        l[i0 + i] = l[i0 + i] * alpha + sum;
        m[i0 + i] = mnew;
        if (alpha != 1)
          for (size_t c = 0; c < dv; c++) O[(i0 + i) * dv + c] *= alpha;
      }
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)bq, (int)dv, (int)bk, 1.0, S,
                  (int)bk, V + j0 * dv, (int)dv, 1.0, O + i0 * dv, (int)dv);
    }
  }
}

static int partial_dev_(const subq_levatt_attn_t *a, size_t d, size_t dv, size_t nq,
                        const double *Q, size_t q0, size_t nk, const double *K,
                        const double *V, const int64_t *kidx, double *S, double *m, double *l,
                        double *O) {
  if (a->device != SUBQ_DEVICE_CUDA) {
    partial_(a, d, dv, nq, Q, q0, nk, K, V, kidx, S, m, l, O);
    return SUBQ_OK;
  }
  const double scale = a->scale != 0 ? a->scale : 1.0 / sqrt((double)d);
  SUBQ_CALL(subq_cuda_levatt_partial((int)a->fn, a->p, scale, a->causal, d, dv, nq, Q, q0, nk,
                                     K, V, kidx, m, l, O));
  return SUBQ_OK;
}

/* out_i = O_i / l_i, or 0 (counted) when l_i == 0. */
static size_t finalize_(size_t nq, size_t dv, const double *l, double *O) {
  size_t empty = 0;
  for (size_t i = 0; i < nq; i++) {
    if (l[i] > 0) {
      double inv = 1.0 / l[i];
      for (size_t c = 0; c < dv; c++) O[i * dv + c] *= inv;
    } else {
      empty++;
      for (size_t c = 0; c < dv; c++) O[i * dv + c] = 0;
    }
  }
  return empty;
}

/* Allocate S, m, l and zero O; m = -inf. */
static int start_(size_t nq, size_t dv, double **S, double **m, double **l, double *O) {
  *S = *m = *l = NULL;
  SUBQ_CALL(SUBQ_ALLOC(*S, (size_t)QB * KB));
  SUBQ_CALL(SUBQ_ALLOC(*m, nq ? nq : 1));
  SUBQ_CALL(SUBQ_ZALLOC(*l, nq ? nq : 1));
  for (size_t i = 0; i < nq; i++) (*m)[i] = -INFINITY;
  if (nq) memset(O, 0, nq * dv * sizeof *O);
  return SUBQ_OK;
}

int subq_levatt_attend(const subq_levatt_attn_t *a, size_t d, size_t dv, size_t nq,
                       const double *Q, size_t q0, size_t nk, const double *K,
                       const double *V, const int64_t *kidx, double *out, size_t *empty) {
  SUBQ_CALL(check_attn_(a, d, dv));
  SUBQ_CHECK((Q && out) || nq == 0, SUBQ_ERR_ARG, "NULL queries or output");
  SUBQ_CHECK((K && V) || nk == 0, SUBQ_ERR_ARG, "NULL keys or values");
  double *S = NULL, *m = NULL, *l = NULL;
  int err = start_(nq, dv, &S, &m, &l, out);
  if (!err) err = partial_dev_(a, d, dv, nq, Q, q0, nk, K, V, kidx, S, m, l, out);
  if (!err) {
    size_t e = finalize_(nq, dv, l, out);
    if (empty) *empty = e;
  }
  subq_free(&S);
  subq_free(&m);
  subq_free(&l);
  return err;
}

/* Local rows of U: U sorted, this rank's keys are positions [k0, k0 + nk).  Packs
 * [index, k (d), v (dv)] rows. */
static int pack_local_u_(size_t d, size_t dv, size_t nk, const double *K, const double *V,
                         size_t k0, size_t nU, const int64_t *U, double **buf, size_t *cnt) {
  size_t lo = 0, hi = nU;
  while (lo < hi) { /* first U >= k0 */
    size_t mid = (lo + hi) / 2;
    if (U[mid] < (int64_t)k0) lo = mid + 1; else hi = mid;
  }
  size_t c = 0, w = 1 + d + dv;
  while (lo + c < nU && U[lo + c] < (int64_t)(k0 + nk)) c++;
  SUBQ_CALL(SUBQ_ALLOC(*buf, c * w > 0 ? c * w : 1));
  for (size_t t = 0; t < c; t++) {
    size_t j = (size_t)U[lo + t] - k0;
    (*buf)[t * w] = (double)U[lo + t];
    memcpy(*buf + t * w + 1, K + j * d, d * sizeof(double));
    memcpy(*buf + t * w + 1 + d, V + j * dv, dv * sizeof(double));
  }
  *cnt = c;
  return SUBQ_OK;
}

/* Split packed rows into K, V, index arrays (in one allocation each). */
static int unpack_(size_t d, size_t dv, size_t c, const double *buf, double **K, double **V,
                   int64_t **idx) {
  size_t w = 1 + d + dv;
  SUBQ_CALL(SUBQ_ALLOC(*K, c * d > 0 ? c * d : 1));
  SUBQ_CALL(SUBQ_ALLOC(*V, c * dv > 0 ? c * dv : 1));
  SUBQ_CALL(SUBQ_ALLOC(*idx, c ? c : 1));
  for (size_t t = 0; t < c; t++) {
    (*idx)[t] = (int64_t)buf[t * w];
    memcpy(*K + t * d, buf + t * w + 1, d * sizeof(double));
    memcpy(*V + t * dv, buf + t * w + 1 + d, dv * sizeof(double));
  }
  return SUBQ_OK;
}

static int check_dist_(MPI_Comm comm, const subq_levatt_attn_t *a, size_t d, size_t dv,
                       size_t nq, const double *Q, const double *out, size_t nk,
                       const double *K, const double *V, size_t nU, const int64_t *U) {
  int err = check_attn_(a, d, dv);
  if (!err && ((nq && (!Q || !out)) || (nk && (!K || !V)) || (nU && !U)))
    err = SUBQ_FAIL(SUBQ_ERR_ARG, "NULL array");
  for (size_t t = 1; !err && t < nU; t++)
    if (U[t] <= U[t - 1]) err = SUBQ_FAIL(SUBQ_ERR_ARG, "U must be sorted and without repeats (U[%zu] = %lld)", t, (long long)U[t]);
  return subq_error_agree(comm, err);
}

int subq_levatt_attend_sharded(MPI_Comm comm, const subq_levatt_attn_t *a, size_t d,
                               size_t dv, size_t nq, const double *Q, size_t q0, size_t nk,
                               const double *K, const double *V, size_t k0, size_t nU,
                               const int64_t *U, double *out, size_t *empty) {
  SUBQ_CALL(check_dist_(comm, a, d, dv, nq, Q, out, nk, K, V, nU, U));
  int size = 1;
  MPI_Comm_size(comm, &size);
  double *mine = NULL, *all = NULL, *KU = NULL, *VU = NULL;
  int64_t *iu = NULL;
  int *cnt = NULL, *dis = NULL;
  size_t c = 0, w = 1 + d + dv, e = 0;
  int err = pack_local_u_(d, dv, nk, K, V, k0, nU, U, &mine, &c);
  if (!err) err = SUBQ_ALLOC(cnt, size);
  if (!err) err = SUBQ_ALLOC(dis, size);
  if (!err && c * w > (size_t)1 << 30) err = SUBQ_FAIL(SUBQ_ERR_ARG, "too many rows of U on one rank (%zu)", c);
  SUBQ_CALL(subq_error_agree(comm, err));
  int mc = (int)(c * w);
  if (MPI_Allgather(&mc, 1, MPI_INT, cnt, 1, MPI_INT, comm) != MPI_SUCCESS)
    err = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allgather of U row counts failed");
  size_t total = 0;
  for (int q = 0; !err && q < size; q++) {
    dis[q] = (int)total;
    total += (size_t)cnt[q];
  }
  if (!err && total > (size_t)1 << 30) err = SUBQ_FAIL(SUBQ_ERR_ARG, "U too large to gather (%zu)", total / w);
  if (!err) err = SUBQ_ALLOC(all, total ? total : 1);
  err = subq_error_agree(comm, err);
  if (!err && MPI_Allgatherv(mine, mc, MPI_DOUBLE, all, cnt, dis, MPI_DOUBLE, comm) != MPI_SUCCESS)
    err = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allgatherv of U rows failed");
  if (!err) err = unpack_(d, dv, total / w, all, &KU, &VU, &iu);
  if (!err) err = subq_levatt_attend(a, d, dv, nq, Q, q0, total / w, KU, VU, iu, out, &e);
  subq_free(&mine);
  subq_free(&all);
  subq_free(&KU);
  subq_free(&VU);
  subq_free(&iu);
  subq_free(&cnt);
  subq_free(&dis);
  SUBQ_CALL(subq_error_agree(comm, err));
  unsigned long long el = e, eg = 0;
  SUBQ_MPI(MPI_Allreduce(&el, &eg, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, comm));
  if (empty) *empty = (size_t)eg;
  return SUBQ_OK;
}

int subq_levatt_attend_merge(MPI_Comm comm, const subq_levatt_attn_t *a, size_t d, size_t dv,
                             size_t nq, const double *Q, size_t q0, size_t nk,
                             const double *K, const double *V, size_t k0, size_t nU,
                             const int64_t *U, double *out, size_t *empty) {
  SUBQ_CALL(check_dist_(comm, a, d, dv, nq, Q, out, nk, K, V, nU, U));
  double *mine = NULL, *KU = NULL, *VU = NULL, *S = NULL, *m = NULL, *l = NULL, *lo = NULL;
  int64_t *iu = NULL;
  size_t c = 0;
  int err = pack_local_u_(d, dv, nk, K, V, k0, nU, U, &mine, &c);
  if (!err) err = unpack_(d, dv, c, mine, &KU, &VU, &iu);
  if (!err) err = start_(nq, dv, &S, &m, &l, out);
  if (!err) err = SUBQ_ALLOC(lo, nq > 0 ? nq * (1 + dv) : 1);
  if (!err && nq * (1 + dv) > (size_t)1 << 30) err = SUBQ_FAIL(SUBQ_ERR_ARG, "too many queries to merge (%zu)", nq);
  err = subq_error_agree(comm, err);
  /* A device failure on one rank is agreed before the collectives below. */
  if (!err) err = subq_error_agree(comm, partial_dev_(a, d, dv, nq, Q, q0, c, KU, VU, iu, S, m, l, out));
  if (!err) {
    /* Log-sum-exp merge: M = max over ranks of m; every partial rescaled by exp(m - M). */
    if (a->fn == SUBQ_LEVATT_SOFTMAX) {
      double *M = S; /* QB*KB >= nq is not guaranteed: use lo as scratch for M first */
      if (nq > (size_t)QB * KB) M = lo;
      if (MPI_Allreduce(m, M, (int)nq, MPI_DOUBLE, MPI_MAX, comm) != MPI_SUCCESS)
        err = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce of running maxima failed");
      for (size_t i = 0; !err && i < nq; i++) {
        double alpha = m[i] == -INFINITY ? 0 : exp(m[i] - M[i]);
        l[i] *= alpha;
        for (size_t t = 0; t < dv; t++) out[i * dv + t] *= alpha;
      }
    }
    if (!err) {
      memcpy(lo, l, nq * sizeof *l);
      memcpy(lo + nq, out, nq * dv * sizeof *out);
      if (MPI_Allreduce(MPI_IN_PLACE, lo, (int)(nq * (1 + dv)), MPI_DOUBLE, MPI_SUM, comm) != MPI_SUCCESS)
        err = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce of partial sums failed");
    }
    if (!err) {
      memcpy(out, lo + nq, nq * dv * sizeof *out);
      size_t e = finalize_(nq, dv, lo, out);
      if (empty) *empty = e;
    }
  }
  subq_free(&mine);
  subq_free(&KU);
  subq_free(&VU);
  subq_free(&iu);
  subq_free(&S);
  subq_free(&m);
  subq_free(&l);
  subq_free(&lo);
  return subq_error_agree(comm, err);
}
