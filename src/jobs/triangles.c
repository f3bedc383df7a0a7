/* subq triangles: the total triangle weight sum_{i<j<k} w_ij w_jk w_ik of the kernel graph,
 * estimated from weighted edge samples (KDE tree) and a uniform third vertex (BIKSZ
 * arXiv 2212.00642, weighted triangles; include/subq/graph.h), against the exact
 * trace(W^3)/6 (blocked BLAS) for n <= --exact-max. */
#include <math.h>

#include "jobs/graph_jobs.h"

static const subq_opt_spec_t opts_[] = {
    SUBQ_GRAPH_JOB_ESTIMATE_OPTS("0.1", "4", "C in s = C / eps^2 samples (the estimator's relative variance is <= 1/tau^3 for kernel values >= tau)",
                                 "triangle samples s (0 = derived from --eps and --oversample)",
                                 "largest n for the exact trace(W^3)/6 (n^2 kernel evaluations and n^3 flops)"),
    {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};

static size_t samples_(size_t n, double eps, double C) {
  (void)n;
  return (size_t)ceil(C / (eps * eps));
}

static int estimate_(subq_kde_tree_t *tree, const subq_dmat_t *X, const subq_kernel_t *kernel,
                     const double *deg, size_t samples, uint64_t seed, double *est, void *st,
                     uint64_t *evals) {
  subq_triangles_stats_t *s = st;
  SUBQ_CALL(subq_triangles_estimate(tree, X, kernel, deg, samples, seed, est, s));
  *evals = s->sample_evals;
  return SUBQ_OK;
}

static int exact_(const subq_dmat_t *X, const subq_kernel_t *kernel, double *exact, void *xst,
                  uint64_t *evals) {
  (void)xst;
  return subq_triangles_dense(X, kernel, exact, evals);
}

static int report_(subq_job_ctx_t *ctx, size_t samples, const void *stv, const void *xstv,
                   int have_exact) {
  const subq_triangles_stats_t *st = stv;
  (void)xstv, (void)have_exact;
  SUBQ_CALL(subq_json_num(ctx->summary, "std_err", st->std_err));
  SUBQ_CALL(subq_json_num(ctx->summary, "rel_std_err", st->rel_std_err));
  subq_job_table(ctx, "samples", "%zu, standard error %.4g (%.3g relative)", samples, st->std_err,
                 st->rel_std_err);
  return SUBQ_OK;
}

_Static_assert(sizeof(subq_triangles_stats_t) <= 256, "statistics fit the runner's buffer");
static const subq_graph_estimate_job_t job_ = {
    "triangles", 3, "a triangle", samples_, estimate_, exact_, report_ };

static int run_(subq_job_ctx_t *ctx) { return subq_graph_job_estimate_run(ctx, &job_); }

const subq_job_t subq_job_triangles = {
    "triangles", "Total triangle weight of a kernel graph by KDE edge sampling vs trace(W^3)/6.", opts_, run_, 0};
