/* Spectral sparsification of a small complete kernel graph against dense computations
 * made here: the exact matrix-free Laplacian product vs the dense L; the sparsifier's
 * PETSc matrix vs the dense Laplacian of its edge list; the spectral check (all
 * generalised eigenvalues of (L~, L) on 1-perp within 1 +- eps at a fixed seed); the
 * quadratic-form ratios; SLEPc eigenvalues of the normalised L~ vs LAPACK; the dense
 * normalised-Laplacian reference vs LAPACK; rank-count independence of the edge list
 * (exact and sampling trees);
 * bad inputs. */
#include "graph_test.h"

static subq_sparsifier_t *make_(MPI_Comm comm, subq_dmat_t *X, subq_kernel_t ker, double eps,
                                double C, subq_kde_type_t type, size_t T) {
  subq_sparsifier_t *sp = NULL;
  CHECK_OK(subq_sparsifier_create(comm, &sp));
  CHECK_OK(subq_sparsifier_set_eps(sp, eps, C));
  CHECK_OK(subq_sparsifier_set_kde(sp, type, 32, 1, 4));
  CHECK_OK(subq_sparsifier_set_seed(sp, 11));
  if (T) CHECK_OK(subq_sparsifier_set_samples(sp, T));
  CHECK_OK(subq_sparsifier_setup(sp, X, &ker));
  return sp;
}

