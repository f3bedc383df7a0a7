/* subq kernel-eig: top eigenvalue and eigenvector of the kernel matrix by the kernel
 * noisy power method with sampled matvecs (Backurs-Indyk-Musco-Wagner 2021, as used by
 * BIKSZ arXiv 2212.00642; include/subq/kde.h) against the dense ScaLAPACK pdsyevr/pdsyevx
 * reference (kernel matrix built block-cyclic, n <= --dense-max; LAPACK dsyevr on rank 0
 * with --dense=lapack).  Above --dense-max the estimate is checked by its residual
 * ||K v - lambda v|| estimated on --check-rows uniformly sampled rows (n kernel
 * evaluations each): for symmetric K some eigenvalue lies within the residual of lambda. */
#include <math.h>

#include "jobs/kde_jobs.h"

#define ALIGN_VECS 32 /* top eigenpairs of the dense reference, for a multiple lambda_1 */

/* Collective: ||K v - lam v||_2 estimated on r rows drawn uniformly (stream 'KER'):
 * sqrt(n/r sum_t ((K v)_i - lam v_i)^2), v local (nloc).  r n kernel evaluations. */
static int residual_sampled_(const subq_dmat_t *X, const subq_kernel_t *ker, const double *v,
                             double lam, size_t r, uint64_t seed, double *res) {
  const size_t n = X->n, d = X->d, nl = X->nloc;
  size_t *idx = NULL;
  double *Y = NULL, *Kb = NULL, *kv = NULL;
  int e = SUBQ_ALLOC(idx, r);
  if (!e) e = subq_malloc(r, d * sizeof(double), &Y);
  if (!e) e = subq_malloc(64, (nl ? nl : 1) * sizeof(double), &Kb);
  if (!e) e = SUBQ_ZALLOC(kv, 2 * r);
  e = subq_error_agree(X->comm, e);
  if (!e) {
    for (size_t t = 0; t < r; t++) idx[t] = subq_rng_below(seed, 0x4B4552ull, t, n);
    e = subq_kde_gather_rows(X, r, idx, Y);
  }
  for (size_t t0 = 0; !e && nl && t0 < r; t0 += 64) {
    size_t tb = t0 + 64 < r ? 64 : r - t0;
    e = subq_kernel_block(ker, tb, nl, d, Y + t0 * d, NULL, (const double *)X->data, NULL, Kb);
    for (size_t t = 0; !e && t < tb; t++) {
      double s = 0;
      for (size_t j = 0; j < nl; j++) s += Kb[t * nl + j] * v[j];
      kv[t0 + t] = s;
      size_t i = idx[t0 + t];
      if (i >= X->r0 && i < X->r0 + nl) kv[r + t0 + t] = v[i - X->r0];
    }
  }
  e = subq_error_agree(X->comm, e);
  if (!e && MPI_Allreduce(MPI_IN_PLACE, kv, (int)(2 * r), MPI_DOUBLE, MPI_SUM, X->comm) != MPI_SUCCESS)
    e = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce of the sampled residual failed");
  if (!e) {
    double s = 0;
    for (size_t t = 0; t < r; t++) s += (kv[t] - lam * kv[r + t]) * (kv[t] - lam * kv[r + t]);
    *res = sqrt((double)n / (double)r * s);
  }
  subq_free(&idx);
  subq_free(&Y);
  subq_free(&Kb);
  subq_free(&kv);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : 0;
}

