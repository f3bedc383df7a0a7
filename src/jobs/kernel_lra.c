/* subq kernel-lra: additive-error rank-k approximation of the kernel matrix from rows
 * sampled by squared row norm, the norms from KDE queries of k^2 (BIKSZ, arXiv
 * 2212.00642, low-rank approximation; include/subq/kde.h), against the optimal rank-k
 * error (dense: the kernel matrix built block-cyclic and ScaLAPACK pdsyevr/pdsyevx top-k eigenvalues,
 * n <= --dense-max; or LAPACK dsyevr on rank 0 with --dense=lapack) and a uniform
 * row-sampling baseline with the same number of rows.  Errors ||K - K V V^T||_F are exact
 * and blocked (never holding K) for n <= --error-max, else estimated on --error-rows
 * uniformly sampled rows (unbiased for the squared error; standard error reported). */
#include <math.h>

#include "jobs/kde_jobs.h"

static const subq_opt_spec_t opts_[] = {
    SUBQ_KDE_JOB_KERNEL_OPTS,
    {"rank", SUBQ_OPT_INT, "10", "", "target rank k (1 <= k < n, k <= samples)", NULL, 1, 1e6},
    {"samples", SUBQ_OPT_INT, "200", "rows", "sampled rows s", NULL, 1, 1e6},
    {"estimator", SUBQ_OPT_CHOICE, "sampling", "", "KDE oracle for the squared row norms", "exact|sampling|hbe|deann", 0, 0},
    {"kde-samples", SUBQ_OPT_INT, "64", "per group", "KDE samples (sampling) or tables (hbe) per group", NULL, 1, 4e9},
    {"kde-groups", SUBQ_OPT_INT, "1", "", "KDE groups (median of means)", NULL, 1, 4096},
    {"dense-max", SUBQ_OPT_INT, "20000", "points", "largest n for the dense reference (ScaLAPACK: 8 n^2 / ranks bytes per rank)", NULL, 0, 46340},
    {"dense", SUBQ_OPT_CHOICE, "scalapack", "", "dense reference: scalapack (block-cyclic K, pdsyevr/pdsyevx) | lapack (dsyevr on rank 0)", "scalapack|lapack", 0, 0},
    {"error-max", SUBQ_OPT_INT, "20000", "points", "largest n for the exact blocked error (n^2 kernel evaluations); above it the sampled-row estimate", NULL, 0, 1e7},
    {"error-rows", SUBQ_OPT_INT, "1000", "rows", "rows sampled for the error estimate when n > --error-max (n each)", NULL, 2, 1e6},
    {"uniform", SUBQ_OPT_INT, "1", "", "also run the uniform row-sampling baseline (1) or not (0)", NULL, 0, 1},
    {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};

static int run_(subq_job_ctx_t *ctx) {
  subq_kde_job_data_t a;
  subq_dmat_t *X = NULL;
  SUBQ_CALL(subq_kde_job_load(ctx, &a, &X));
  const char *est_name;
  const char *dense_name;
  long k, s, ks, kg, dmax, emax, erows, do_unif;
  subq_kde_type_t type;
  int e = subq_opts_string(ctx->opts, "estimator", &est_name);
  if (!e) e = subq_opts_int(ctx->opts, "rank", &k);
  if (!e) e = subq_opts_int(ctx->opts, "samples", &s);
  if (!e) e = subq_opts_int(ctx->opts, "kde-samples", &ks);
  if (!e) e = subq_opts_int(ctx->opts, "kde-groups", &kg);
  if (!e) e = subq_opts_int(ctx->opts, "dense-max", &dmax);
  if (!e) e = subq_opts_int(ctx->opts, "error-max", &emax);
  if (!e) e = subq_opts_int(ctx->opts, "error-rows", &erows);
  if (!e) e = subq_opts_int(ctx->opts, "uniform", &do_unif);
  if (!e) e = subq_opts_string(ctx->opts, "dense", &dense_name);
  if (!e) e = subq_kde_type_parse(est_name, &type);
  if (!e && (size_t)k >= X->n) e = SUBQ_FAIL(SUBQ_ERR_ARG, "--rank=%ld must be < n = %zu", k, X->n);
  if (!e && s < k) e = SUBQ_FAIL(SUBQ_ERR_ARG, "--samples=%ld must be >= --rank=%ld", s, k);
  subq_kde_t *o = NULL;
  double *V = NULL, *U = NULL, *lam = NULL;
  if (!e) e = subq_malloc(X->nloc + 1, (size_t)k * sizeof(double), &V);
  if (!e) e = subq_malloc(X->nloc + 1, (size_t)k * sizeof(double), &U);
  if (!e) e = SUBQ_ALLOC(lam, k);
  e = subq_error_agree(ctx->comm, e);
  subq_kernel_t k2 = subq_kernel_squared(&a.kernel);
  subq_lra_stats_t st = {0, 0, 0, 0}, su = {0, 0, 0, 0};
  double t0 = subq_wtime(), t_setup = 0, c0 = subq_kde_job_cpu(), cpu_lra = 0, cpu_unif = 0, cpu_dense = 0;
  if (!e) e = subq_kde_create(ctx->comm, type, &o);
  if (!e) e = subq_kde_set_kernel(o, k2);
  if (!e) e = subq_kde_set_samples(o, (size_t)ks, (size_t)kg);
  if (!e) e = subq_kde_set_seed(o, ctx->seed);
  if (!e) e = subq_kde_setup(o, X);
  if (!e) e = subq_time_max(ctx->comm, subq_wtime() - t0, &t_setup);
  if (!e) subq_job_progress(ctx, "steps (kde-setup, lra, uniform, error, dense)", 1, 5, ctx->t_start);
  if (!e) e = subq_kernel_lra(X, &a.kernel, o, (size_t)k, (size_t)s, ctx->seed, V, &st);
  if (!e) cpu_lra = subq_kde_job_cpu_sum(ctx->comm, c0);
  if (!e) subq_job_progress(ctx, "steps (kde-setup, lra, uniform, error, dense)", 2, 5, ctx->t_start);
  c0 = subq_kde_job_cpu();
  if (!e && do_unif) e = subq_kernel_lra(X, &a.kernel, NULL, (size_t)k, (size_t)s, ctx->seed, U, &su);
  if (!e) cpu_unif = subq_kde_job_cpu_sum(ctx->comm, c0);
  if (!e) subq_job_progress(ctx, "steps (kde-setup, lra, uniform, error, dense)", 3, 5, ctx->t_start);
  if (!e) e = subq_job_phase(ctx, "kde-setup", t_setup);
  if (!e) e = subq_job_phase(ctx, "lra", st.time_s);
  if (!e) e = subq_job_phase(ctx, "uniform", su.time_s);
  double err = NAN, uerr = NAN, nrm = NAN, best = NAN, t_err = 0, t_dense = 0;
  double err_se = 0, uerr_se = 0, dnrm = NAN;
  uint64_t err_evals = 0, dense_evals = 0;
  const int exact_err = X->n <= (size_t)emax, do_dense = X->n <= (size_t)dmax;
  const int scalapack = strcmp(dense_name, "scalapack") == 0;
  t0 = subq_wtime();
  if (!e && exact_err) {
    e = subq_kernel_lra_error(X, &a.kernel, V, (size_t)k, &err, &nrm);
    if (!e && do_unif) e = subq_kernel_lra_error(X, &a.kernel, U, (size_t)k, &uerr, NULL);
  } else if (!e) {
    e = subq_kernel_lra_error_sampled(X, &a.kernel, V, (size_t)k, (size_t)erows, ctx->seed + 1,
                                      &err, &nrm, &err_se, &err_evals);
    if (!e && do_unif)
      e = subq_kernel_lra_error_sampled(X, &a.kernel, U, (size_t)k, (size_t)erows, ctx->seed + 1,
                                        &uerr, NULL, &uerr_se, NULL);
  }
  if (!e) e = subq_time_max(ctx->comm, subq_wtime() - t0, &t_err);
  if (!e) subq_job_progress(ctx, "steps (kde-setup, lra, uniform, error, dense)", 4, 5, ctx->t_start);
  t0 = subq_wtime();
  c0 = subq_kde_job_cpu();
  if (!e && do_dense && scalapack)
    e = subq_kernel_dense_eig_scalapack(X, &a.kernel, (size_t)k, 0, 0, 64, lam, NULL, &best,
                                        &dnrm, &dense_evals);
  else if (!e && do_dense)
    e = subq_kernel_dense_eig(X, &a.kernel, (size_t)k, lam, NULL, &best, &dnrm);
  if (!e && do_dense) nrm = dnrm;
  if (!e) cpu_dense = subq_kde_job_cpu_sum(ctx->comm, c0);
  if (!e) e = subq_time_max(ctx->comm, subq_wtime() - t0, &t_dense);
  if (!e) subq_job_progress(ctx, "steps (kde-setup, lra, uniform, error, dense)", 5, 5, ctx->t_start);
  if (!e) e = subq_job_phase(ctx, "error", t_err);
  if (!e) e = subq_job_phase(ctx, "dense", t_dense);
  double mem = subq_kde_job_peak_mem(ctx->comm);
  if (!e && ctx->rank == 0) {
    subq_json_t *j = ctx->summary;
    double n2 = (double)X->n * (double)X->n;
    uint64_t kev = st.kde_evals + st.sample_evals;
    e = subq_kde_job_report_common(ctx, &a, X, "kernel-lra");
    if (!e) e = subq_json_int(j, "rank", k);
    if (!e) e = subq_json_int(j, "samples", s);
    if (!e) e = subq_json_int(j, "rank_used", (long long)st.rank);
    if (!e && do_unif) e = subq_json_int(j, "uniform_rank_used", (long long)su.rank);
    if (!e) e = subq_json_str(j, "estimator", subq_kde_type_name(type));
    if (!e) e = subq_json_int(j, "kde_samples", ks);
    if (!e) e = subq_json_int(j, "kde_groups", kg);
    if (!e) e = subq_json_num(j, "err_fro", err);
    if (!e) e = subq_json_num(j, "best_rank_k_err_fro", best);
    if (!e) e = subq_json_num(j, "uniform_err_fro", uerr);
    if (!e) e = subq_json_str(j, "error_method", exact_err ? "exact-blocked" : "sampled-rows");
    if (!e) e = subq_json_int(j, "error_rows", exact_err ? (long long)X->n : erows);
    if (!e) e = subq_json_num(j, "err_fro_se", err_se);
    if (!e) e = subq_json_num(j, "uniform_err_fro_se", uerr_se);
    if (!e) e = subq_json_num(j, "error_time_s", t_err);
    if (!e) e = subq_json_str(j, "dense_method", do_dense ? (scalapack ? subq_scalapack_eig_last_routine() : "lapack-dsyevr") : "none");
    if (!e) e = subq_json_num(j, "norm_fro", nrm);
    if (!e) e = subq_json_int(j, "kernel_evals", (long long)kev);
    if (!e) e = subq_json_int(j, "kde_kernel_evals", (long long)st.kde_evals);
    if (!e) e = subq_json_int(j, "uniform_kernel_evals", (long long)su.sample_evals);
    if (!e) e = subq_json_num(j, "dense_kernel_evals", n2);
    if (!e) e = subq_json_num(j, "time_s", st.time_s + t_setup);
    if (!e) e = subq_json_num(j, "uniform_time_s", do_unif ? su.time_s : NAN);
    if (!e) e = subq_json_num(j, "dense_time_s", do_dense ? t_dense : NAN);
    if (!e) e = subq_json_num(j, "peak_mem_bytes", mem);
    if (!e) e = subq_json_num(j, "cpu_s", cpu_lra);
    if (!e) e = subq_json_num(j, "uniform_cpu_s", do_unif ? cpu_unif : NAN);
    if (!e) e = subq_json_num(j, "dense_cpu_s", do_dense ? cpu_dense : NAN);
    subq_job_table(ctx, "rank, samples", "%ld, %ld (row norms: %s KDE of k^2)", k, s, subq_kde_type_name(type));
    if (st.rank < (size_t)k)
      subq_job_table(ctx, "rank used", "%zu: the sampled rows span fewer than k directions", st.rank);
    subq_job_table(ctx, "||K - KVV^T||_F", "%.6g +- %.2g (%s; relative to ||K||_F: %.4g)", err, err_se,
                   exact_err ? "exact, blocked" : "sampled rows", err / nrm);
    subq_job_table(ctx, "best rank-k", "%.6g%s", best, do_dense ? "" : " (n > --dense-max)");
    subq_job_table(ctx, "uniform sampling", "%.6g +- %.2g", uerr, uerr_se);
    subq_job_table(ctx, "kernel evals", "%.4g = %.4g KDE + %.4g rows (%.4f of n^2)", (double)kev,
                   (double)st.kde_evals, (double)st.sample_evals, (double)kev / n2);
    subq_job_table(ctx, "time", "%.3f s (uniform %.3f s, dense %.3f s)", st.time_s + t_setup,
                   su.time_s, t_dense);
    subq_job_table(ctx, "CPU time (all ranks)", "%.3f s (uniform %.3f s, dense %.3f s)", cpu_lra, cpu_unif, cpu_dense);
    subq_job_table(ctx, "peak memory", "%.1f MiB per rank (max)", mem / 1048576.0);
  }
  e = subq_error_agree(ctx->comm, e);
  subq_kde_destroy(&o);
  subq_free(&V);
  subq_free(&U);
  subq_free(&lam);
  subq_dmat_destroy(&X);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : 0;
}

const subq_job_t subq_job_kernel_lra = {
    "kernel-lra", "Kernel low-rank approximation by KDE row-norm sampling vs optimal and uniform.",
    opts_, run_, 0};
