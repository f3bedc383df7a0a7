/* subq cluster: random-walk local clustering around a seed vertex on the kernel graph
 * (BIKSZ arXiv 2212.00642, local clustering; include/subq/graph.h): walks through the KDE
 * tree, exact sweep-cut conductance; agreement with the data set's labels (--labels, an
 * n x 1 data spec) as a sanity check. */
#include <math.h>
#include <string.h>

#include "jobs/graph_jobs.h"

static const subq_opt_spec_t opts_[] = {
    SUBQ_KDE_JOB_KERNEL_OPTS,
    {"seed-vertex", SUBQ_OPT_INT, "0", "", "global index of the seed vertex", NULL, 0, 4e9},
    {"walks", SUBQ_OPT_INT, "2000", "", "random walks from the seed", NULL, 1, 1e8},
    {"steps", SUBQ_OPT_INT, "3", "", "steps per walk", NULL, 1, 1e4},
    {"max-size", SUBQ_OPT_INT, "1000", "vertices", "largest cluster considered by the sweep", NULL, 1, 1e8},
    SUBQ_KDE_JOB_ORACLE_OPTS("degrees and the walk tree"),
    {"leaf", SUBQ_OPT_INT, "32", "points", "leaf size of the KDE tree", NULL, 1, 1e9},
    {"labels", SUBQ_OPT_STRING, "", "", "optional n x 1 data spec of class labels for the purity check", NULL, 0, 0},
    {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};

static int run_(subq_job_ctx_t *ctx) {
  subq_kde_job_data_t a;
  subq_dmat_t *X = NULL, *Lab = NULL;
  SUBQ_CALL(subq_kde_job_load(ctx, &a, &X));
  long sv, w, steps, msz, ks, leaf;
  const char *est, *labels;
  subq_kde_type_t type;
  int e = subq_opts_int(ctx->opts, "seed-vertex", &sv);
  if (!e) e = subq_opts_int(ctx->opts, "walks", &w);
  if (!e) e = subq_opts_int(ctx->opts, "steps", &steps);
  if (!e) e = subq_opts_int(ctx->opts, "max-size", &msz);
  if (!e) e = subq_opts_int(ctx->opts, "kde-samples", &ks);
  if (!e) e = subq_opts_int(ctx->opts, "leaf", &leaf);
  if (!e) e = subq_opts_string(ctx->opts, "estimator", &est);
  if (!e) e = subq_opts_string(ctx->opts, "labels", &labels);
  if (!e) e = subq_kde_type_parse(est, &type);
  if (!e && (size_t)sv >= X->n)
    e = SUBQ_FAIL(SUBQ_ERR_ARG, "--seed-vertex=%ld out of range: n = %zu", sv, X->n);
  e = subq_error_agree(ctx->comm, e);
  if (!e && labels[0]) {
    e = subq_dmat_load(ctx->comm, labels, SUBQ_F64, &Lab);
    if (!e && (Lab->n != X->n || Lab->d != 1))
      e = SUBQ_FAIL(SUBQ_ERR_ARG, "--labels=%s has shape %zu x %zu, expected %zu x 1", labels,
                    Lab->n, Lab->d, X->n);
    e = subq_error_agree(ctx->comm, e);
  }
  subq_kde_t *o = NULL;
  subq_kde_tree_t *T = NULL;
  double *deg = NULL, *lab = NULL;
  size_t *mem = NULL;
  uint64_t dev = 0;
  if (!e) e = SUBQ_ALLOC(deg, X->n);
  if (!e) e = SUBQ_ALLOC(mem, msz);
  if (!e && Lab) e = SUBQ_ALLOC(lab, X->n);
  if (!e) e = subq_kde_create(ctx->comm, type, &o);
  if (!e) e = subq_kde_set_kernel(o, a.kernel);
  if (!e) e = subq_kde_set_samples(o, (size_t)ks, 1);
  if (!e) e = subq_kde_set_seed(o, ctx->seed);
  e = subq_error_agree(ctx->comm, e);
  double t0 = subq_wtime(), t = 0;
  if (!e) e = subq_kde_setup(o, X);
  if (!e) subq_job_progress(ctx, "steps (kde-setup, degrees, kde-tree, walks)", 1, 4, ctx->t_start);
  if (!e) e = subq_kde_query_points(o, 1.0, deg, &dev);
  if (!e) subq_job_progress(ctx, "steps (kde-setup, degrees, kde-tree, walks)", 2, 4, ctx->t_start);
  if (!e) e = subq_kde_tree_create(o, X, (size_t)leaf, &T);
  if (!e) subq_job_progress(ctx, "steps (kde-setup, degrees, kde-tree, walks)", 3, 4, ctx->t_start);
  subq_cluster_stats_t st;
  if (!e) e = subq_local_cluster(T, X, &a.kernel, deg, (size_t)sv, (size_t)w, (size_t)steps,
                                 ctx->seed, (size_t)msz, mem, &st);
  if (!e) e = subq_time_max(ctx->comm, subq_wtime() - t0, &t);
  if (!e) e = subq_job_phase(ctx, "cluster", t);
  if (!e) subq_job_progress(ctx, "steps (kde-setup, degrees, kde-tree, walks)", 4, 4, ctx->t_start);
  if (!e && Lab) {
    e = subq_dist_gather_vec(ctx->comm, X->n, (const double *)Lab->data, 0, lab);
  }
  e = subq_error_agree(ctx->comm, e);
  double purity = NAN;
  if (!e && Lab && ctx->rank == 0) {
    size_t same = 0;
    for (size_t k = 0; k < st.size; k++) same += lab[mem[k]] == lab[sv];
    purity = (double)same / (double)st.size;
  }
  double memb = subq_kde_job_peak_mem(ctx->comm);
  if (!e && ctx->rank == 0) {
    subq_json_t *j = ctx->summary;
    double *mv = NULL;
    e = subq_kde_job_report_common(ctx, &a, X, "cluster");
    if (!e) e = subq_json_int(j, "seed_vertex", sv);
    if (!e) e = subq_json_int(j, "cluster_size", (long long)st.size);
    if (!e) e = subq_json_num(j, "conductance", st.conductance);
    if (!e) e = subq_json_num(j, "label_purity", purity);
    if (!e) e = subq_json_num(j, "volume", st.volume);
    if (!e) e = subq_json_num(j, "total_volume", st.total_volume);
    if (!e) e = subq_json_int(j, "support", (long long)st.support);
    if (!e) e = subq_json_int(j, "kernel_evals", (long long)(dev + st.walk_evals));
    if (!e) e = subq_json_int(j, "exact_conductance_kernel_evals", (long long)st.exact_evals);
    if (!e) e = subq_json_num(j, "time_s", t);
    if (!e) e = subq_json_num(j, "peak_mem_bytes", memb);
    if (!e) e = SUBQ_ALLOC(mv, st.size);
    for (size_t k = 0; !e && k < st.size; k++) mv[k] = (double)mem[k];
    if (!e) e = subq_json_num_array(j, "members", mv, st.size);
    subq_free(&mv);
    subq_job_table(ctx, "cluster", "%zu vertices around %ld (support %zu), conductance %.4g (exact)",
                   st.size, sv, st.support, st.conductance);
    subq_job_table(ctx, "label purity", "%.3f", purity);
    subq_job_table(ctx, "kernel evals", "%.4g (degrees + walks); exact conductances %.4g",
                   (double)(dev + st.walk_evals), (double)st.exact_evals);
  }
  e = subq_error_agree(ctx->comm, e);
  subq_kde_tree_destroy(&T);
  subq_kde_destroy(&o);
  subq_free(&deg), subq_free(&mem), subq_free(&lab);
  subq_dmat_destroy(&Lab);
  subq_dmat_destroy(&X);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : 0;
}

const subq_job_t subq_job_cluster = {
    "cluster", "Random-walk local clustering on a kernel graph with exact conductance.", opts_, run_, 0};
