/* subq kernel-eig: top eigenvalue and eigenvector of the kernel matrix by the kernel
 * noisy power method with sampled matvecs (Backurs-Indyk-Musco-Wagner 2021, as used by
 * BIKSZ arXiv 2212.00642; include/subq/kde.h) against LAPACK dsyevr (n <= --dense-max). */
#include <math.h>

#include "jobs/kde_jobs.h"

static const subq_opt_spec_t opts_[] = {
    SUBQ_KDE_JOB_KERNEL_OPTS,
    {"columns", SUBQ_OPT_INT, "50", "columns", "sampled columns per matvec m (n m kernel evaluations each)", NULL, 1, 1e7},
    {"iters", SUBQ_OPT_INT, "10", "", "power iterations", NULL, 1, 1e5},
    {"dense-max", SUBQ_OPT_INT, "5000", "points", "largest n for the dense LAPACK reference (8 n^2 bytes on rank 0)", NULL, 0, 1e6},
    {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};

static int run_(subq_job_ctx_t *ctx) {
  subq_kde_job_data_t a;
  subq_dmat_t *X = NULL;
  SUBQ_CALL(subq_kde_job_load(ctx, &a, &X));
  long m, iters, dmax;
  int e = subq_opts_int(ctx->opts, "columns", &m);
  if (!e) e = subq_opts_int(ctx->opts, "iters", &iters);
  if (!e) e = subq_opts_int(ctx->opts, "dense-max", &dmax);
  double *v = NULL, *ve = NULL, lam = 0, lex = NAN, al = NAN, t_est = 0, t_dense = 0;
  uint64_t ev = 0;
  const int do_dense = X->n <= (size_t)dmax;
  if (!e) e = SUBQ_ALLOC(v, X->nloc + 1);
  if (!e && do_dense) e = SUBQ_ALLOC(ve, X->n);
  e = subq_error_agree(ctx->comm, e);
  double t0 = subq_wtime();
  if (!e) e = subq_kernel_top_eig(X, &a.kernel, (size_t)m, (size_t)iters, ctx->seed, &lam, v, &ev);
  if (!e) e = subq_time_max(ctx->comm, subq_wtime() - t0, &t_est);
  t0 = subq_wtime();
  if (!e && do_dense) e = subq_kernel_dense_eig(X, &a.kernel, 1, &lex, ve, NULL, NULL);
  if (!e) e = subq_time_max(ctx->comm, subq_wtime() - t0, &t_dense);
  if (!e && do_dense) {
    double s = 0;
    for (size_t i = 0; i < X->nloc; i++) s += v[i] * ve[X->r0 + i];
    if (MPI_Allreduce(&s, &al, 1, MPI_DOUBLE, MPI_SUM, ctx->comm) != MPI_SUCCESS)
      e = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce of the alignment failed");
    al = fabs(al);
  }
  if (!e) e = subq_job_phase(ctx, "power", t_est);
  if (!e) e = subq_job_phase(ctx, "dense", t_dense);
  double mem = subq_kde_job_peak_mem(ctx->comm);
  if (!e && ctx->rank == 0) {
    subq_json_t *j = ctx->summary;
    double n2 = (double)X->n * (double)X->n;
    e = subq_kde_job_report_common(ctx, &a, X, "kernel-eig");
    if (!e) e = subq_json_int(j, "columns", m);
    if (!e) e = subq_json_int(j, "iters", iters);
    if (!e) e = subq_json_num(j, "lambda_est", lam);
    if (!e) e = subq_json_num(j, "lambda_exact", lex);
    if (!e) e = subq_json_num(j, "rel_err", fabs(lam - lex) / lex);
    if (!e) e = subq_json_num(j, "alignment", al);
    if (!e) e = subq_json_int(j, "kernel_evals", (long long)ev);
    if (!e) e = subq_json_num(j, "dense_kernel_evals", n2);
    if (!e) e = subq_json_num(j, "time_s", t_est);
    if (!e) e = subq_json_num(j, "dense_time_s", do_dense ? t_dense : NAN);
    if (!e) e = subq_json_num(j, "peak_mem_bytes", mem);
    subq_job_table(ctx, "lambda_1", "%.8g (exact %.8g, rel. error %.3g)", lam, lex, fabs(lam - lex) / lex);
    subq_job_table(ctx, "eigenvector alignment", "%.6f", al);
    subq_job_table(ctx, "kernel evals", "%.4g (%.4f of n^2)", (double)ev, (double)ev / n2);
    subq_job_table(ctx, "time", "%.3f s (dense %.3f s)", t_est, t_dense);
  }
  e = subq_error_agree(ctx->comm, e);
  subq_free(&v);
  subq_free(&ve);
  subq_dmat_destroy(&X);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : 0;
}

const subq_job_t subq_job_kernel_eig = {
    "kernel-eig", "Top eigenpair of a kernel matrix by the kernel noisy power method vs LAPACK.",
    opts_, run_, 0};
