/* Shared pieces of the kernel-graph jobs (sparsify, kernel-solve, cluster, arboricity,
 * triangles): the sparsifier and KDE-tree options and their construction from them. */
#ifndef SUBQ_JOBS_GRAPH_JOBS_H
#define SUBQ_JOBS_GRAPH_JOBS_H

#include <math.h>

#include "jobs/kde_jobs.h"
#include "subq/graph.h"

#define SUBQ_GRAPH_JOB_SPARSIFIER_OPTS                                                      \
  {"eps", SUBQ_OPT_REAL, "0.5", "", "target spectral error eps in (0, 1)", NULL, 0, 0},   \
  {"oversample", SUBQ_OPT_REAL, "0.5", "", "C in T = C n ln(n) / eps^2 edge samples", NULL, 1e-9, 1e9}, \
  {"edges", SUBQ_OPT_INT, "0", "samples", "edge samples T (0 = derived from --eps and --oversample)", NULL, 0, 4e9}, \
  {"estimator", SUBQ_OPT_CHOICE, "sampling", "", "KDE oracle for degrees and the sampling tree", "exact|sampling|hbe", 0, 0}, \
  {"kde-samples", SUBQ_OPT_INT, "8", "per group", "KDE samples per tree node (sampling; 8: fewest evaluations at spectral error <= 0.5, results/graph) or tables (hbe) per group", NULL, 1, 4e9}, \
  SUBQ_KDE_JOB_GROUPS_OPT, SUBQ_GRAPH_JOB_LEAF_OPT

/* The KDE oracle of the degrees and of the sampling tree (arboricity, triangles: their
 * weights use the exact draw probabilities, so the estimates set only the variance; 8
 * samples per node: fewest evaluations at < 0.3% error on digits and Fashion-MNIST 3000,
 * results/graph). */
#define SUBQ_GRAPH_JOB_KDE_OPTS                                                             \
  {"estimator", SUBQ_OPT_CHOICE, "sampling", "", "KDE oracle for the degrees (source distribution) and the sampling tree (deann: one DEANN oracle per tree node, for small bandwidths)", "exact|sampling|hbe|deann", 0, 0}, \
  {"kde-samples", SUBQ_OPT_INT, "8", "per group", "KDE samples per tree node (sampling; 8: fewest evaluations at < 0.3% error at the median bandwidth, results/graph; small bandwidths: --estimator=deann --tree-mix=0.5, results/graph) or tables (hbe) per group", NULL, 1, 4e9}, \
  {"tree-mix", SUBQ_OPT_REAL, "0.02", "", "defensive mixing weight a of the tree descent in [0, 1): p_c = (1 - a) KDE share + a size share", NULL, 0, 0.999999}, \
  {"kde-probe", SUBQ_OPT_INT, "1", "clusters", "deann: nearest IVF clusters (ceil(sqrt(|node|)) per tree node) summed exactly per query", NULL, 1, 1e9}, \
  SUBQ_KDE_JOB_GROUPS_OPT, SUBQ_GRAPH_JOB_LEAF_OPT

#define SUBQ_GRAPH_JOB_LEAF_OPT                                                             \
  {"leaf", SUBQ_OPT_INT, "32", "points", "leaf size of the KDE tree (exact below)", NULL, 1, 1e9}

/* The options of SUBQ_GRAPH_JOB_KDE_OPTS: oracle type, samples per group, groups, leaf. */
static inline int subq_graph_job_kde_opts(subq_job_ctx_t *ctx, subq_kde_type_t *type, long *ks,
                                          long *kg, long *leaf) {
  const char *est;
  SUBQ_CALL(subq_opts_string(ctx->opts, "estimator", &est));
  SUBQ_CALL(subq_opts_int(ctx->opts, "kde-samples", ks));
  SUBQ_CALL(subq_opts_int(ctx->opts, "kde-groups", kg));
  SUBQ_CALL(subq_opts_int(ctx->opts, "leaf", leaf));
  return subq_kde_type_parse(est, type);
}

/* Collective: create and set up the sparsifier from the options (eps checked here so the
 * message names the option). */
