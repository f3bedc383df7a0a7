/* subq kernel-solve: L x = b for the kernel-graph Laplacian with PETSc KSP, using the
 * KDE sparsifier (BIKSZ arXiv 2212.00642, Laplacian solvers via sparsification;
 * include/subq/graph.h): CG + AMG on L~ directly, and CG on the exact matrix-free L
 * preconditioned by AMG of L~; true relative residual on the exact L; comparison with a
 * dense LAPACK solve (n <= --dense-max). */
#include <math.h>
#include <string.h>

#include "jobs/graph_jobs.h"

static const subq_opt_spec_t opts_[] = {
    SUBQ_KDE_JOB_KERNEL_OPTS,
    SUBQ_GRAPH_JOB_SPARSIFIER_OPTS,
    {"rhs", SUBQ_OPT_STRING, "random", "", "right-hand side b: random (Gaussian) or a data spec with n x 1 values; its mean is removed", NULL, 0, 0},
    {"mode", SUBQ_OPT_CHOICE, "both", "", "sparsifier: CG+AMG on L~; precond: CG on exact L, AMG(L~) preconditioner; both", "sparsifier|precond|both", 0, 0},
    {"pc", SUBQ_OPT_CHOICE, "gamg", "", "preconditioner built from L~", "gamg|hypre|jacobi|none", 0, 0},
    {"rtol", SUBQ_OPT_REAL, "1e-8", "", "relative residual tolerance of CG", NULL, 1e-300, 1},
    {"maxit", SUBQ_OPT_INT, "1000", "iterations", "maximum CG iterations", NULL, 1, 1e7},
    {"dense-max", SUBQ_OPT_INT, "5000", "points", "largest n for the dense LAPACK solve (8 n^2 bytes on rank 0)", NULL, 0, 1e6},
    {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};

/* Collective: relative 2-norm difference of local vectors. */
static int rel_diff_(MPI_Comm comm, size_t nl, const double *x, const double *y, double *out) {
  double s[2] = {0, 0};
  for (size_t i = 0; i < nl; i++) s[0] += (x[i] - y[i]) * (x[i] - y[i]), s[1] += y[i] * y[i];
  SUBQ_MPI(MPI_Allreduce(MPI_IN_PLACE, s, 2, MPI_DOUBLE, MPI_SUM, comm));
  *out = sqrt(s[0] / s[1]);
  return SUBQ_OK;
}

static int load_rhs_(subq_job_ctx_t *ctx, const subq_dmat_t *X, const char *rhs, double *b) {
  if (strcmp(rhs, "random") == 0) {
    for (size_t i = 0; i < X->nloc; i++) b[i] = subq_rng_gauss(ctx->seed, 0x475248ull, X->r0 + i);
    return SUBQ_OK;
  }
  subq_dmat_t *B = NULL;
  SUBQ_CALL(subq_dmat_load(ctx->comm, rhs, SUBQ_F64, &B));
  int e = 0;
  if (B->n != X->n || B->d != 1)
    e = SUBQ_FAIL(SUBQ_ERR_ARG, "--rhs=%s has shape %zu x %zu, expected n x 1 = %zu x 1", rhs,
                  B->n, B->d, X->n);
  else memcpy(b, B->data, X->nloc * sizeof *b);
  subq_dmat_destroy(&B);
  return e;
}

static int run_(subq_job_ctx_t *ctx) {
  subq_kde_job_data_t a;
  subq_dmat_t *X = NULL;
  SUBQ_CALL(subq_kde_job_load(ctx, &a, &X));
  const char *rhs, *mode, *pc;
  double rtol;
  long maxit, dmax;
  int e = subq_opts_string(ctx->opts, "rhs", &rhs);
  if (!e) e = subq_opts_string(ctx->opts, "mode", &mode);
  if (!e) e = subq_opts_string(ctx->opts, "pc", &pc);
  if (!e) e = subq_opts_real(ctx->opts, "rtol", &rtol);
  if (!e) e = subq_opts_int(ctx->opts, "maxit", &maxit);
  if (!e) e = subq_opts_int(ctx->opts, "dense-max", &dmax);
  if (!e && !(rtol > 0 && rtol < 1)) e = SUBQ_FAIL(SUBQ_ERR_ARG, "--rtol must be in (0, 1), got %g", rtol);
  const size_t nl = X->nloc;
  double *b = NULL, *xs = NULL, *xp = NULL, *xd = NULL;
  if (!e) e = SUBQ_ZALLOC(b, nl + 1);
  if (!e) e = SUBQ_ZALLOC(xs, nl + 1);
  if (!e) e = SUBQ_ZALLOC(xp, nl + 1);
  if (!e) e = SUBQ_ZALLOC(xd, nl + 1);
  e = subq_error_agree(ctx->comm, e);
  if (!e) e = subq_error_agree(ctx->comm, load_rhs_(ctx, X, rhs, b));
  subq_sparsifier_t *sp = NULL;
  if (!e) e = subq_graph_job_sparsifier(ctx, X, &a.kernel, &sp);
  subq_sparsifier_stats_t st;
  if (!e) e = subq_sparsifier_stats(sp, &st);
  if (!e) e = subq_job_phase(ctx, "sparsify", st.time_s + st.assemble_s);
  if (!e) subq_job_progress(ctx, "steps (sparsify, solve-sparsifier, solve-precond, dense)", 1, 4, ctx->t_start);
  const int do_s = strcmp(mode, "precond") != 0, do_p = strcmp(mode, "sparsifier") != 0;
  const int do_dense = X->n <= (size_t)dmax;
  subq_lsolve_stats_t ss = {0, 0, NAN, NAN, 0}, ps = {0, 0, NAN, NAN, 0};
  if (!e && do_s) e = subq_laplacian_solve(sp, X, &a.kernel, SUBQ_LSOLVE_SPARSIFIER, pc, rtol, (int)maxit, b, xs, &ss);
  if (!e && do_s) e = subq_job_phase(ctx, "solve-sparsifier", ss.time_s);
  if (!e) subq_job_progress(ctx, "steps (sparsify, solve-sparsifier, solve-precond, dense)", 2, 4, ctx->t_start);
  if (!e && do_p) e = subq_laplacian_solve(sp, X, &a.kernel, SUBQ_LSOLVE_PRECOND, pc, rtol, (int)maxit, b, xp, &ps);
  if (!e && do_p) e = subq_job_phase(ctx, "solve-precond", ps.time_s);
  if (!e) subq_job_progress(ctx, "steps (sparsify, solve-sparsifier, solve-precond, dense)", 3, 4, ctx->t_start);
  double t_dense = NAN, es = NAN, ep = NAN;
  if (!e && do_dense) {
    double t0 = subq_wtime();
    e = subq_laplacian_dense_solve(X, &a.kernel, b, xd);
    if (!e) e = subq_time_max(ctx->comm, subq_wtime() - t0, &t_dense);
    if (!e) e = subq_job_phase(ctx, "dense", t_dense);
    if (!e && do_s) e = rel_diff_(ctx->comm, nl, xs, xd, &es);
    if (!e && do_p) e = rel_diff_(ctx->comm, nl, xp, xd, &ep);
  }
  if (!e) subq_job_progress(ctx, "steps (sparsify, solve-sparsifier, solve-precond, dense)", 4, 4, ctx->t_start);
  e = subq_error_agree(ctx->comm, e);
  double mem = subq_kde_job_peak_mem(ctx->comm);
  if (!e && ctx->rank == 0) {
    subq_json_t *j = ctx->summary;
    const subq_lsolve_stats_t *m = do_p ? &ps : &ss;
    e = subq_kde_job_report_common(ctx, &a, X, "kernel-solve");
    if (!e) e = subq_graph_job_report_sparsifier(ctx, &st);
    if (!e) e = subq_json_str(j, "mode", mode);
    if (!e) e = subq_json_str(j, "pc", pc);
    if (!e) e = subq_json_num(j, "rtol", rtol);
    if (!e) e = subq_json_int(j, "iterations", m->iterations);
    if (!e) e = subq_json_num(j, "true_rel_residual", m->true_rel_residual);
    if (!e) e = subq_json_num(j, "time_s", st.time_s + st.assemble_s + m->time_s);
    if (!e) e = subq_json_num(j, "dense_time_s", t_dense);
    if (!e) e = subq_json_num(j, "sparsifier_iterations", do_s ? ss.iterations : -1);
    if (!e) e = subq_json_num(j, "sparsifier_true_rel_residual", ss.true_rel_residual);
    if (!e) e = subq_json_num(j, "sparsifier_solve_time_s", ss.time_s);
    if (!e) e = subq_json_num(j, "sparsifier_rel_err_vs_dense", es);
    if (!e) e = subq_json_num(j, "precond_iterations", do_p ? ps.iterations : -1);
    if (!e) e = subq_json_num(j, "precond_true_rel_residual", ps.true_rel_residual);
    if (!e) e = subq_json_num(j, "precond_solve_time_s", ps.time_s);
    if (!e) e = subq_json_num(j, "precond_rel_err_vs_dense", ep);
    if (!e) e = subq_json_num(j, "precond_matvec_kernel_evals", (double)ps.matvec_evals);
    if (!e) e = subq_json_num(j, "peak_mem_bytes", mem);
    if (do_s)
      subq_job_table(ctx, "CG+" "AMG on L~", "%d iterations, %.3f s, true rel. residual %.3g, error vs dense %.3g",
                     ss.iterations, ss.time_s, ss.true_rel_residual, es);
    if (do_p)
      subq_job_table(ctx, "CG on L, AMG(L~)", "%d iterations, %.3f s, true rel. residual %.3g, error vs dense %.3g",
                     ps.iterations, ps.time_s, ps.true_rel_residual, ep);
    subq_job_table(ctx, "dense solve", "%.3f s%s", t_dense, do_dense ? "" : " (n > --dense-max)");
    subq_job_table(ctx, "peak memory", "%.1f MiB per rank (max)", mem / 1048576.0);
  }
  e = subq_error_agree(ctx->comm, e);
  subq_sparsifier_destroy(&sp);
  subq_free(&b), subq_free(&xs), subq_free(&xp), subq_free(&xd);
  subq_dmat_destroy(&X);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : 0;
}

const subq_job_t subq_job_kernel_solve = {
    "kernel-solve", "Kernel-graph Laplacian solve with PETSc CG + AMG of the KDE sparsifier, vs dense.",
    opts_, run_, 0};
