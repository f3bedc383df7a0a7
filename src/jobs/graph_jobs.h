/* Shared pieces of the kernel-graph jobs (sparsify, kernel-solve, cluster): the
 * sparsifier options and its construction from them. */
#ifndef SUBQ_JOBS_GRAPH_JOBS_H
#define SUBQ_JOBS_GRAPH_JOBS_H

#include "jobs/kde_jobs.h"
#include "subq/graph.h"

#define SUBQ_GRAPH_JOB_SPARSIFIER_OPTS                                                      \
  {"eps", SUBQ_OPT_REAL, "0.5", "", "target spectral error eps in (0, 1)", NULL, 0, 0},   \
  {"oversample", SUBQ_OPT_REAL, "0.5", "", "C in T = C n ln(n) / eps^2 edge samples", NULL, 1e-9, 1e9}, \
  {"edges", SUBQ_OPT_INT, "0", "samples", "edge samples T (0 = derived from --eps and --oversample)", NULL, 0, 4e9}, \
  {"estimator", SUBQ_OPT_CHOICE, "sampling", "", "KDE oracle for degrees and the sampling tree", "exact|sampling|hbe", 0, 0}, \
  {"kde-samples", SUBQ_OPT_INT, "8", "per group", "KDE samples per tree node (sampling; 8: fewest evaluations at spectral error <= 0.5, results/graph) or tables (hbe) per group", NULL, 1, 4e9}, \
  {"kde-groups", SUBQ_OPT_INT, "1", "", "KDE groups (median of means)", NULL, 1, 4096},  \
  {"leaf", SUBQ_OPT_INT, "32", "points", "leaf size of the KDE tree (exact below)", NULL, 1, 1e9}

/* Collective: create and set up the sparsifier from the options (eps checked here so the
 * message names the option). */
static inline int subq_graph_job_sparsifier(subq_job_ctx_t *ctx, const subq_dmat_t *X,
                                            const subq_kernel_t *kernel, subq_sparsifier_t **sp) {
  double eps, C;
  long T, ks, kg, leaf;
  const char *est;
  subq_kde_type_t type;
  SUBQ_CALL(subq_opts_real(ctx->opts, "eps", &eps));
  SUBQ_CALL(subq_opts_real(ctx->opts, "oversample", &C));
  SUBQ_CALL(subq_opts_int(ctx->opts, "edges", &T));
  SUBQ_CALL(subq_opts_string(ctx->opts, "estimator", &est));
  SUBQ_CALL(subq_opts_int(ctx->opts, "kde-samples", &ks));
  SUBQ_CALL(subq_opts_int(ctx->opts, "kde-groups", &kg));
  SUBQ_CALL(subq_opts_int(ctx->opts, "leaf", &leaf));
  SUBQ_CALL(subq_kde_type_parse(est, &type));
  SUBQ_CHECK(eps > 0 && eps < 1, SUBQ_ERR_ARG, "--eps must be in (0, 1), got %g", eps);
  SUBQ_CALL(subq_sparsifier_create(ctx->comm, sp));
  int e = subq_sparsifier_set_eps(*sp, eps, C);
  if (!e) e = subq_sparsifier_set_samples(*sp, (size_t)T);
  if (!e) e = subq_sparsifier_set_kde(*sp, type, (size_t)ks, (size_t)kg, (size_t)leaf);
  if (!e) e = subq_sparsifier_set_seed(*sp, ctx->seed);
  if (!e) e = subq_sparsifier_setup(*sp, X, kernel);
  if (e) subq_sparsifier_destroy(sp);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : SUBQ_OK;
}

/* Rank 0: the sparsifier's figures. */
static inline int subq_graph_job_report_sparsifier(subq_job_ctx_t *ctx,
                                                   const subq_sparsifier_stats_t *st) {
  subq_json_t *j = ctx->summary;
  SUBQ_CALL(subq_json_int(j, "samples", (long long)st->samples));
  SUBQ_CALL(subq_json_int(j, "edges", (long long)st->edges));
  SUBQ_CALL(subq_json_num(j, "dense_edges", st->dense_edges));
  SUBQ_CALL(subq_json_num(j, "reduction", st->dense_edges / (double)st->edges));
  SUBQ_CALL(subq_json_int(j, "components", (long long)st->components));
  SUBQ_CALL(subq_json_int(j, "kernel_evals", (long long)(st->kde_evals + st->sample_evals)));
  SUBQ_CALL(subq_json_int(j, "kde_kernel_evals", (long long)st->kde_evals));
  SUBQ_CALL(subq_json_int(j, "sample_kernel_evals", (long long)st->sample_evals));
  SUBQ_CALL(subq_json_num(j, "sparsify_time_s", st->time_s));
  SUBQ_CALL(subq_json_num(j, "assemble_time_s", st->assemble_s));
  subq_job_table(ctx, "sparsifier", "%zu edges of %.0f (%.1fx smaller), %zu samples, %zu component(s)",
                 st->edges, st->dense_edges, st->dense_edges / (double)st->edges, st->samples,
                 st->components);
  subq_job_table(ctx, "kernel evals", "%.4g = %.4g degrees + %.4g sampling (%.3f of n^2)",
                 (double)(st->kde_evals + st->sample_evals), (double)st->kde_evals,
                 (double)st->sample_evals,
                 (double)(st->kde_evals + st->sample_evals) / ((double)st->n * (double)st->n));
  return SUBQ_OK;
}
#endif