static const subq_opt_spec_t opts_[] = {
    SUBQ_KDE_JOB_KERNEL_OPTS,
    {"columns", SUBQ_OPT_INT, "50", "columns", "sampled columns per matvec m (n m kernel evaluations each)", NULL, 1, 1e7},
    {"iters", SUBQ_OPT_INT, "10", "", "power iterations", NULL, 1, 1e5},
    SUBQ_KDE_JOB_DENSE_OPTS("16", "pdsyevr/pdsyevx"),
    {"check-rows", SUBQ_OPT_INT, "500", "rows", "rows sampled for the residual check when n > --dense-max", NULL, 2, 1e6},
    {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};

static int run_(subq_job_ctx_t *ctx) {
  subq_kde_job_data_t a;
  subq_dmat_t *X = NULL;
  SUBQ_CALL(subq_kde_job_load(ctx, &a, &X));
  long m, iters, dmax, crows;
  const char *dense_name;
  int e = subq_opts_int(ctx->opts, "columns", &m);
  if (!e) e = subq_opts_int(ctx->opts, "iters", &iters);
  if (!e) e = subq_opts_int(ctx->opts, "dense-max", &dmax);
  if (!e) e = subq_opts_int(ctx->opts, "check-rows", &crows);
  if (!e) e = subq_opts_string(ctx->opts, "dense", &dense_name);
  long m_asked = m;
  if (!e && (size_t)m > X->n) {
    m = (long)X->n; /* more sampled columns than points costs more than the exact matvec */
    subq_log(SUBQ_LOG_WARN, "kernel-eig: --columns=%ld > n = %zu points; capped at %ld (n^2 kernel "
                    "evaluations per matvec, as many as an exact product, but still sampled columns)",
             m_asked, X->n, m);
  }
  /* The dense reference returns the top kd eigenpairs so that a multiple top eigenvalue
   * (e.g. K = I when the bandwidth is tiny, or pairs of duplicate points) is handled: the
   * alignment is the norm of v's projection onto the top eigenspace, those eigenvectors
   * whose eigenvalue is within 1e-9 lambda_1 of lambda_1 (a lower bound when all kd are). */
  const size_t kd = X->n < ALIGN_VECS ? X->n : ALIGN_VECS;
  double *v = NULL, *ve = NULL, *lexv = NULL, lam = 0, lex = NAN, al = NAN, t_est = 0, t_dense = 0;
  size_t mult = 0;
  uint64_t ev = 0;
  const int do_dense = X->n <= (size_t)dmax;
  if (!e) e = SUBQ_ALLOC(v, X->nloc + 1);
  const int scalapack = !e && strcmp(dense_name, "scalapack") == 0;
  if (!e && do_dense) e = subq_malloc((scalapack ? X->nloc : X->n) + 1, kd * sizeof(double), &ve);
  if (!e && do_dense) e = SUBQ_ALLOC(lexv, kd);
  e = subq_error_agree(ctx->comm, e);
  double t0 = subq_wtime(), c0 = subq_kde_job_cpu(), cpu_est = 0, cpu_dense = 0;
  if (!e) e = subq_kernel_top_eig(X, &a.kernel, (size_t)m, (size_t)iters, ctx->seed, &lam, v, &ev);
  if (!e) e = subq_time_max(ctx->comm, subq_wtime() - t0, &t_est);
  if (!e) cpu_est = subq_kde_job_cpu_sum(ctx->comm, c0);
  if (!e) subq_job_progress(ctx, "steps (power, dense, check)", 1, 3, ctx->t_start);
  c0 = subq_kde_job_cpu();
  t0 = subq_wtime();
  if (!e && do_dense && scalapack)
    e = subq_kernel_dense_eig_scalapack(X, &a.kernel, kd, 0, 0, 64, lexv, ve, NULL, NULL, NULL);
  else if (!e && do_dense)
    e = subq_kernel_dense_eig(X, &a.kernel, kd, lexv, ve, NULL, NULL);
  if (!e && do_dense) {
    lex = lexv[0];
    while (mult < kd && lexv[mult] >= lex - 1e-9 * fabs(lex)) mult++;
  }
  if (!e) e = subq_time_max(ctx->comm, subq_wtime() - t0, &t_dense);
  if (!e) cpu_dense = subq_kde_job_cpu_sum(ctx->comm, c0);
  if (!e) subq_job_progress(ctx, "steps (power, dense, check)", 2, 3, ctx->t_start);
  double res = NAN, t_check = 0;
  t0 = subq_wtime();
  if (!e && !do_dense) e = residual_sampled_(X, &a.kernel, v, lam, (size_t)crows, ctx->seed + 1, &res);
  if (!e) e = subq_time_max(ctx->comm, subq_wtime() - t0, &t_check);
  if (!e) subq_job_progress(ctx, "steps (power, dense, check)", 3, 3, ctx->t_start);
  if (!e && do_dense) {
    double s[ALIGN_VECS] = {0};
    for (size_t j = 0; j < mult; j++)
      for (size_t i = 0; i < X->nloc; i++) s[j] += v[i] * ve[((scalapack ? 0 : X->r0) + i) * kd + j];
    if (MPI_Allreduce(MPI_IN_PLACE, s, (int)mult, MPI_DOUBLE, MPI_SUM, ctx->comm) != MPI_SUCCESS)
      e = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce of the alignment failed");
    double a2 = 0;
    for (size_t j = 0; j < mult; j++) a2 += s[j] * s[j];
    al = sqrt(a2);
  }
  if (!e) e = subq_job_phase(ctx, "power", t_est);
  if (!e) e = subq_job_phase(ctx, "dense", t_dense);
  double mem = subq_kde_job_peak_mem(ctx->comm);
  if (!e && ctx->rank == 0) {
    subq_json_t *j = ctx->summary;
    double n2 = (double)X->n * (double)X->n;
    e = subq_kde_job_report_common(ctx, &a, X, "kernel-eig");
    if (!e) e = subq_json_int(j, "columns", m);
    if (!e) e = subq_json_int(j, "columns_requested", m_asked);
    if (!e) e = subq_json_int(j, "iters", iters);
    if (!e) e = subq_json_num(j, "lambda_est", lam);
    if (!e) e = subq_json_num(j, "lambda_exact", lex);
    if (!e) e = subq_json_num(j, "rel_err", fabs(lam - lex) / lex);
    if (!e) e = subq_json_num(j, "alignment", al);
    if (!e) e = subq_json_int(j, "lambda_multiplicity", (long long)mult);
    if (!e) e = subq_json_bool(j, "alignment_lower_bound", do_dense && mult == kd && kd < X->n);
    if (!e) e = subq_json_int(j, "kernel_evals", (long long)ev);
    if (!e) e = subq_json_num(j, "dense_kernel_evals", n2);
    if (!e) e = subq_json_num(j, "time_s", t_est);
    if (!e) e = subq_json_num(j, "dense_time_s", do_dense ? t_dense : NAN);
    if (!e) e = subq_json_num(j, "peak_mem_bytes", mem);
    if (!e) e = subq_json_num(j, "cpu_s", cpu_est);
    if (!e) e = subq_json_num(j, "dense_cpu_s", do_dense ? cpu_dense : NAN);
    if (!e) e = subq_json_str(j, "dense_method", do_dense ? (scalapack ? subq_scalapack_eig_last_routine() : "lapack-dsyevr") : "none");
    if (!e) e = subq_json_num(j, "residual_sampled", res);
    if (!e) e = subq_json_num(j, "residual_rel", res / lam);
    if (!e) e = subq_json_int(j, "check_rows", do_dense ? 0 : crows);
    if (!e) e = subq_json_num(j, "check_time_s", t_check);
    if (m != m_asked)
      subq_job_table(ctx, "columns", "%ld (--columns=%ld capped at n)", m, m_asked);
    if (do_dense) {
      subq_job_table(ctx, "lambda_1", "%.8g (exact %.8g, rel. error %.3g)", lam, lex, fabs(lam - lex) / lex);
      subq_job_table(ctx, "eigenvector alignment", "%.6f%s", al,
                     mult > 1 ? " (with the top eigenspace: lambda_1 is multiple)" : "");
    } else {
      subq_job_table(ctx, "lambda_1", "%.8g (exact: skipped, n = %zu > --dense-max = %ld)", lam,
                     X->n, dmax);
      subq_job_table(ctx, "eigenvector alignment", "skipped (n > --dense-max)");
    }
    subq_job_table(ctx, "kernel evals", "%.4g (%.4f of n^2)", (double)ev, (double)ev / n2);
    if (!do_dense)
      subq_job_table(ctx, "residual", "||Kv - lambda v|| ~ %.4g (%.3g of lambda; %ld sampled rows)", res, res / lam, crows);
    subq_job_table(ctx, "time", "%.3f s (dense %.3f s)", t_est, t_dense);
    subq_job_table(ctx, "CPU time (all ranks)", "%.3f s (dense %.3f s)", cpu_est, cpu_dense);
    subq_job_table(ctx, "peak memory", "%.1f MiB per rank (max)", mem / 1048576.0);
  }
  e = subq_error_agree(ctx->comm, e);
  subq_free(&v);
  subq_free(&ve);
  subq_free(&lexv);
  subq_dmat_destroy(&X);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : 0;
}

const subq_job_t subq_job_kernel_eig = {
    "kernel-eig", "Top eigenpair of a kernel matrix by the kernel noisy power method vs dense ScaLAPACK.",
    opts_, run_, 0};
