/* LevAttention universal set in one pass: online (ridge) leverage scores of Cohen, Musco,
 * Pachocki ("Online Row Sampling", APPROX 2016, Section 3), each key scored against the
 * Gram of the keys up to itself, blocked so that LAPACK does the work (dpotrf, dtrsm,
 * dtpqrt, dsyrk).  The math, the bound and the distributed semantics are in
 * include/subq/levatt.h ("One pass"). */
#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "dist/dist_impl.h"
#include "lev/levatt_impl.h"
#include "subq/core.h"

/* dtpqrt's inner block size (LAPACK's nb; any 1 <= nb <= n works). */
static size_t qr_nb_(size_t n) { return n < 32 ? n : 32; }

int subq_levatt_online_prefix_(subq_levatt_t *L) {
  const size_t D = L->D;
  size_t blk = D < 32 ? 32 : D > 256 ? 256 : D;
  L->blk = blk;
  int err = SUBQ_ALLOC(L->F, D * D);
  if (!err) err = SUBQ_ALLOC(L->Z, D * blk > D ? D * blk : D);
  if (!err) err = SUBQ_ALLOC(L->R, blk * blk);
  if (!err) err = SUBQ_ALLOC(L->T, qr_nb_(blk) * blk);
  if (!err)
    subq_levatt_account_(L, (long long)((D * D + D * blk + blk * blk + qr_nb_(blk) * blk) *
                                        sizeof(double)));
  SUBQ_CALL(subq_error_agree(L->comm, err));
  /* G becomes the Gram of every key on the lower ranks (MPI_Exscan leaves rank 0's result
   * undefined: zero there). */
  SUBQ_MPI(MPI_Exscan(L->G, L->F, (int)(D * D), MPI_DOUBLE, MPI_SUM, L->comm));
  if (L->rank == 0) memset(L->F, 0, D * D * sizeof *L->F);
  memcpy(L->G, L->F, D * D * sizeof *L->G);
  L->g_next = L->g_first = SIZE_MAX;
  L->lam_min = INFINITY;
  L->lam_max = 0;
  L->state = ST_FACTORED;
  return SUBQ_OK;
}

/* F = chol(G + lam I) (col-major lower; G's row-major upper triangle is that), raising lam
 * x16 while dpotrf finds the sum indefinite in floating point. */
static int factor_shifted_(subq_levatt_t *L, double *lam) {
  const size_t D = L->D;
  for (int tries = 0; tries < 60; tries++) {
    memcpy(L->F, L->G, D * D * sizeof *L->F);
    for (size_t a = 0; a < D; a++) L->F[a * D + a] += *lam;
    lapack_int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', (lapack_int)D, L->F, (lapack_int)D);
    SUBQ_CHECK(info >= 0, SUBQ_ERR_LAPACK, "dpotrf returned info = %d (D = %zu)", (int)info, D);
    if (info == 0) return SUBQ_OK;
    *lam *= 16;
  }
  return SUBQ_FAIL(SUBQ_ERR_LAPACK, "G + lambda I stayed indefinite up to lambda = %g (D = %zu)",
                   *lam, D);
}

/* Online scores of one block C (nb x D row-major, nb <= blk); tau (nb values) receives
 * them. */
static int score_block_(subq_levatt_t *L, size_t nb, const double *C, double *tau) {
  const size_t D = L->D;
  /* lambda = max(ridge, 2^-52 max diag(G_prev)), from the keys before the block only (a
   * large key must not shift the scores of the keys before it); before the first nonzero
   * key, 2^-52 max_a c_a^2 of the block's first nonzero key. */
  double md = 0;
  for (size_t a = 0; a < D; a++) md = fmax(md, L->G[a * D + a]);
  for (size_t c = 0; c < nb && md == 0; c++)
    for (size_t a = 0; a < D; a++) md = fmax(md, C[c * D + a] * C[c * D + a]);
  if (md == 0) { /* zero keys after zero keys: nothing to score against, tau = 0 */
    memset(tau, 0, nb * sizeof *tau);
    return SUBQ_OK;
  }
  double lam = fmax(L->o.ridge, DBL_EPSILON * md);
  SUBQ_CALL(factor_shifted_(L, &lam));
  L->lam_min = fmin(L->lam_min, lam);
  L->lam_max = fmax(L->lam_max, lam);
  /* Z = L^{-1} C^T (D x nb col-major = C's row-major layout) */
  memcpy(L->Z, C, nb * D * sizeof *L->Z);
  cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, (int)D, (int)nb,
              1.0, L->F, (int)D, L->Z, (int)D);
  /* QR of [I_nb; Z]: R^T R = I + Z^T Z, R_jj^2 = 1 + s_j (Schur complements in key order) */
  memset(L->R, 0, nb * nb * sizeof *L->R);
  for (size_t c = 0; c < nb; c++) L->R[c * nb + c] = 1;
  const size_t qb = qr_nb_(nb);
  lapack_int info = LAPACKE_dtpqrt(LAPACK_COL_MAJOR, (lapack_int)D, (lapack_int)nb, 0,
                                   (lapack_int)qb, L->R, (lapack_int)nb, L->Z, (lapack_int)D,
                                   L->T, (lapack_int)qb);
  SUBQ_CHECK(info == 0, SUBQ_ERR_LAPACK, "dtpqrt returned info = %d (D = %zu, block %zu)",
             (int)info, D, nb);
  for (size_t c = 0; c < nb; c++) {
    double r2 = L->R[c * nb + c] * L->R[c * nb + c];
    tau[c] = fmax(0.0, 1.0 - 1.0 / r2);
  }
  /* G += C^T C (row-major upper = col-major lower) */
  subq_gram_update_(D, L->G, nb, C);
  return SUBQ_OK;
}