/* min and max generalised eigenvalue of (Lt, L) on the complement of the null space. */
static void gen_eig_range_(const double *L, const double *Lt, size_t n, double *lo, double *hi) {
  double *U = malloc(n * n * sizeof *U), *ev = malloc(n * sizeof *ev);
  double *Z = malloc(n * n * sizeof *Z), *M = calloc(n * n, sizeof *M), *mv = malloc(n * sizeof *mv);
  gt_eigvals(L, n, ev, U);
  size_t p = 0;
  for (size_t c = 0; c < n; c++) {
    if (ev[c] <= 1e-9 * ev[n - 1]) continue;
    for (size_t i = 0; i < n; i++) Z[i * n + p] = U[i * n + c] / sqrt(ev[c]);
    p++;
  }
  double *T = calloc(n * n, sizeof *T); /* Lt Z */
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < n; k++)
      for (size_t c = 0; c < p; c++) T[i * n + c] += Lt[i * n + k] * Z[k * n + c];
  double *Mp = calloc(p * p, sizeof *Mp);
  for (size_t a = 0; a < p; a++)
    for (size_t b = 0; b < p; b++)
      for (size_t i = 0; i < n; i++) Mp[a * p + b] += Z[i * n + a] * T[i * n + b];
  gt_eigvals(Mp, p, mv, NULL);
  *lo = mv[0];
  *hi = mv[p - 1];
  free(U), free(ev), free(Z), free(M), free(mv), free(T), free(Mp);
}

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  const size_t n = 60, d = 3, k = 4;
  subq_kernel_t ker = {SUBQ_KERNEL_GAUSSIAN, 1.5};
  subq_dmat_t *X = kt_points(MPI_COMM_WORLD, n, d, 3), *Xs = kt_points(MPI_COMM_SELF, n, d, 3);
  double *A = kt_all_points(n, d, 3), *K = kt_dense_kernel(&ker, A, n, d), *L = gt_laplacian(K, n);
  const size_t nl = X->nloc, r0 = X->r0;

  /* exact matrix-free product and degrees vs the dense Laplacian */
  double *V = malloc((nl + 1) * 2 * sizeof *V), *Y = malloc((nl + 1) * 2 * sizeof *Y);
  double *deg = malloc((nl + 1) * sizeof *deg);
  for (size_t i = 0; i < nl; i++)
    for (size_t c = 0; c < 2; c++) V[i * 2 + c] = subq_rng_gauss(1, 2, (r0 + i) * 2 + c);
  CHECK_OK(subq_laplacian_apply(X, &ker, 2, V, Y, deg));
  for (size_t i = 0; i < nl; i++) {
    CHECK_CLOSE(deg[i], L[(r0 + i) * n + r0 + i], 1e-12);
    for (size_t c = 0; c < 2; c++) {
      double s = 0;
      for (size_t j = 0; j < n; j++) s += L[(r0 + i) * n + j] * subq_rng_gauss(1, 2, j * 2 + c);
      CHECK_CLOSE(Y[i * 2 + c], s, 1e-10);
    }
  }

  /* sparsifier with exact KDE (exact neighbour distributions): spectral check at eps */
  const double eps = 0.5;
  subq_sparsifier_t *sp = make_(MPI_COMM_WORLD, X, ker, eps, 2.0, SUBQ_KDE_EXACT, 0);
  subq_sparsifier_stats_t st;
  CHECK_OK(subq_sparsifier_stats(sp, &st));
  size_t m = 0;
  const size_t *E = NULL;
  const double *w = NULL;
  CHECK_OK(subq_sparsifier_edges(sp, &m, &E, &w));
  CHECK(st.edges == m && st.components == 1 && st.n == n);
  CHECK(st.kde_evals == 0 && st.sample_evals > 0); /* no degree pass: weights use q(j | i) */
  double *Lt = gt_edge_laplacian(n, m, E, w), lo, hi;
  gen_eig_range_(L, Lt, n, &lo, &hi);
  if (rank == 0)
    printf("exact-KDE sparsifier: T = %zu samples, %zu of %.0f edges, (L~, L) spectrum in "
           "[%.4f, %.4f], %llu + %llu kernel evals\n", st.samples, m, st.dense_edges, lo, hi,
           (unsigned long long)st.kde_evals, (unsigned long long)st.sample_evals);
  CHECK(lo >= 1 - eps && hi <= 1 + eps);

  /* same edge list on one rank (rank-count independence) */
  subq_sparsifier_t *ss = make_(MPI_COMM_SELF, Xs, ker, eps, 2.0, SUBQ_KDE_EXACT, 0);
  size_t ms = 0;
  const size_t *Es = NULL;
  const double *ws = NULL;
  CHECK_OK(subq_sparsifier_edges(ss, &ms, &Es, &ws));
  CHECK(ms == m);
  int same = ms == m;
  for (size_t e = 0; same && e < m; e++)
    same = Es[2 * e] == E[2 * e] && Es[2 * e + 1] == E[2 * e + 1] && fabs(ws[e] - w[e]) <= 1e-12 * w[e];
  CHECK(same);
  subq_sparsifier_destroy(&ss);

  /* sampling tree with sampled nodes (4 samples per node, leaves of 4): the same edges and
   * weights on one rank as on all (node samples keyed by global indices) */
  {
    subq_sparsifier_t *s1 = NULL, *s2 = NULL;
    for (int pass = 0; pass < 2; pass++) {
      subq_sparsifier_t **pp = pass ? &s2 : &s1;
      CHECK_OK(subq_sparsifier_create(pass ? MPI_COMM_SELF : MPI_COMM_WORLD, pp));
      CHECK_OK(subq_sparsifier_set_kde(*pp, SUBQ_KDE_SAMPLING, 4, 1, 4));
      CHECK_OK(subq_sparsifier_set_seed(*pp, 5));
      CHECK_OK(subq_sparsifier_setup(*pp, pass ? Xs : X, &ker));
    }
    size_t m1 = 0, m2 = 0;
    const size_t *E1 = NULL, *E2 = NULL;
    const double *w1 = NULL, *w2 = NULL;
    CHECK_OK(subq_sparsifier_edges(s1, &m1, &E1, &w1));
    CHECK_OK(subq_sparsifier_edges(s2, &m2, &E2, &w2));
    int eq = m1 == m2 && m1 > 0;
    for (size_t e = 0; eq && e < m1; e++)
      eq = E1[2 * e] == E2[2 * e] && E1[2 * e + 1] == E2[2 * e + 1] && fabs(w1[e] - w2[e]) <= 1e-12 * w2[e];
    CHECK(eq);
    subq_sparsifier_destroy(&s1);
    subq_sparsifier_destroy(&s2);
  }

  /* PETSc matrix vs the dense Laplacian of the edge list */
  CHECK_OK(subq_sparsifier_apply(sp, 2, V, Y));
  for (size_t i = 0; i < nl; i++)
    for (size_t c = 0; c < 2; c++) {
      double s = 0;
      for (size_t j = 0; j < n; j++) s += Lt[(r0 + i) * n + j] * subq_rng_gauss(1, 2, j * 2 + c);
      CHECK_CLOSE(Y[i * 2 + c], s, 1e-10);
    }

  /* quadratic-form ratios vs dense */
  double ratio[2];
  CHECK_OK(subq_sparsifier_quadratic_ratios(sp, X, &ker, 2, V, ratio));
  for (size_t c = 0; c < 2; c++) {
    double a = 0, b = 0;
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < n; j++) {
        double vi = subq_rng_gauss(1, 2, i * 2 + c), vj = subq_rng_gauss(1, 2, j * 2 + c);
        a += vi * L[i * n + j] * vj;
        b += vi * Lt[i * n + j] * vj;
      }
    CHECK_CLOSE(ratio[c], b / a, 1e-10);
    CHECK(ratio[c] >= lo - 1e-12 && ratio[c] <= hi + 1e-12);
  }

  /* SLEPc on the normalised L~ vs LAPACK on the same matrix formed here */
  double *Nt = gt_normalized(Lt, n), *evt = malloc(n * sizeof *evt), lam[4], lamx[4];
  gt_eigvals(Nt, n, evt, NULL);
  double *vecs = malloc((nl + 1) * k * sizeof *vecs);
  int its = 0;
  CHECK_OK(subq_sparsifier_normalized_eigs(sp, k, 0, lam, vecs, &its));
  for (size_t i = 0; i < k; i++) CHECK_CLOSE(lam[i], evt[i + 1], 1e-8);
  CHECK_OK(subq_sparsifier_normalized_eigs(sp, 1, 1, lamx, NULL, NULL));
  CHECK_CLOSE(lamx[0], evt[n - 1], 1e-8);
  /* eigenvectors: x = D^{-1/2} v satisfies L~ x = lambda D~ x */
  CHECK_OK(subq_sparsifier_apply(sp, k, vecs, Y = realloc(Y, (nl + 1) * k * sizeof *Y)));
  for (size_t i = 0; i < nl; i++)
    for (size_t c = 0; c < k; c++)
      CHECK(fabs(Y[i * k + c] - lam[c] * Lt[(r0 + i) * n + r0 + i] * vecs[i * k + c]) < 1e-6);
  /* dense reference of the exact graph vs LAPACK on the N formed here */
  double *N = gt_normalized(L, n), *ev = malloc(n * sizeof *ev);
  gt_eigvals(N, n, ev, NULL);
  CHECK_OK(subq_laplacian_dense_eigs(X, &ker, k, lamx));
  for (size_t i = 0; i < k; i++) CHECK_CLOSE(lamx[i], ev[i + 1], 1e-10);
  /* the ScaLAPACK route (N built block-cyclic, pdsyevr), on several grids and block sizes
   * that do not divide n */
  {
    int npw;
    MPI_Comm_size(MPI_COMM_WORLD, &npw);
    const int grids[3][2] = {{0, 0}, {npw, 1}, {1, npw}}, nbs[3] = {64, 7, 16};
    double *lams = malloc(k * sizeof *lams);
    for (int tailored = 1; tailored >= 0; tailored--) /* 0: the 2D reduction of n > 16,000 */
      for (int gi = 0; gi < 3; gi++) {
        subq_scalapack_eig_set_tailored_max(tailored ? 16000 : 0);
        CHECK_OK(subq_laplacian_dense_eigs_scalapack(X, &ker, k, grids[gi][0], grids[gi][1],
                                                     nbs[gi], lams));
        for (size_t i = 0; i < k; i++) CHECK_CLOSE(lams[i], ev[i + 1], 1e-10);
      }
    subq_scalapack_eig_set_tailored_max(16000);
    free(lams);
  }
  if (rank == 0)
    for (size_t i = 0; i < k; i++)
      printf("lambda_%zu(N) = %.5f, sparsifier %.5f (rel. err %.3f)\n", i + 2, ev[i + 1], lam[i],
             fabs(lam[i] - ev[i + 1]) / ev[i + 1]);

  /* approximate KDE (sampling oracle in the tree): still a usable sparsifier */
  subq_sparsifier_t *sa = make_(MPI_COMM_WORLD, X, ker, eps, 2.0, SUBQ_KDE_SAMPLING, 0);
  size_t ma;
  const size_t *Ea;
  const double *wa;
  CHECK_OK(subq_sparsifier_edges(sa, &ma, &Ea, &wa));
  double *Lta = gt_edge_laplacian(n, ma, Ea, wa);
  gen_eig_range_(L, Lta, n, &lo, &hi);
  if (rank == 0) printf("sampling-KDE sparsifier: %zu edges, spectrum in [%.4f, %.4f]\n", ma, lo, hi);
  CHECK(lo >= 1 - 0.7 && hi <= 1 + 0.7);
  subq_sparsifier_destroy(&sa);

  /* bad inputs */
  subq_sparsifier_t *sb = NULL;
  CHECK_OK(subq_sparsifier_create(MPI_COMM_WORLD, &sb));
  CHECK_ERR(subq_sparsifier_set_eps(sb, 1.0, 1.0), SUBQ_ERR_ARG, "eps must be in (0, 1)");
  CHECK_ERR(subq_sparsifier_set_eps(sb, 0.0, 1.0), SUBQ_ERR_ARG, "eps must be in (0, 1)");
  subq_kernel_t tiny = {SUBQ_KERNEL_GAUSSIAN, 1e-3};
  CHECK_ERR(subq_sparsifier_setup(sb, X, &tiny), SUBQ_ERR_NUMERIC, "disconnected");
  subq_sparsifier_destroy(&sb);
  subq_sparsifier_t *sf = make_(MPI_COMM_WORLD, X, ker, eps, 1.0, SUBQ_KDE_EXACT, 10);
  CHECK_OK(subq_sparsifier_stats(sf, &st));
  CHECK(st.components > 1);
  CHECK_ERR(subq_sparsifier_normalized_eigs(sf, 2, 0, lam, NULL, NULL), SUBQ_ERR_NUMERIC, "isolated");
  subq_sparsifier_destroy(&sf);

  subq_sparsifier_destroy(&sp);
  free(V), free(Y), free(deg), free(A), free(K), free(L), free(Lt), free(Nt), free(evt);
  free(vecs), free(N), free(ev), free(Lta);
  subq_dmat_destroy(&X);
  subq_dmat_destroy(&Xs);
  CHECK_FINISH();
}
