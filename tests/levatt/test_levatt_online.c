/* One-pass LevAttention selection: online leverage scores (Cohen, Musco, Pachocki,
 * "Online Row Sampling", APPROX 2016; include/subq/levatt.h "One pass") against
 * independent dense references:
 *   - tau~_j equals the leverage score of row j in the prefix K_{<=j} (SVD of each prefix,
 *     LAPACK dgesvd), or with a ridge, phi_j^T (K_{<=j}^T K_{<=j} + lambda I)^{-1} phi_j by
 *     a dense solve (dposv);
 *   - tau~_j >= the exact (two-pass, SVD) score of the whole K, for every j (up to the
 *     ridge gap sigma_min^2 / (sigma_min^2 + lambda_max), and rounding);
 *   - U~ contains the two-pass U; recall of heavy entries exactly 1 for |x|^p, non-causal
 *     and causal (queries attending to their prefix), brute force over all (i, j);
 *   - sum of scores <= the CMP bound <= D log(1 + trace(G) / lambda_min);
 *   - chunks of 7 rows and the whole block agree; np = 1, 2, 3 give the reference (each
 *     rank compares its block with the same np-independent reference);
 *   - bad input: passes, ridge, chunks out of order, missing Gram pass on np > 1, ranks
 *     out of sequence order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "levatt_ref.h"
#include "subq/levatt.h"

static int rank_, size_;

/* Smallest nonzero squared singular value of A (n x D), by dgesvd (tolerance as
 * ref_leverage). */
static double ref_sigma_min2(size_t n, size_t D, const double *A) {
  size_t k = n < D ? n : D;
  double *a = malloc(n * D * sizeof *a), *s = malloc(k * sizeof *s), *sup = malloc(k * sizeof *sup);
  memcpy(a, A, n * D * sizeof *a);
  LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'N', 'N', (lapack_int)n, (lapack_int)D, a, (lapack_int)D, s,
                 NULL, 1, NULL, 1, sup);
  double tol = s[0] * (double)(n > D ? n : D) * 2.220446049250313e-16, m = s[0];
  for (size_t c = 0; c < k; c++)
    if (s[c] > tol) m = s[c];
  free(a); free(s); free(sup);
  return m * m;
}

/* Online ridge scores phi_j^T (T_{<=j}^T T_{<=j} + lam I)^{-1} phi_j by dense solves. */
static void ref_online_ridge(size_t n, size_t D, const double *T, double lam, double *t) {
  double *G = calloc(D * D, sizeof *G), *A = malloc(D * D * sizeof *A), *x = malloc(D * sizeof *x);
  for (size_t j = 0; j < n; j++) {
    const double *p = T + j * D;
    for (size_t a = 0; a < D; a++)
      for (size_t b = 0; b < D; b++) G[a * D + b] += p[a] * p[b];
    memcpy(A, G, D * D * sizeof *A);
    for (size_t a = 0; a < D; a++) A[a * D + a] += lam;
    memcpy(x, p, D * sizeof *x);
    LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', (lapack_int)D, 1, A, (lapack_int)D, x, 1);
    double s = 0;
    for (size_t a = 0; a < D; a++) s += p[a] * x[a];
    t[j] = s;
  }
  free(G); free(A); free(x);
}