int subq_levatt_online_score_(subq_levatt_t *L, size_t rows, const double *phi, size_t g0,
                              double *tau) {
  SUBQ_CHECK(L->g_next == SIZE_MAX || g0 == L->g_next, SUBQ_ERR_ARG,
             "online scores need this rank's chunks in sequence order: expected a chunk "
             "starting at key %zu, got %zu", L->g_next, g0);
  if (L->g_first == SIZE_MAX) L->g_first = g0;
  L->g_next = g0 + rows;
  double tb[256];
  for (size_t i = 0; i < rows; i += L->blk) {
    size_t nb = rows - i < L->blk ? rows - i : L->blk;
    SUBQ_CALL(score_block_(L, nb, phi + i * L->D, tb));
    for (size_t c = 0; c < nb; c++) {
      double t = tb[c];
      if (tau) tau[i + c] = t;
      L->sum_tau += t;
      if (t > L->max_tau) L->max_tau = t;
      SUBQ_CALL(subq_levatt_push_(L, t, (int64_t)(g0 + i + c)));
    }
  }
  return SUBQ_OK;
}

/* Rank and CMP bound from the eigenvalues of the final Gram (on the rank that holds it). */
static int spectrum_(subq_levatt_t *L, double lam_min, double out[2]) {
  const size_t D = L->D;
  memcpy(L->F, L->G, D * D * sizeof *L->F);
  double *w = L->Z; /* >= D doubles */
  lapack_int info = LAPACKE_dsyev(LAPACK_COL_MAJOR, 'N', 'L', (lapack_int)D, L->F, (lapack_int)D, w);
  SUBQ_CHECK(info == 0, SUBQ_ERR_LAPACK, "dsyev of the final Gram returned info = %d (D = %zu)",
             (int)info, D);
  double md = 0, bound = 0, rank = 0;
  for (size_t a = 0; a < D; a++) md = fmax(md, L->G[a * D + a]);
  double tol = md * (double)(L->n_global > D ? L->n_global : D) * DBL_EPSILON;
  for (size_t a = 0; a < D; a++) {
    rank += md > 0 && w[a] > tol;
    if (isfinite(lam_min)) bound += log1p(fmax(w[a], 0.0) / lam_min);
  }
  out[0] = bound;
  out[1] = rank;
  return SUBQ_OK;
}

int subq_levatt_online_finish_(subq_levatt_t *L) {
  int err = SUBQ_OK;
  if (L->size > 1 && L->rank < L->size - 1 && L->n_gram != L->n_scored)
    err = SUBQ_FAIL(SUBQ_ERR_ARG,
                    "online scores on %d ranks: rank %d added %zu keys to the Gram in pass 1 but "
                    "scored %zu; every rank but the last must add all its keys (gram_add) "
                    "before factor", L->size, L->rank, L->n_gram, L->n_scored);
  SUBQ_CALL(subq_error_agree(L->comm, err));
  /* the ranks' key ranges must follow each other in rank order */
  unsigned long long mine[2] = {L->g_first, L->g_next}, *all = NULL;
  err = subq_error_agree(L->comm, SUBQ_ALLOC(all, 2 * (size_t)L->size));
  if (!err && MPI_Allgather(mine, 2, MPI_UNSIGNED_LONG_LONG, all, 2, MPI_UNSIGNED_LONG_LONG,
                            L->comm) != MPI_SUCCESS)
    err = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allgather of key ranges failed");
  unsigned long long end = 0;
  for (int q = 0; q < L->size && !err; q++) {
    if (all[2 * q] == SIZE_MAX) continue; /* no keys on rank q */
    if (all[2 * q] < end)
      err = SUBQ_FAIL(SUBQ_ERR_ARG,
                      "online scores need keys sharded by sequence in rank order: rank %d starts "
                      "at key %llu, before the end %llu of the ranks below it", q, all[2 * q], end);
    end = all[2 * q + 1];
  }
  subq_free(&all);
  SUBQ_CALL(subq_error_agree(L->comm, err));
  double lmin = L->lam_min, lmax = L->lam_max, sr[2] = {0, 0};
  SUBQ_MPI(MPI_Allreduce(MPI_IN_PLACE, &lmin, 1, MPI_DOUBLE, MPI_MIN, L->comm));
  SUBQ_MPI(MPI_Allreduce(MPI_IN_PLACE, &lmax, 1, MPI_DOUBLE, MPI_MAX, L->comm));
  /* the last rank holds the Gram of all keys (prefix + its own) */
  err = L->rank == L->size - 1 ? spectrum_(L, lmin, sr) : SUBQ_OK;
  SUBQ_CALL(subq_error_agree(L->comm, err));
  SUBQ_MPI(MPI_Bcast(sr, 2, MPI_DOUBLE, L->size - 1, L->comm));
  L->r = (size_t)sr[1];
  L->info.sum_bound = sr[0];
  L->info.ridge_min = isfinite(lmin) ? lmin : 0;
  L->info.ridge_max = lmax;
  return SUBQ_OK;
}
