/* subq kernel-lra-bench: the low-rank benchmark of BIKSZ (arXiv 2212.00642, Section 7:
 * kernel evaluations of KDE row-norm sampling vs baselines at equal error).  For every
 * row count s in --sweep and --reps seeds it builds the rank-k approximation from rows
 * sampled (a) uniformly, (b) by squared row norms from the KDE oracle with --kde-samples
 * per query, (c) the same with --kde-samples-hi (less estimator noise), (d) by the exact
 * squared row norms (an oracle: n^2 evaluations, not counted as a method cost; it separates
 * the noise of the estimates from the method itself).  All approximations' errors are exact,
 * computed in one blocked pass over K (subq_kernel_lra_error_multi).  The row-norm
 * estimates' relative error against the exact norms is reported too.  Evaluations at equal
 * error are interpolated from the curves by results/kde/run.sh. */
#include <math.h>
#include <stdlib.h>

#include "jobs/kde_jobs.h"

enum { M_UNIF, M_KDE, M_KDE_HI, M_EXACT, NM };
static const char *const mname_[NM] = {"uniform", "kde", "kde_hi", "exact_norms"};

static const subq_opt_spec_t opts_[] = {
    SUBQ_KDE_JOB_KERNEL_OPTS,
    {"rank", SUBQ_OPT_INT, "10", "", "target rank k", NULL, 1, 1e4},
    {"sweep", SUBQ_OPT_STRING, "50,100,200,400,800", "rows", "comma-separated sampled row counts s", NULL, 0, 0},
    {"reps", SUBQ_OPT_INT, "3", "", "seeds per (method, s); errors are averaged", NULL, 1, 100},
    {"kde-samples", SUBQ_OPT_INT, "64", "per query", "KDE (sampling) samples per row-norm query, method kde", NULL, 1, 1e7},
    {"kde-samples-hi", SUBQ_OPT_INT, "1024", "per query", "KDE samples per query, method kde_hi", NULL, 1, 1e7},
    {"estimator", SUBQ_OPT_CHOICE, "sampling", "", "KDE oracle of methods kde and kde_hi (deann: near-neighbour clusters exactly + sampling; its setup evaluations are counted)", "sampling|hbe|deann", 0, 0},
    {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};

/* Collective: squared row norms of K by a KDE oracle of k^2 of `type` with m samples (one
 * group), raised to the diagonal term 1 (as subq_kernel_lra does); exact when m == 0.
 * *evals: the queries' kernel evaluations plus the oracle's setup evaluations (DEANN). */
static int row_norms_(subq_job_ctx_t *ctx, const subq_dmat_t *X, const subq_kernel_t *k2,
                      subq_kde_type_t type, size_t m, double *w, uint64_t *evals) {
  subq_kde_t *o = NULL;
  double sev = 0;
  int e = subq_kde_create(ctx->comm, m ? type : SUBQ_KDE_EXACT, &o);
  if (!e) e = subq_kde_set_kernel(o, *k2);
  if (!e && m) e = subq_kde_set_samples(o, m, 1);
  if (!e) e = subq_kde_set_seed(o, ctx->seed + m);
  if (!e) e = subq_kde_setup(o, X);
  if (!e) sev = (double)subq_kde_local_evals(o);
  if (!e && MPI_Allreduce(MPI_IN_PLACE, &sev, 1, MPI_DOUBLE, MPI_SUM, ctx->comm) != MPI_SUCCESS)
    e = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce of the setup evaluations failed");
  if (!e) e = subq_kde_query_points(o, 0.0, w, evals);
  if (!e && evals) *evals += (uint64_t)sev;
  for (size_t i = 0; !e && i < X->n; i++) w[i] = fmax(w[i], 1.0);
  subq_kde_destroy(&o);
  return e;
}

static int run_(subq_job_ctx_t *ctx) {
  subq_kde_job_data_t a;
  subq_dmat_t *X = NULL;
  SUBQ_CALL(subq_kde_job_load(ctx, &a, &X));
  const char *sweep;
  long k, reps, ks, ksh;
  int e = subq_opts_int(ctx->opts, "rank", &k);
  if (!e) e = subq_opts_int(ctx->opts, "reps", &reps);
  if (!e) e = subq_opts_int(ctx->opts, "kde-samples", &ks);
  if (!e) e = subq_opts_int(ctx->opts, "kde-samples-hi", &ksh);
  if (!e) e = subq_opts_string(ctx->opts, "sweep", &sweep);
  double sv[64];
  size_t ns = 0;
  for (const char *c = sweep; !e && c && *c;) {
    char *end;
    long v = strtol(c, &end, 10);
    if (end == c || v < k || ns == 64) {
      e = SUBQ_FAIL(SUBQ_ERR_ARG, "--sweep must list up to 64 row counts >= rank %ld, got '%s'", k, sweep);
      break;
    }
    sv[ns++] = (double)v;
    c = *end == ',' ? end + 1 : end;
  }
  if (!e && ns == 0) e = SUBQ_FAIL(SUBQ_ERR_ARG, "--sweep is empty");
  e = subq_error_agree(ctx->comm, e);
  const size_t n = X->n, nv = NM * ns * (size_t)reps, kk = (size_t)k;
  double *w[NM] = {NULL}, *V = NULL, *Vt = NULL, *err = NULL, nrm = 0;
  uint64_t wev[NM] = {0};
  double wt[NM] = {0};
  for (int mth = 1; !e && mth < NM; mth++) e = SUBQ_ALLOC(w[mth], n);
  if (!e) e = subq_malloc(X->nloc + 1, nv * kk * sizeof(double), &V);
  if (!e) e = subq_malloc(X->nloc + 1, kk * sizeof(double), &Vt);
  if (!e) e = SUBQ_ALLOC(err, nv);
  e = subq_error_agree(ctx->comm, e);
  subq_kernel_t k2 = subq_kernel_squared(&a.kernel);
  const size_t msamp[NM] = {0, (size_t)ks, (size_t)ksh, 0};
  const char *est_name = NULL;
  subq_kde_type_t type = SUBQ_KDE_SAMPLING;
  if (!e) e = subq_opts_string(ctx->opts, "estimator", &est_name);
  if (!e) e = subq_kde_type_parse(est_name, &type);
  for (int mth = 1; !e && mth < NM; mth++) {
    double t0 = subq_wtime();
    e = row_norms_(ctx, X, &k2, type, msamp[mth], w[mth], &wev[mth]);
    if (!e) e = subq_time_max(ctx->comm, subq_wtime() - t0, &wt[mth]);
  }
  /* relative error of the estimated squared row norms against the exact ones */
  double nerr[NM] = {0}, nmax[NM] = {0};
  for (int mth = 1; !e && mth < M_EXACT; mth++)
    for (size_t i = 0; i < n; i++) {
      double r = fabs(w[mth][i] - w[M_EXACT][i]) / w[M_EXACT][i];
      nerr[mth] += r / (double)n;
      nmax[mth] = fmax(nmax[mth], r);
    }
  double tl = 0, t0 = subq_wtime();
  for (int mth = 0; !e && mth < NM; mth++)
    for (size_t si = 0; !e && si < ns; si++)
      for (long r = 0; !e && r < reps; r++) {
        size_t v = ((size_t)mth * ns + si) * (size_t)reps + (size_t)r;
        uint64_t seed = ctx->seed + 1000003ull * (uint64_t)(r + 1);
        e = mth == M_UNIF ? subq_kernel_lra(X, &a.kernel, NULL, kk, (size_t)sv[si], seed, Vt, NULL)
                          : subq_kernel_lra_weights(X, &a.kernel, w[mth], kk, (size_t)sv[si], seed, Vt, NULL);
        for (size_t i = 0; !e && i < X->nloc; i++)
          memcpy(V + i * nv * kk + v * kk, Vt + i * kk, kk * sizeof *V);
      }
  if (!e) e = subq_time_max(ctx->comm, subq_wtime() - t0, &tl);
  double te = 0;
  t0 = subq_wtime();
  if (!e) e = subq_kernel_lra_error_multi(X, &a.kernel, V, kk, nv, err, &nrm);
  if (!e) e = subq_time_max(ctx->comm, subq_wtime() - t0, &te);
  if (!e) e = subq_job_phase(ctx, "lra", tl);
  if (!e) e = subq_job_phase(ctx, "error", te);
  double mem = subq_kde_job_peak_mem(ctx->comm);
  if (!e && ctx->rank == 0) {
    subq_json_t *j = ctx->summary;
    e = subq_kde_job_report_common(ctx, &a, X, "kernel-lra-bench");
    if (!e) e = subq_json_str(ctx->summary, "estimator", subq_kde_type_name(type));
    if (!e) e = subq_json_int(j, "rank", k);
    if (!e) e = subq_json_int(j, "reps", reps);
    if (!e) e = subq_json_num(j, "norm_fro", nrm);
    if (!e) e = subq_json_num(j, "dense_kernel_evals", (double)n * (double)n);
    if (!e) e = subq_json_num_array(j, "samples", sv, ns);
    if (!e) e = subq_json_num(j, "peak_mem_bytes", mem);
    for (int mth = 0; !e && mth < NM; mth++) {
      double me[64], sd[64], ev[64];
      for (size_t si = 0; si < ns; si++) {
        double s1 = 0, s2 = 0;
        for (long r = 0; r < reps; r++) {
          double x = err[((size_t)mth * ns + si) * (size_t)reps + (size_t)r];
          s1 += x;
          s2 += x * x;
        }
        me[si] = s1 / (double)reps;
        sd[si] = reps > 1 ? sqrt(fmax(0.0, (s2 - s1 * me[si]) / (double)(reps - 1))) : 0;
        ev[si] = sv[si] * (double)n + (mth == M_EXACT ? 0.0 : (double)wev[mth]);
      }
      e = subq_json_begin(j, mname_[mth]);
      if (!e) e = subq_json_num_array(j, "err_fro", me, ns);
      if (!e) e = subq_json_num_array(j, "err_fro_sd", sd, ns);
      if (!e) e = subq_json_num_array(j, "kernel_evals", ev, ns);
      if (!e) e = subq_json_num(j, "norm_evals", (double)wev[mth]);
      if (!e) e = subq_json_num(j, "norm_time_s", wt[mth]);
      if (!e && mth != M_UNIF && mth != M_EXACT) e = subq_json_num(j, "norm_mean_rel_err", nerr[mth]);
      if (!e && mth != M_UNIF && mth != M_EXACT) e = subq_json_num(j, "norm_max_rel_err", nmax[mth]);
      if (!e) e = subq_json_end(j);
      for (size_t si = 0; si < ns; si++)
        subq_job_table(ctx, mname_[mth], "s = %4.0f: err_F %.5g +- %.2g (%.4g of ||K||_F), evals %.4g",
                       sv[si], me[si], sd[si], me[si] / nrm, ev[si]);
    }
    subq_job_table(ctx, "row-norm estimates", "mean rel. error %.3g (kde, %ld samples), %.3g (kde_hi, %ld)",
                   nerr[M_KDE], ks, nerr[M_KDE_HI], ksh);
  }
  e = subq_error_agree(ctx->comm, e);
  for (int mth = 0; mth < NM; mth++) subq_free(&w[mth]);
  subq_free(&V);
  subq_free(&Vt);
  subq_free(&err);
  subq_dmat_destroy(&X);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : 0;
}

const subq_job_t subq_job_kernel_lra_bench = {
    "kernel-lra-bench",
    "Low-rank benchmark: kernel evaluations vs error for uniform, KDE and exact row-norm sampling.",
    opts_, run_, 0};