static inline int subq_graph_job_sparsifier(subq_job_ctx_t *ctx, const subq_dmat_t *X,
                                            const subq_kernel_t *kernel, subq_sparsifier_t **sp) {
  double eps, C;
  long T, ks, kg, leaf;
  subq_kde_type_t type;
  SUBQ_CALL(subq_opts_real(ctx->opts, "eps", &eps));
  SUBQ_CALL(subq_opts_real(ctx->opts, "oversample", &C));
  SUBQ_CALL(subq_opts_int(ctx->opts, "edges", &T));
  SUBQ_CALL(subq_graph_job_kde_opts(ctx, &type, &ks, &kg, &leaf));
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
/* Collective: the degree oracle from SUBQ_GRAPH_JOB_KDE_OPTS, the kernel-graph degree
 * estimates deg (n, replicated; *evals their kernel evaluations plus those of the
 * oracles' setups: DEANN's centre distances, HBE's, in the degree oracle and the tree's
 * nodes) and the KDE tree over X
 * (BIKSZ weighted vertex and edge sampling).  On error nothing is left allocated. */
static inline int subq_graph_job_tree(subq_job_ctx_t *ctx, const subq_dmat_t *X,
                                      const subq_kernel_t *kernel, subq_kde_t **o,
                                      subq_kde_tree_t **T, double *deg, uint64_t *evals) {
  long ks, kg, leaf, probe;
  subq_kde_type_t type;
  SUBQ_CALL(subq_graph_job_kde_opts(ctx, &type, &ks, &kg, &leaf));
  double mix;
  SUBQ_CALL(subq_opts_int(ctx->opts, "kde-probe", &probe));
  SUBQ_CALL(subq_opts_real(ctx->opts, "tree-mix", &mix));
  *o = NULL, *T = NULL;
  int e = subq_kde_create(ctx->comm, type, o);
  if (!e) e = subq_kde_set_kernel(*o, *kernel);
  if (!e) e = subq_kde_set_samples(*o, (size_t)ks, (size_t)kg);
  if (!e) e = subq_kde_set_deann(*o, 0, (size_t)probe);
  if (!e) e = subq_kde_set_seed(*o, ctx->seed);
  e = subq_error_agree(ctx->comm, e);
  if (!e) e = subq_kde_setup(*o, X);
  uint64_t setup = !e ? subq_kde_local_evals(*o) : 0; /* DEANN, HBE setups (this rank) */
  if (!e) e = subq_kde_query_points(*o, 1.0, deg, evals);
  if (!e) e = subq_kde_tree_create(*o, X, (size_t)leaf, T);
  if (!e) e = subq_kde_tree_set_mix(*T, mix);
  if (!e) setup += subq_kde_tree_setup_evals_local(*T);
  if (!e && MPI_Allreduce(MPI_IN_PLACE, &setup, 1, MPI_UINT64_T, MPI_SUM, ctx->comm) != MPI_SUCCESS)
    e = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce of the oracle setup evaluations failed");
  if (!e) *evals += setup;
  if (e) subq_kde_tree_destroy(T), subq_kde_destroy(o);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : SUBQ_OK;
}

/* A job that estimates one number of the kernel graph from the KDE tree and compares it
 * with the exact value for n <= --exact-max (arboricity, triangles).  Options: the kernel
 * options, eps, oversample, samples, SUBQ_GRAPH_JOB_KDE_OPTS, exact-max. */
typedef struct {
  const char *job;  /* job name, also "job" in summary.json */
  size_t min_n;     /* fewest points the quantity needs */
  const char *what; /* what min_n points are needed for, for the message */
  /* samples derived from n, eps and the oversampling constant C */
  size_t (*samples)(size_t n, double eps, double C);
  /* collective: the estimate (st: the job's statistics), *evals its sampling evaluations */
  int (*estimate)(subq_kde_tree_t *tree, const subq_dmat_t *X, const subq_kernel_t *kernel,
                  const double *deg, size_t samples, uint64_t seed, double *est, void *st,
                  uint64_t *evals);
  /* collective: the exact value (xst: the job's statistics of it), *evals its evaluations */
  int (*exact)(const subq_dmat_t *X, const subq_kernel_t *kernel, double *exact, void *xst,
               uint64_t *evals);
  /* rank 0: the job's own summary fields and table lines */
  int (*report)(subq_job_ctx_t *ctx, size_t samples, const void *st, const void *xst,
                int have_exact);
} subq_graph_estimate_job_t; /* st, xst: 256 bytes each, 16-byte aligned */

/* Rank 0: the fields every estimate job reports (estimate against the exact value;
 * exact and rel_err null when the exact value was not computed). */
static inline int subq_graph_job_report_estimate(subq_job_ctx_t *ctx, const subq_dmat_t *X,
                                                 double estimate, double exact,
                                                 uint64_t kernel_evals, double time_s,
                                                 double exact_time_s) {
  subq_json_t *j = ctx->summary;
  const double dense = 0.5 * (double)X->n * (double)(X->n - 1);
  const double rel = fabs(estimate - exact) / fabs(exact);
  SUBQ_CALL(subq_json_num(j, "estimate", estimate));
  SUBQ_CALL(subq_json_num(j, "exact", exact));
  SUBQ_CALL(subq_json_num(j, "rel_err", rel));
  SUBQ_CALL(subq_json_int(j, "kernel_evals", (long long)kernel_evals));
  SUBQ_CALL(subq_json_num(j, "dense_kernel_evals", dense));
  SUBQ_CALL(subq_json_num(j, "kernel_evals_fraction", (double)kernel_evals / dense));
  SUBQ_CALL(subq_json_num(j, "time_s", time_s));
  SUBQ_CALL(subq_json_num(j, "exact_time_s", exact_time_s));
  subq_job_table(ctx, "estimate", "%.6g (exact %.6g, relative error %.3g)", estimate, exact, rel);
  subq_job_table(ctx, "kernel evals", "%.4g (%.4f of the n(n-1)/2 = %.4g of a dense computation)",
                 (double)kernel_evals, (double)kernel_evals / dense, dense);
  subq_job_table(ctx, "time", "%.3f s estimate, %.3f s exact", time_s, exact_time_s);
  return SUBQ_OK;
}

/* Collective: run an estimate job (load, check options, degrees and tree, estimate, exact
 * value, report).  Options are checked on every rank with messages naming them. */
static inline int subq_graph_job_estimate_run(subq_job_ctx_t *ctx,
                                              const subq_graph_estimate_job_t *J) {
  subq_kde_job_data_t a;
  subq_dmat_t *X = NULL;
  SUBQ_CALL(subq_kde_job_load(ctx, &a, &X));
  double eps, C;
  long S, xmax;
  int e = subq_opts_real(ctx->opts, "eps", &eps);
  if (!e) e = subq_opts_real(ctx->opts, "oversample", &C);
  if (!e) e = subq_opts_int(ctx->opts, "samples", &S);
  if (!e) e = subq_opts_int(ctx->opts, "exact-max", &xmax);
  if (!e && !(eps > 0 && eps < 1)) e = SUBQ_FAIL(SUBQ_ERR_ARG, "--eps must be in (0, 1), got %g", eps);
  if (!e && X->n < J->min_n)
    e = SUBQ_FAIL(SUBQ_ERR_ARG, "--data=%s has n = %zu points: %s needs >= %zu", a.data, X->n,
                  J->what, J->min_n);
  e = subq_error_agree(ctx->comm, e);
  const size_t n = X->n, samples = !e && S > 0 ? (size_t)S : (!e ? J->samples(n, eps, C) : 0);
  subq_kde_t *o = NULL;
  subq_kde_tree_t *tree = NULL;
  double *deg = NULL, est = NAN, exact = NAN, t_est = 0, t_ex = 0;
  uint64_t dev = 0, sev = 0, xev = 0;
  _Alignas(16) unsigned char st[256] = {0}, xst[256] = {0};
  if (!e) e = SUBQ_ALLOC(deg, n);
  e = subq_error_agree(ctx->comm, e);
  double t0 = subq_wtime();
  if (!e) e = subq_graph_job_tree(ctx, X, &a.kernel, &o, &tree, deg, &dev);
  if (!e) e = J->estimate(tree, X, &a.kernel, deg, samples, ctx->seed, &est, st, &sev);
  if (!e) e = subq_time_max(ctx->comm, subq_wtime() - t0, &t_est);
  if (!e) e = subq_job_phase(ctx, "estimate", t_est);
  const int do_exact = n <= (size_t)xmax;
  if (!e && do_exact) {
    t0 = subq_wtime();
    e = J->exact(X, &a.kernel, &exact, xst, &xev);
    if (!e) e = subq_time_max(ctx->comm, subq_wtime() - t0, &t_ex);
    if (!e) e = subq_job_phase(ctx, "exact", t_ex);
  }
  double memb = subq_kde_job_peak_mem(ctx->comm);
  if (!e && ctx->rank == 0) {
    subq_json_t *j = ctx->summary;
    e = subq_kde_job_report_common(ctx, &a, X, J->job);
    if (!e) e = subq_graph_job_report_estimate(ctx, X, est, exact, dev + sev, t_est, t_ex);
    if (!e) e = subq_json_num(j, "eps", eps);
    if (!e) e = subq_json_int(j, "samples", (long long)samples);
    if (!e) e = subq_json_int(j, "kde_kernel_evals", (long long)dev);
    if (!e) e = subq_json_int(j, "sample_kernel_evals", (long long)sev);
    if (!e) e = subq_json_num(j, "exact_kernel_evals", do_exact ? (double)xev : NAN);
    if (!e) e = subq_json_num(j, "peak_mem_bytes", memb);
    if (!e) e = J->report(ctx, samples, st, xst, do_exact);
    if (!do_exact) subq_job_table(ctx, "exact", "not computed: n = %zu > --exact-max=%ld", n, xmax);
  }
  e = subq_error_agree(ctx->comm, e);
  subq_kde_tree_destroy(&tree);
  subq_kde_destroy(&o);
  subq_free(&deg);
  subq_dmat_destroy(&X);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : 0;
}

/* The options of an estimate job; eps, C and the samples text are the job's. */
#define SUBQ_GRAPH_JOB_ESTIMATE_OPTS(eps, C, C_help, samples_help, exact_help)            \
  SUBQ_KDE_JOB_KERNEL_OPTS,                                                                 \
  {"eps", SUBQ_OPT_REAL, eps, "", "target relative error eps in (0, 1)", NULL, 0, 0},     \
  {"oversample", SUBQ_OPT_REAL, C, "", C_help, NULL, 1e-9, 1e9},                           \
  {"samples", SUBQ_OPT_INT, "0", "", samples_help, NULL, 0, 4e9},                          \
  SUBQ_GRAPH_JOB_KDE_OPTS,                                                                  \
  {"exact-max", SUBQ_OPT_INT, "3000", "points", exact_help, NULL, 0, 1e6}
#endif
