/* subq arboricity: the arboricity max_{|S|>=2} w(E(S)) / (|S| - 1) of the kernel graph,
 * estimated by weighted edge sampling through the KDE tree and the exact arboricity of
 * the sampled graph (BIKSZ arXiv 2212.00642, arboricity; include/subq/graph.h), against
 * the exact arboricity of the complete kernel graph for n <= --exact-max. */
#include <math.h>
#include <stdio.h>

#include "jobs/graph_jobs.h"

static const subq_opt_spec_t opts_[] = {
    SUBQ_GRAPH_JOB_ESTIMATE_OPTS("0.5", "1", "C in T = C n ln(n) / eps^2 edge samples",
                                 "edge samples T (0 = derived from --eps and --oversample)",
                                 "largest n for the exact arboricity of the complete graph (about 16 n^2 bytes on rank 0 plus the flow network; time grows like n^3)"),
    {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};

typedef struct {
  size_t size;
} exact_st_t;

static size_t samples_(size_t n, double eps, double C) {
  return (size_t)ceil(C * (double)n * log((double)n) / (eps * eps));
}

/* Set by estimate_ for report_: the estimate is above the trivial bound |S| / 2 of its own
 * maximiser S (kernel weights are <= 1, so w(E(S)) <= |S| (|S| - 1) / 2). */
static int over_bound_;

static int estimate_(subq_kde_tree_t *tree, const subq_dmat_t *X, const subq_kernel_t *kernel,
                     const double *deg, size_t samples, uint64_t seed, double *est, void *st,
                     uint64_t *evals) {
  subq_arboricity_stats_t *s = st;
  SUBQ_CALL(subq_arboricity_estimate(tree, X, kernel, deg, samples, seed, est, s));
  *evals = s->sample_evals;
  over_bound_ = *est > 0.5 * (double)s->set_size * (1 + 1e-12);
  if (over_bound_)
    subq_log(SUBQ_LOG_WARN, "arboricity: the estimate %.6g exceeds |S|/2 = %.6g, the most its "
             "maximiser S of %zu points can have with kernel weights <= 1: a few sampled edges "
             "carry very large importance weights (small bandwidth?); try --estimator=deann "
             "--tree-mix=0.5 or --estimator=exact", *est, 0.5 * (double)s->set_size, s->set_size);
  return SUBQ_OK;
}

static int exact_(const subq_dmat_t *X, const subq_kernel_t *kernel, double *exact, void *xst,
                  uint64_t *evals) {
  return subq_arboricity_dense(X, kernel, exact, &((exact_st_t *)xst)->size, evals);
}

static int report_(subq_job_ctx_t *ctx, size_t samples, const void *stv, const void *xstv,
                   int have_exact) {
  const subq_arboricity_stats_t *st = stv;
  const exact_st_t *xst = xstv;
  subq_json_t *j = ctx->summary;
  SUBQ_CALL(subq_json_int(j, "sampled_edges", (long long)st->edges));
  SUBQ_CALL(subq_json_int(j, "set_size", (long long)st->set_size));
  SUBQ_CALL(subq_json_num(j, "exact_set_size", have_exact ? (double)xst->size : NAN));
  SUBQ_CALL(subq_json_int(j, "max_flows", (long long)st->flows));
  SUBQ_CALL(subq_json_num(j, "total_weight_estimate", st->total_weight));
  SUBQ_CALL(subq_json_bool(j, "estimate_exceeds_bound", over_bound_));
  char xs[32] = "not computed";
  if (have_exact) snprintf(xs, sizeof xs, "%zu", xst->size);
  subq_job_table(ctx, "sampled graph", "%zu samples, %zu distinct edges, maximiser |S| = %zu (exact: %s)",
                 samples, st->edges, st->set_size, xs);
  return SUBQ_OK;
}

_Static_assert(sizeof(subq_arboricity_stats_t) <= 256, "statistics fit the runner's buffer");
static const subq_graph_estimate_job_t job_ = {
    "arboricity", 2, "a kernel graph", samples_, estimate_, exact_, report_ };

static int run_(subq_job_ctx_t *ctx) { return subq_graph_job_estimate_run(ctx, &job_); }

const subq_job_t subq_job_arboricity = {
    "arboricity", "Arboricity of a kernel graph by KDE edge sampling vs the exact value.", opts_, run_, 0};
