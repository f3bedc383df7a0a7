/* LevAttention universal set (Kannan et al. 2024, arXiv 2410.05462, Section 3): leverage
 * scores against an SVD of the explicit (tensor-power) key matrix; the theorem (every
 * A_ij >= eps has j in U, fraction exactly 1); |U| <= rank/eps; streaming (small chunks)
 * equals in-memory; keys sharded over np = 1, 2, 3 give the reference U; top-k; bad input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "levatt_ref.h"
#include "subq/lev.h"
#include "subq/levatt.h"

static int rank_, size_;

/* One case: library (sharded, chunk 7 and in-memory) vs the dense reference. */
static void run_case(const char *name, size_t n, size_t d, const double *K, size_t nq,
                     const double *Q, const subq_levatt_opts_t *o, int want_heavy, double tol) {
  size_t D = d, r0, nl;
  int m = o->p / 2;
  for (int t = 1; t < m; t++) D *= d;
  double *T = malloc(n * D * sizeof *T), *tref = malloc(n * sizeof *tref);
  ref_tensor(n, d, m, K, T);
  size_t rref = ref_leverage(n, D, T, tref);
  ref_block(n, size_, rank_, &r0, &nl);
  double *tau = malloc((nl ? nl : 1) * sizeof *tau), *tau2 = malloc((nl ? nl : 1) * sizeof *tau2);
  int64_t *U = NULL, *U2 = NULL;
  size_t nU = 0, nU2 = 0;
  subq_levatt_info_t info, info2;
  CHECK_OK(subq_levatt_universal(MPI_COMM_WORLD, o, d, nl, K + r0 * d, r0, 7, tau, &U, &nU, &info));
  CHECK_OK(subq_levatt_universal(MPI_COMM_WORLD, o, d, nl, K + r0 * d, r0, 0, tau2, &U2, &nU2, &info2));
  /* scores vs SVD; streaming vs in-memory */
  double err = 0, err2 = 0;
  for (size_t j = 0; j < nl; j++) {
    err = fmax(err, fabs(tau[j] - tref[r0 + j]));
    err2 = fmax(err2, fabs(tau[j] - tau2[j]));
  }
  CHECK(err < tol);
  CHECK(err2 < tol);
  CHECK(info.rank == rref);
  /* p = 2: the in-memory, non-streaming leverage scores of subq/lev.h (TSQR + SVD of the
   * row-distributed K) give the same scores */
  if (o->p == 2) {
    subq_dmat_t *A = NULL;
    CHECK_OK(subq_dmat_create(MPI_COMM_WORLD, n, d, SUBQ_F64, &A));
    if (A && A->nloc == nl && A->r0 == r0) {
      memcpy(A->data, K + r0 * d, nl * d * sizeof(double));
      subq_lev_opts_t lo;
      subq_lev_opts_default(&lo);
      double *tq = malloc((nl ? nl : 1) * sizeof *tq), eq = 0;
      CHECK_OK(subq_leverage_scores(A, &lo, tq, NULL));
      for (size_t j = 0; j < nl; j++) eq = fmax(eq, fabs(tau[j] - tq[j]));
      CHECK(eq < tol);
      free(tq);
    } else {
      CHECK(0);
    }
    subq_dmat_destroy(&A);
  }
  CHECK_CLOSE(info.sum_scores, (double)rref, tol * (double)n);
  CHECK(info.n == n);
  /* the reference U: threshold or top-k of the SVD scores; near-ties are reported */
  size_t nref = 0, ties = 0;
  int64_t *Uref = malloc(n * sizeof *Uref);
  if (o->topk == 0) {
    for (size_t j = 0; j < n; j++) {
      if (tref[j] >= o->eps) Uref[nref++] = (int64_t)j;
      if (fabs(tref[j] - o->eps) < tol) ties++; /* closer than the scores' accuracy */
    }
  } else {
    char *used = calloc(n, 1);
    for (size_t t = 0; t < o->topk; t++) {
      size_t b = n;
      for (size_t j = 0; j < n; j++)
        if (!used[j] && (b == n || tref[j] > tref[b])) b = j;
      used[b] = 1;
    }
    for (size_t j = 0; j < n; j++) if (used[j]) Uref[nref++] = (int64_t)j;
    /* the k-th and (k+1)-th scores must be further apart than the scores' accuracy */
    double kth = INFINITY, next = -INFINITY;
    for (size_t j = 0; j < n; j++) {
      if (used[j]) kth = fmin(kth, tref[j]);
      else next = fmax(next, tref[j]);
    }
    if (kth - next < tol) ties++;
    free(used);
  }
  CHECK(ties == 0);
  CHECK(nU == nref && nU2 == nU);
  int same = nU == nref && nU2 == nU;
  for (size_t t = 0; same && t < nU; t++) same = U[t] == Uref[t] && U2[t] == U[t];
  CHECK(same);
  CHECK((double)nU <= info.bound);
  if (o->topk == 0) CHECK((double)nU <= (double)rref / o->eps);
  /* the theorem: heavy entries all covered */
  size_t heavy = 0, missed = 0;
  if (o->topk == 0) {
    ref_heavy(nq, n, d, o->p, Q, K, o->eps, U, nU, &heavy, &missed);
    CHECK(missed == 0);
    if (want_heavy) CHECK(heavy > 0);
  }
  CHECK(info.workspace_bytes > 0);
  if (rank_ == 0)
    printf("%-14s n=%zu d=%zu p=%d eps=%g topk=%zu: rank %zu, |U| = %zu (bound %.0f), heavy %zu, "
           "missed %zu, max |tau - svd| %.1e, streamed vs in-memory %.1e (tol %.0e), workspace %zu B\n",
           name, n, d, o->p, o->eps, o->topk, info.rank, nU, info.bound, heavy, missed, err, err2,
           tol, info.workspace_bytes);
  free(T); free(tref); free(tau); free(tau2); free(Uref);
  subq_free(&U);
  subq_free(&U2);
}

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  subq_levatt_opts_t o;
  subq_levatt_opts_default(&o);
  size_t n = 400, d = 8, nq = 60;
  /* 64-byte aligned, so the BLAS calls see the same alignment in every run */
  double *K = aligned_alloc(64, 1000 * 64 * sizeof *K), *Q = aligned_alloc(64, 200 * 64 * sizeof *Q);

  /* A: random keys with outliers, p = 2 */
  ref_pareto_keys(n, d, 7, K);
  ref_gauss(nq * d, 8, Q);
  o.eps = 0.05;
  run_case("pareto", n, d, K, nq, Q, &o, 1, 1e-10);
  o.eps = 0.2;
  run_case("pareto", n, d, K, nq, Q, &o, 1, 1e-10);
  /* top-k (the paper's ViT experiments keep the top 32 per head) */
  o.eps = 0;
  o.topk = 20;
  run_case("pareto-topk", n, d, K, nq, Q, &o, 0, 1e-10);
  o.topk = 0;

  /* B: adversarial: one huge key, 60 duplicates, 5 zero keys; queries along the duplicate.
   * The Gram method squares cond(K) (~1e6 here): scores are accurate to ~cond^2 * 2^-52
   * (~2e-4).  Measured: |tau - svd| and streamed vs in-memory 1e-7 .. 7e-7; the tolerance
   * was 1e-6, within 1.5x of what rounding gives, and a different summation order (BLAS
   * kernel path, chunking) could cross it: 2e-5 keeps 30x margin and is still 10x below
   * the bound.  U is compared only when no score lies within tol of eps (ties above). */
  n = 300, d = 6;
  ref_adversarial(K, nq, Q);
  /* eps = 0.0099, not 0.01: key 38 has tau = 0.01 - 1.6e-6, closer to 0.01 than the
   * scores' accuracy here, so its membership in U flipped with rounding (the flaky failure
   * of test_levatt_select_np2); every score is >= 8.6e-5 away from 0.0099. */
  o.eps = 0.0099;
  run_case("adversarial", n, d, K, nq, Q, &o, 1, 2e-5);

  /* C: rank-deficient: keys in a 4-dimensional subspace of R^10 */
  n = 200, d = 10;
  ref_subspace_keys(K);
  ref_gauss(nq * d, 13, Q);
  o.eps = 0.05;
  run_case("rank-deficient", n, d, K, nq, Q, &o, 1, 1e-10);

  /* D: p = 4 from the tensor power (symmetric reduction D = 10 vs the full 16 columns) */
  n = 300, d = 4;
  ref_pareto_keys(n, d, 14, K);
  ref_gauss(nq * d, 15, Q);
  o.p = 4;
  o.eps = 0.05;
  run_case("pareto-p4", n, d, K, nq, Q, &o, 1, 1e-10);
  o.p = 6; /* D = C(6,3) = 20 of 64 */
  run_case("pareto-p6", n, d, K, nq, Q, &o, 1, 1e-10);
  o.p = 2;

  /* E: n < d: every key has tau = 1 (documented: U = all keys) */
  n = 5, d = 8;
  ref_gauss(n * d, 16, K);
  ref_gauss(nq * d, 17, Q);
  o.eps = 0.5;
  run_case("n<d", n, d, K, nq, Q, &o, 1, 1e-10);

  /* G: the blocked BLAS passes (src/lev/levatt_gram.c): D = 40 (Gram blocks 16 + 16 + 8, rows
   * in blocks of 624 + a remainder), D = 64 (the benchmark's shape: 4 x 4 Gram blocks, rows in
   * blocks of 240 + 40 at np = 1), p = 4 with d = 15 (D = 120, 4 blocks of 32 + 24) and
   * d = 16 (D = 136 > 128: the dsyrk path), all against the SVD reference.  Measured max
   * |tau - svd|: 1-2e-15 (p = 2), 5e-11 and 7e-13 (p = 4: cond(Phi) of Pareto keys squared
   * by the Gram), hence 1e-8 there. */
  o.eps = 0.02;
  n = 1000;
  for (d = 40; d <= 64; d += 24) {
    ref_pareto_keys(n, d, 18 + d, K);
    ref_gauss(nq * d, 19 + d, Q);
    run_case("blocked", n, d, K, nq, Q, &o, 1, 1e-10);
  }
  o.p = 4;
  n = 400;
  for (d = 15; d <= 16; d++) {
    ref_pareto_keys(n, d, 20 + d, K);
    ref_gauss(nq * d, 21 + d, Q);
    run_case("blocked-p4", n, d, K, nq, Q, &o, 1, 1e-8);
  }
  o.p = 2;

  /* F: bad input */
  subq_levatt_t *L = NULL;
  o.eps = 0;
  CHECK_ERR(subq_levatt_create(MPI_COMM_WORLD, 8, &o, &L), SUBQ_ERR_ARG, "eps must be in (0, 1), got 0");
  o.eps = 1;
  CHECK_ERR(subq_levatt_create(MPI_COMM_WORLD, 8, &o, &L), SUBQ_ERR_ARG, "eps must be in (0, 1), got 1");
  o.eps = 0.1;
  o.p = 3;
  CHECK_ERR(subq_levatt_create(MPI_COMM_WORLD, 8, &o, &L), SUBQ_ERR_ARG, "even p");
  o.p = 6;
  o.features = SUBQ_LEVATT_FEATURES_EXACT;
  CHECK_ERR(subq_levatt_create(MPI_COMM_WORLD, 64, &o, &L), SUBQ_ERR_UNSUPPORTED, "exact features requested");
  o.features = SUBQ_LEVATT_FEATURES_AUTO;
  o.p = 2;
  o.eps = 0.1;
  o.topk = 3;
  CHECK_ERR(subq_levatt_create(MPI_COMM_WORLD, 8, &o, &L), SUBQ_ERR_ARG, "not both");
  o.eps = 0;
  o.topk = 6;
  int64_t *U = NULL;
  size_t nU = 0;
  n = 5;
  size_t r0, nl;
  ref_block(n, size_, rank_, &r0, &nl);
  CHECK_ERR(subq_levatt_universal(MPI_COMM_WORLD, &o, d, nl, K + r0 * d, r0, 0, NULL, &U, &nU, NULL),
            SUBQ_ERR_ARG, "topk = 6 exceeds the number of keys n = 5");
  o.topk = 0;
  o.eps = 0.1;
  K[3 * d + 2] = NAN; /* on the rank that owns key 3 only: agreed on every rank */
  CHECK_ERR(subq_levatt_universal(MPI_COMM_WORLD, &o, d, nl, K + r0 * d, r0, 0, NULL, &U, &nU, NULL),
            SUBQ_ERR_NUMERIC, "non-finite");
  CHECK(U == NULL);

  /* A NaN/Inf key in a later row block of a chunk (blocked pass 1, D = 64, blocks of 240
   * rows): the error names it and G keeps none of that chunk, so adding the corrected
   * chunk gives the scores of the SVD reference.  One object per rank (MPI_COMM_SELF). */
  {
    const size_t nn = 600, dd = 64;
    double *B = malloc(300 * dd * sizeof *B), *tr = malloc(nn * sizeof *tr), *ts = malloc(nn * sizeof *ts);
    ref_pareto_keys(nn, dd, 31, K);
    memcpy(B, K + 300 * dd, 300 * dd * sizeof *B);
    B[260 * dd + 5] = INFINITY;
    o.eps = 0.05;
    subq_levatt_t *Lb = NULL;
    CHECK_OK(subq_levatt_create(MPI_COMM_SELF, dd, &o, &Lb));
    CHECK_OK(subq_levatt_gram_add(Lb, 300, K));
    CHECK_ERR(subq_levatt_gram_add(Lb, 300, B), SUBQ_ERR_NUMERIC, "key 560 (local, pass 1)");
    CHECK_OK(subq_levatt_gram_add(Lb, 300, K + 300 * dd));
    CHECK_OK(subq_levatt_factor(Lb));
    CHECK_OK(subq_levatt_score(Lb, nn, K, 0, ts));
    size_t rr = ref_leverage(nn, dd, K, tr), nUb = 0;
    double e = 0;
    for (size_t j = 0; j < nn; j++) e = fmax(e, fabs(ts[j] - tr[j]));
    CHECK(rr == 64);
    CHECK(e < 1e-10); /* measured 2e-15 */
    CHECK_OK(subq_levatt_select(Lb, &nUb));
    subq_levatt_destroy(&Lb);
    /* pass 2 checks too: a NaN or Inf key there is an error naming it, not a NaN score */
    CHECK_OK(subq_levatt_create(MPI_COMM_SELF, dd, &o, &Lb));
    CHECK_OK(subq_levatt_gram_add(Lb, nn, K));
    CHECK_OK(subq_levatt_factor(Lb));
    B[260 * dd + 5] = NAN;
    CHECK_ERR(subq_levatt_score(Lb, 300, B, 300, NULL), SUBQ_ERR_NUMERIC, "key 260 (local, pass 2)");
    B[260 * dd + 5] = K[560 * dd + 5];
    B[17 * dd + 63] = -INFINITY;
    CHECK_ERR(subq_levatt_score(Lb, 300, B, 300, NULL), SUBQ_ERR_NUMERIC, "key 17 (local, pass 2)");
    subq_levatt_destroy(&Lb);
    /* rank-deficient keys (column 7 zero: rank 63): a NaN in the null direction is found too */
    {
      double *Z = malloc(nn * dd * sizeof *Z);
      memcpy(Z, K, nn * dd * sizeof *Z);
      for (size_t j = 0; j < nn; j++) Z[j * dd + 7] = 0;
      CHECK(ref_leverage(nn, dd, Z, tr) == 63);
      CHECK_OK(subq_levatt_create(MPI_COMM_SELF, dd, &o, &Lb));
      CHECK_OK(subq_levatt_gram_add(Lb, nn, Z));
      CHECK_OK(subq_levatt_factor(Lb));
      Z[401 * dd + 7] = NAN;
      CHECK_ERR(subq_levatt_score(Lb, 200, Z + 400 * dd, 400, NULL), SUBQ_ERR_NUMERIC,
                "key 1 (local, pass 2)");
      subq_levatt_destroy(&Lb);
      free(Z);
    }
    free(B);
    free(tr);
    free(ts);
  }

  /* A chunk larger than the cached-chunk size (1500 keys x 64 = 750 KiB > 512 KiB): pass 1
   * sums it in a separate buffer, checked row block by row block; a NaN in its last block
   * leaves G unchanged, and the corrected chunk then gives the SVD scores. */
  {
    const size_t nn = 1500, dd = 64;
    double *A = malloc(nn * dd * sizeof *A), *C = malloc(nn * dd * sizeof *C);
    double *tr = malloc(nn * sizeof *tr), *ts = malloc(nn * sizeof *ts);
    ref_pareto_keys(nn, dd, 47, A);
    memcpy(C, A, nn * dd * sizeof *C);
    C[1400 * dd + 33] = NAN;
    o.eps = 0.05;
    subq_levatt_t *Lc = NULL;
    CHECK_OK(subq_levatt_create(MPI_COMM_SELF, dd, &o, &Lc));
    CHECK_ERR(subq_levatt_gram_add(Lc, nn, C), SUBQ_ERR_NUMERIC, "key 1400 (local, pass 1)");
    CHECK_OK(subq_levatt_gram_add(Lc, nn, A));
    CHECK_OK(subq_levatt_factor(Lc));
    CHECK_ERR(subq_levatt_score(Lc, nn, C, 0, NULL), SUBQ_ERR_NUMERIC, "key 1400 (local, pass 2)");
    subq_levatt_destroy(&Lc);
    CHECK_OK(subq_levatt_create(MPI_COMM_SELF, dd, &o, &Lc));
    CHECK_ERR(subq_levatt_gram_add(Lc, nn, C), SUBQ_ERR_NUMERIC, "key 1400 (local, pass 1)");
    CHECK_OK(subq_levatt_gram_add(Lc, nn, A));
    CHECK_OK(subq_levatt_factor(Lc));
    CHECK_OK(subq_levatt_score(Lc, nn, A, 0, ts));
    size_t rr = ref_leverage(nn, dd, A, tr);
    double e = 0;
    for (size_t j = 0; j < nn; j++) e = fmax(e, fabs(ts[j] - tr[j]));
    CHECK(rr == 64);
    CHECK(e < 1e-10);
    subq_levatt_destroy(&Lc);
    free(A);
    free(C);
    free(tr);
    free(ts);
  }
  free(K);
  free(Q);
  CHECK_FINISH();
}