/* One case, passes = 1: library (sharded; chunks of 7 and whole block) vs references. */
static void run_case(const char *name, size_t n, size_t d, const double *K, size_t nq,
                     const double *Q, subq_levatt_opts_t o, double tol) {
  int m = o.p / 2;
  size_t Df = 1, r0, nl;
  for (int t = 0; t < m; t++) Df *= d;
  double *T = malloc(n * Df * sizeof *T), *ton = malloc(n * sizeof *ton),
         *tfin = malloc(n * sizeof *tfin), *tmp = malloc(n * sizeof *tmp);
  ref_tensor(n, d, m, K, T);
  /* reference online scores: leverage of row j in its prefix (or the ridge solve) */
  if (o.ridge > 0) {
    ref_online_ridge(n, Df, T, o.ridge, ton);
  } else {
    for (size_t j = 0; j < n; j++) {
      ref_leverage(j + 1, Df, T, tmp);
      ton[j] = tmp[j];
    }
  }
  ref_leverage(n, Df, T, tfin);
  double smin2 = ref_sigma_min2(n, Df, T), trace = 0;
  for (size_t j = 0; j < n * Df; j++) trace += T[j] * T[j];
  ref_block(n, size_, rank_, &r0, &nl);
  double *tau = malloc((nl ? nl : 1) * sizeof *tau), *tau2 = malloc((nl ? nl : 1) * sizeof *tau2);
  int64_t *U = NULL, *U2 = NULL, *Ut = NULL;
  size_t nU = 0, nU2 = 0, nUt = 0;
  subq_levatt_info_t info, info2, infot;
  o.passes = 1;
  CHECK_OK(subq_levatt_universal(MPI_COMM_WORLD, &o, d, nl, K + r0 * d, r0, 7, tau, &U, &nU, &info));
  CHECK_OK(subq_levatt_universal(MPI_COMM_WORLD, &o, d, nl, K + r0 * d, r0, 0, tau2, &U2, &nU2, &info2));
  subq_levatt_opts_t o2 = o;
  o2.passes = 2;
  o2.ridge = 0;
  CHECK_OK(subq_levatt_universal(MPI_COMM_WORLD, &o2, d, nl, K + r0 * d, r0, 0, NULL, &Ut, &nUt, &infot));
  double err = 0, err2 = 0, below = 0;
  /* tau~_j >= tau_j sigma_min^2 / (sigma_min^2 + lambda_max) (header), and rounding */
  const double gap = smin2 / (smin2 + info.ridge_max);
  for (size_t j = 0; j < nl; j++) {
    err = fmax(err, fabs(tau[j] - ton[r0 + j]));
    err2 = fmax(err2, fabs(tau[j] - tau2[j]));
    below = fmax(below, tfin[r0 + j] * gap - tau[j]);
  }
  CHECK(err < tol);
  CHECK(err2 < tol);
  CHECK(below < tol);
  CHECK(info.passes == 1 && info.n == n);
  /* sum of scores, the CMP bound and its simple form D log(1 + ||Phi||_2^2 / lambda_min) */
  double sref = 0;
  for (size_t j = 0; j < n; j++) sref += ton[j];
  CHECK_CLOSE(info.sum_scores, sref, tol * (double)n);
  CHECK(info.sum_scores <= info.sum_bound);
  CHECK(info.sum_bound <= (double)info.features * log1p(trace / info.ridge_min) * (1 + 1e-12));
  CHECK(info.ridge_min > 0 && info.ridge_min <= info.ridge_max);
  if (o.ridge > 0) CHECK(info.ridge_min >= o.ridge);
  /* U~ = {tau~ >= eps} of the reference, unless a score lies within tol of eps */
  size_t nref = 0, ties = 0;
  int64_t *Uref = malloc(n * sizeof *Uref);
  for (size_t j = 0; j < n; j++) {
    if (ton[j] >= o.eps) Uref[nref++] = (int64_t)j;
    if (fabs(ton[j] - o.eps) < tol) ties++;
  }
  CHECK(ties == 0);
  CHECK(nU == nref && nU2 == nU);
  int same = nU == nref && nU2 == nU;
  for (size_t t = 0; same && t < nU; t++) same = U[t] == Uref[t] && U2[t] == U[t];
  CHECK(same);
  /* U (two-pass) is contained in U~ */
  size_t outside = 0;
  for (size_t t = 0, s = 0; t < nUt; t++) {
    while (s < nU && U[s] < Ut[t]) s++;
    outside += !(s < nU && U[s] == Ut[t]);
  }
  CHECK(outside == 0);
  CHECK((double)nU <= info.bound * (1 + 1e-12));
  /* heavy entries, non-causal and causal: all in U~ (for the ridge case the theorem holds
   * for the ridge-regularised attention only: not asserted) */
  size_t hv = 0, ms = 0, hc = 0, mc = 0, hct = 0, mct = 0;
  ref_heavy(nq, n, d, o.p, Q, K, o.eps, U, nU, &hv, &ms);
  ref_heavy_mask(nq, n, d, o.p, Q, K, o.eps, U, nU, 1, &hc, &mc);
  ref_heavy_mask(nq, n, d, o.p, Q, K, o.eps, Ut, nUt, 1, &hct, &mct);
  if (o.ridge == 0) {
    CHECK(ms == 0);
    CHECK(mc == 0);
    CHECK(hv > 0 && hc > 0);
  }
  if (rank_ == 0)
    printf("%-15s n=%zu d=%zu p=%d eps=%g ridge=%g: |U~| = %zu (two-pass %zu), sum tau~ %.3f "
           "<= bound %.1f, lambda %.2e..%.2e; max |tau~ - prefix ref| %.1e, chunks %.1e, "
           "below exact %.1e (tol %.0e); heavy non-causal %zu missed %zu, causal %zu missed "
           "%zu (two-pass U misses %zu); workspace %zu B\n",
           name, n, d, o.p, o.eps, o.ridge, nU, nUt, info.sum_scores, info.sum_bound,
           info.ridge_min, info.ridge_max, err, err2, below, tol, hv, ms, hc, mc, mct,
           info.workspace_bytes);
  free(T); free(ton); free(tfin); free(tmp); free(tau); free(tau2); free(Uref);
  subq_free(&U);
  subq_free(&U2);
  subq_free(&Ut);
}

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  subq_levatt_opts_t o;
  subq_levatt_opts_default(&o);
  size_t n = 400, d = 8, nq = 60;
  double *K = aligned_alloc(64, 1000 * 16 * sizeof *K), *Q = aligned_alloc(64, 200 * 16 * sizeof *Q);

  /* Tolerances: inside a block whose prefix is rank deficient (the first D keys) the
   * scores carry ~2^-26 = 1.5e-8 of rounding (include/subq/levatt.h, "Accuracy"; measured
   * 1.1e-8 here between chunkings): 5e-8.  With ridge lambda = 5 the whitened keys are
   * small and the scores agree to 1e-15: 1e-12.
   * A: Gaussian keys with Pareto(1.5) norms, p = 2 */
  ref_pareto_keys(n, d, 7, K);
  ref_gauss(nq * d, 8, Q);
  o.eps = 0.05;
  run_case("pareto", n, d, K, nq, Q, o, 5e-8);
  o.eps = 0.2;
  run_case("pareto", n, d, K, nq, Q, o, 5e-8);
  /* ridge lambda = 5 (key units^2): CMP's online ridge scores */
  o.ridge = 5;
  run_case("pareto-ridge", n, d, K, nq, Q, o, 1e-12);
  o.ridge = 0;

  /* B: adversarial: one huge key, 60 duplicates, 5 zero keys (as test_levatt_select.c:
   * the Gram of cond ~1e6 keys holds ~2e-4 of rounding) */
  n = 300, d = 6;
  ref_adversarial(K, nq, Q);
  o.eps = 0.0099;
  run_case("adversarial", n, d, K, nq, Q, o, 2e-5);

  /* C: rank-deficient keys (4-dimensional subspace of R^10) */
  n = 200, d = 10;
  ref_subspace_keys(K);
  ref_gauss(nq * d, 13, Q);
  o.eps = 0.05;
  run_case("rank-deficient", n, d, K, nq, Q, o, 5e-8);

  /* D: p = 4 (symmetric tensor power, D = 10 of 16) */
  n = 300, d = 4;
  ref_pareto_keys(n, d, 14, K);
  ref_gauss(nq * d, 15, Q);
  o.p = 4;
  run_case("pareto-p4", n, d, K, nq, Q, o, 5e-8);
  o.p = 2;

  /* E: bad input */
  subq_levatt_t *L = NULL;
  o.passes = 3;
  CHECK_ERR(subq_levatt_create(MPI_COMM_WORLD, 8, &o, &L), SUBQ_ERR_ARG, "passes must be 1");
  o.passes = 1;
  o.ridge = -1;
  CHECK_ERR(subq_levatt_create(MPI_COMM_WORLD, 8, &o, &L), SUBQ_ERR_ARG, "ridge must be");
  o.ridge = 0;
  n = 100, d = 4;
  ref_pareto_keys(n, d, 16, K);
  size_t r0, nl;
  ref_block(n, size_, rank_, &r0, &nl);
  /* chunks out of order on one rank (not collective) */
  CHECK_OK(subq_levatt_create(MPI_COMM_WORLD, d, &o, &L));
  for (size_t i = 0; i < nl; i++) CHECK_OK(subq_levatt_gram_add(L, 1, K + (r0 + i) * d));
  CHECK_OK(subq_levatt_factor(L));
  CHECK_OK(subq_levatt_score(L, 2, K + (r0 + 2) * d, r0 + 2, NULL));
  CHECK_ERR(subq_levatt_score(L, 2, K + r0 * d, r0, NULL), SUBQ_ERR_ARG, "sequence order");
  subq_levatt_destroy(&L);
  if (size_ > 1) {
    size_t nU;
    /* no Gram pass before factor on np > 1 */
    CHECK_OK(subq_levatt_create(MPI_COMM_WORLD, d, &o, &L));
    CHECK_OK(subq_levatt_factor(L));
    CHECK_OK(subq_levatt_score(L, nl, K + r0 * d, r0, NULL));
    CHECK_ERR(subq_levatt_select(L, &nU), SUBQ_ERR_ARG, "every rank but the last");
    subq_levatt_destroy(&L);
    /* ranks holding the blocks in reverse order */
    ref_block(n, size_, size_ - 1 - rank_, &r0, &nl);
    CHECK_OK(subq_levatt_create(MPI_COMM_WORLD, d, &o, &L));
    CHECK_OK(subq_levatt_gram_add(L, nl, K + r0 * d));
    CHECK_OK(subq_levatt_factor(L));
    CHECK_OK(subq_levatt_score(L, nl, K + r0 * d, r0, NULL));
    CHECK_ERR(subq_levatt_select(L, &nU), SUBQ_ERR_ARG, "sharded by sequence in rank order");
    subq_levatt_destroy(&L);
  }
  free(K);
  free(Q);
  CHECK_FINISH();
}
