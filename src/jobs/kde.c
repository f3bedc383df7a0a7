/* subq kde: KDE estimates at query points (data rows drawn with the seed) by an
 * estimator (sampling | hbe | exact) against the exact blocked KDE: mean/max relative
 * error, kernel evaluations per query, time ratio.  BIKSZ's oracle (arXiv 2212.00642),
 * HBE of Charikar-Siminelakis 2017 (include/subq/kde.h). */
#include <math.h>

#include "jobs/kde_jobs.h"

static const subq_opt_spec_t opts_[] = {
    SUBQ_KDE_JOB_KERNEL_OPTS,
    {"queries", SUBQ_OPT_INT, "500", "points", "number of query points: data rows drawn uniformly with the seed", NULL, 1, 1e8},
    {"estimator", SUBQ_OPT_CHOICE, "sampling", "", "KDE oracle to evaluate (deann: near-neighbour clusters exactly + sampling, for small densities)", "exact|sampling|hbe|deann", 0, 0},
    {"eps", SUBQ_OPT_REAL, "0.1", "", "target relative error (sizes the defaults)", NULL, 1e-6, 0.999999},
    {"delta", SUBQ_OPT_REAL, "0.1", "", "failure probability per query", NULL, 1e-12, 0.999999},
    {"tau", SUBQ_OPT_REAL, "0.01", "", "assumed lower bound on KDE(y)/n", NULL, 1e-12, 1},
    {"samples", SUBQ_OPT_INT, "0", "per group", "samples (sampling) or hash tables (hbe) per group; 0 = derived from eps, tau (exact instead when that needs >= n evaluations per query)", NULL, 0, 4e9},
    {"groups", SUBQ_OPT_INT, "0", "", "groups for the median of means; 0 = ceil(8 ln(1/delta))", NULL, 0, 4096},
    {"clusters", SUBQ_OPT_INT, "0", "", "deann: IVF clusters (0 = ceil(sqrt(n)))", NULL, 0, 1e9},
    {"probe", SUBQ_OPT_INT, "1", "", "deann: nearest clusters summed exactly per query", NULL, 1, 1e9},
    {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};

static int run_(subq_job_ctx_t *ctx) {
  subq_kde_job_data_t a;
  subq_dmat_t *X = NULL;
  SUBQ_CALL(subq_kde_job_load(ctx, &a, &X));
  const char *est_name;
  long q, samples, groups, clusters, probe;
  double eps, delta, tau;
  subq_kde_type_t type;
  int e = subq_opts_string(ctx->opts, "estimator", &est_name);
  if (!e) e = subq_opts_int(ctx->opts, "queries", &q);
  if (!e) e = subq_opts_int(ctx->opts, "samples", &samples);
  if (!e) e = subq_opts_int(ctx->opts, "groups", &groups);
  if (!e) e = subq_opts_int(ctx->opts, "clusters", &clusters);
  if (!e) e = subq_opts_int(ctx->opts, "probe", &probe);
  if (!e) e = subq_opts_real(ctx->opts, "eps", &eps);
  if (!e) e = subq_opts_real(ctx->opts, "delta", &delta);
  if (!e) e = subq_opts_real(ctx->opts, "tau", &tau);
  if (!e) e = subq_kde_type_parse(est_name, &type);
  if (!e && (size_t)q > X->n)
    e = SUBQ_FAIL(SUBQ_ERR_ARG,
                  "--queries=%ld exceeds the %zu data rows the queries are drawn from; use "
                  "--queries <= %zu or more data",
                  q, X->n, X->n);
  subq_kde_t *ex = NULL, *ap = NULL;
  double *Y = NULL, *vex = NULL, *vap = NULL;
  size_t *idx = NULL;
  if (!e) e = SUBQ_ALLOC(idx, q);
  if (!e) e = subq_malloc((size_t)q, X->d * sizeof(double), &Y);
  if (!e) e = SUBQ_ALLOC(vex, q);
  if (!e) e = SUBQ_ALLOC(vap, q);
  e = subq_error_agree(ctx->comm, e);
  if (!e) {
    for (long i = 0; i < q; i++) idx[i] = subq_rng_below(ctx->seed, 0x4B5159, (uint64_t)i, X->n);
    e = subq_kde_gather_rows(X, (size_t)q, idx, Y);
  }
  uint64_t ev_ex = 0, ev_ap = 0;
  double t0 = subq_wtime(), t_ex = 0, t_setup = 0, t_ap = 0;
  if (!e) e = subq_kde_create(ctx->comm, SUBQ_KDE_EXACT, &ex);
  if (!e) e = subq_kde_set_kernel(ex, a.kernel);
  if (!e) e = subq_kde_set_device(ex, ctx->device); /* the exact reference (src/cuda/kde.cu) */
  if (!e) e = subq_kde_setup(ex, X);
  if (!e) e = subq_kde_query(ex, Y, (size_t)q, vex, &ev_ex);
  if (!e) e = subq_time_max(ctx->comm, subq_wtime() - t0, &t_ex);
  if (!e) subq_job_progress(ctx, "steps (exact, setup, query)", 1, 3, ctx->t_start);
  for (long i = 0; !e && i < q; i++) /* vex is replicated: every rank decides alike */
    if (!(vex[i] > 0))
      e = SUBQ_FAIL(SUBQ_ERR_ARG,
                    "all kernel values underflow to 0 at --bandwidth=%g (exact KDE of query %ld "
                    "is %g, not > 0), so relative errors are undefined; use a larger "
                    "--bandwidth (0 = median-distance heuristic)",
                    a.kernel.h, i, vex[i]);
  t0 = subq_wtime();
  if (!e) e = subq_kde_create(ctx->comm, type, &ap);
  if (!e) e = subq_kde_set_kernel(ap, a.kernel);
  if (!e) e = subq_kde_set_accuracy(ap, eps, delta, tau);
  if (!e) e = subq_kde_set_samples(ap, (size_t)samples, (size_t)groups);
  if (!e) e = subq_kde_set_deann(ap, (size_t)clusters, (size_t)probe);
  if (!e) e = subq_kde_set_seed(ap, ctx->seed);
  if (!e) e = subq_kde_set_device(ap, ctx->device); /* used only by an exact fallback */
  if (!e) e = subq_kde_setup(ap, X);
  if (!e) e = subq_time_max(ctx->comm, subq_wtime() - t0, &t_setup);
  if (!e) subq_job_progress(ctx, "steps (exact, setup, query)", 2, 3, ctx->t_start);
  double setup_ev = ap ? (double)subq_kde_local_evals(ap) : 0;
  if (!e && MPI_Allreduce(MPI_IN_PLACE, &setup_ev, 1, MPI_DOUBLE, MPI_SUM, ctx->comm) != MPI_SUCCESS)
    e = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce of the setup evaluations failed");
  size_t clusters_used = (size_t)clusters ? ((size_t)clusters < X->n ? (size_t)clusters : X->n)
                                          : (size_t)ceil(sqrt((double)X->n));
  t0 = subq_wtime();
  if (!e) e = subq_kde_query(ap, Y, (size_t)q, vap, &ev_ap);
  if (!e) e = subq_time_max(ctx->comm, subq_wtime() - t0, &t_ap);
  if (!e) subq_job_progress(ctx, "steps (exact, setup, query)", 3, 3, ctx->t_start);
  if (!e) e = subq_job_phase(ctx, "exact", t_ex);
  if (!e) e = subq_job_phase(ctx, "setup", t_setup);
  if (!e) e = subq_job_phase(ctx, "query", t_ap);
  double mem = subq_kde_job_peak_mem(ctx->comm);
  if (!e && ctx->rank == 0) {
    double mean = 0, mx = 0, minmu = INFINITY;
    long within = 0;
    for (long i = 0; i < q; i++) {
      double r = fabs(vap[i] - vex[i]) / vex[i];
      mean += r / (double)q;
      mx = fmax(mx, r);
      within += r <= eps;
      minmu = fmin(minmu, vex[i] / (double)X->n);
    }
    subq_json_t *j = ctx->summary;
    e = subq_kde_job_report_common(ctx, &a, X, "kde");
    size_t fb = subq_kde_exact_fallback(ap);
    if (!e) e = subq_json_str(j, "estimator", subq_kde_type_name(type));
    if (!e) e = subq_json_bool(j, "used_exact", fb > 0);
    if (!e && fb) e = subq_json_num(j, "derived_evals_per_query", (double)fb);
    if (!e) e = subq_json_int(j, "queries", q);
    if (!e) e = subq_json_num(j, "eps", eps);
    if (!e) e = subq_json_num(j, "mean_rel_err", mean);
    if (!e) e = subq_json_num(j, "max_rel_err", mx);
    if (!e) e = subq_json_num(j, "frac_within_eps", (double)within / (double)q);
    if (!e) e = subq_json_num(j, "min_kde_over_n", minmu);
    if (!e) e = subq_json_num(j, "kernel_evals_per_query", (double)ev_ap / (double)q);
    if (!e) e = subq_json_num(j, "setup_kernel_evals", (double)setup_ev);
    if (!e && type == SUBQ_KDE_DEANN && !fb) {
      e = subq_json_int(j, "clusters", (long long)clusters_used);
      if (!e) e = subq_json_int(j, "probe", probe);
    }
    if (!e) e = subq_json_num(j, "exact_kernel_evals_per_query", (double)ev_ex / (double)q);
    if (!e) e = subq_json_num(j, "time_s", t_ap);
    if (!e) e = subq_json_num(j, "setup_time_s", t_setup);
    if (!e) e = subq_json_num(j, "exact_time_s", t_ex);
    if (!e) e = subq_json_num(j, "peak_mem_bytes", mem);
    if (fb)
      subq_job_table(ctx, "estimator",
                     "%s: %s would need %zu > n = %zu evaluations per query; used exact "
                     "(set --samples to force it)",
                     subq_kde_type_name(type), type == SUBQ_KDE_HBE ? "HBE tables" : "sampling",
                     fb, X->n);
    else
      subq_job_table(ctx, "estimator", "%s", subq_kde_type_name(type));
    subq_job_table(ctx, "rel. error", "mean %.4f, max %.4f, %.1f%% within eps %.3g", mean, mx,
                   100.0 * (double)within / (double)q, eps);
    subq_job_table(ctx, "kernel evals/query", "%.0f (exact %.0f, ratio %.2f)",
                   (double)ev_ap / (double)q, (double)ev_ex / (double)q,
                   (double)ev_ex / fmax(1.0, (double)ev_ap));
    if (type == SUBQ_KDE_DEANN && !fb)
      subq_job_table(ctx, "deann index", "%zu clusters, %ld probed; setup %.4g distance evaluations",
                     clusters_used, probe, setup_ev);
    subq_job_table(ctx, "time", "query %.4f s + setup %.4f s, exact %.4f s (ratio %.2f)",
                   t_ap, t_setup, t_ex, t_ex / fmax(1e-12, t_ap + t_setup));
  }
  e = subq_error_agree(ctx->comm, e);
  subq_kde_destroy(&ex);
  subq_kde_destroy(&ap);
  subq_free(&Y);
  subq_free(&vex);
  subq_free(&vap);
  subq_free(&idx);
  subq_dmat_destroy(&X);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : 0;
}

const subq_job_t subq_job_kde = {"kde", "KDE oracle (sampling|hbe) vs exact kernel density: error, kernel evaluations, time.",
                                 opts_, run_, 0};
