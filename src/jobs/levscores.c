/* subq levscores: row leverage scores tau_i = k_i^T (K^T K + lambda I)^+ k_i of a data
 * matrix (include/subq/lev.h), written to levscores.npy in input row order. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "jobs/job.h"
#include "subq/lev.h"

static const subq_opt_spec_t opts_[] = {
    {"data", SUBQ_OPT_STRING, NULL, "", "data specification of K (n x d), e.g. fmnist:train:2000", NULL, 0, 0},
    {"method", SUBQ_OPT_CHOICE, "qr", "",
     "qr: TSQR + SVD (stable); gram: K^T K + eigendecomposition (squares cond(K)); "
     "sketch: CountSketch + JL (Drineas et al. 2012)", "qr|gram|sketch", 0, 0},
    {"ridge", SUBQ_OPT_REAL, "0", "", "ridge lambda >= 0: scores of K^T K + lambda I", NULL, 0, 1e300},
    {"sketch-rows", SUBQ_OPT_INT, "0", "rows", "sketch: CountSketch rows m >= d (0 = 20 d, capped at max(n, d))", NULL, 0, 2e9},
    {"jl-cols", SUBQ_OPT_INT, "0", "columns",
     "sketch: Gaussian JL columns r2 (0 = ceil(8 ln n); skipped when >= rank)", NULL, 0, 1e6},
    {"dtype", SUBQ_OPT_CHOICE, "float64", "", "storage of K (scores are computed in float64)",
     "float64|float32", 0, 0},
    {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};

typedef struct {
  const char *data, *method, *dtype;
  double ridge;
  long sketch_rows, jl_cols;
} args_t;

static int read_args(const subq_job_ctx_t *ctx, args_t *a, subq_lev_opts_t *lo) {
  SUBQ_CALL(subq_opts_string(ctx->opts, "data", &a->data));
  SUBQ_CALL(subq_opts_string(ctx->opts, "method", &a->method));
  SUBQ_CALL(subq_opts_string(ctx->opts, "dtype", &a->dtype));
  SUBQ_CALL(subq_opts_real(ctx->opts, "ridge", &a->ridge));
  SUBQ_CALL(subq_opts_int(ctx->opts, "sketch-rows", &a->sketch_rows));
  SUBQ_CALL(subq_opts_int(ctx->opts, "jl-cols", &a->jl_cols));
  subq_lev_opts_default(lo);
  SUBQ_CALL(subq_lev_method_parse(a->method, &lo->method));
  lo->ridge = a->ridge;
  lo->sketch_rows = (size_t)a->sketch_rows;
  lo->jl_cols = (size_t)a->jl_cols;
  lo->seed = ctx->seed;
  lo->device = ctx->device;
  return 0;
}

/* Rank 0: summary.json fields and the human table. */
static int report(subq_job_ctx_t *ctx, const args_t *a, const subq_dmat_t *K,
                  const subq_lev_info_t *info, double sum, double tmax, double time_s) {
  double gflops = time_s > 0 ? info->flops / time_s * 1e-9 : 0;
  subq_json_t *j = ctx->summary;
  SUBQ_CALL(subq_json_str(j, "data", a->data));
  SUBQ_CALL(subq_json_int(j, "n", (long long)K->n));
  SUBQ_CALL(subq_json_int(j, "d", (long long)K->d));
  SUBQ_CALL(subq_json_str(j, "method", a->method));
  SUBQ_CALL(subq_json_str(j, "dtype", a->dtype));
  SUBQ_CALL(subq_json_num(j, "ridge", a->ridge));
  SUBQ_CALL(subq_json_num(j, "sum_scores", sum));
  SUBQ_CALL(subq_json_num(j, "max_score", tmax));
  SUBQ_CALL(subq_json_int(j, "numerical_rank", (long long)info->numerical_rank));
  SUBQ_CALL(subq_json_num(j, "sigma_max", info->sigma_max));
  SUBQ_CALL(subq_json_num(j, "sigma_min_kept", info->sigma_min_kept));
  SUBQ_CALL(subq_json_num(j, "rank_threshold", info->threshold));
  if (!strcmp(a->method, "sketch")) {
    SUBQ_CALL(subq_json_int(j, "sketch_rows", (long long)info->sketch_rows));
    SUBQ_CALL(subq_json_int(j, "jl_cols", (long long)info->jl_cols));
  }
  SUBQ_CALL(subq_json_num(j, "flops", info->flops));
  SUBQ_CALL(subq_json_num(j, "time_s", time_s));
  SUBQ_CALL(subq_json_num(j, "gflops", gflops));
  subq_job_table(ctx, "data", "%s (%zu x %zu)", a->data, K->n, K->d);
  subq_job_table(ctx, "method", "%s, ridge %g", a->method, a->ridge);
  subq_job_table(ctx, "numerical rank", "%zu (sigma_max %.4g, cut %.3g)", info->numerical_rank,
                 info->sigma_max, info->threshold);
  subq_job_table(ctx, "sum of scores", "%.10g", sum);
  subq_job_table(ctx, "max score", "%.6g", tmax);
  subq_job_table(ctx, "time", "%.4f s (%.2f GFLOP/s, %s)", time_s, gflops,
                 subq_device_name(ctx->device));
  return 0;
}

/* The levscores job.  Flop count (summary "flops", global): qr 2 n d^2 (TSQR) + 2 n d r
 * (scores); gram n d^2 (syrk) + 2 n d r; sketch n d + 2 m d^2 + 2 n d r2 (lev.h).
 * time_s covers factor + score (not loading or writing); with --device=cuda it includes
 * the uploads of the rows (gram: twice, for the Gram matrix and for the scores). */
static int run_(subq_job_ctx_t *ctx) {
  args_t a;
  subq_lev_opts_t lo;
  SUBQ_CALL(read_args(ctx, &a, &lo));
  subq_dtype_t dt = strcmp(a.dtype, "float32") == 0 ? SUBQ_F32 : SUBQ_F64;
  double t0 = subq_wtime();
  subq_dmat_t *K = NULL;
  SUBQ_CALL(subq_dmat_load(ctx->comm, a.data, dt, &K));
  SUBQ_CALL(subq_job_phase(ctx, "load", subq_wtime() - t0));
  subq_job_progress(ctx, "steps (load, factor, score, write)", 1, 4, ctx->t_start);
  double *tau = NULL, *W = NULL, *all = NULL;
  subq_lev_info_t info;
  int e = subq_error_agree(ctx->comm, SUBQ_ALLOC(tau, K->nloc + 1));
  if (!e) e = subq_error_agree(ctx->comm, SUBQ_ALLOC(W, K->d * K->d + 1));
  double t1 = subq_wtime(), t2 = t1, t3 = t1;
  if (!e) e = subq_lev_weights(K, &lo, W, &info);
  if (!e) {
    t2 = subq_wtime();
    e = subq_error_agree(ctx->comm,
                         subq_lev_apply_device(K, W, info.weight_cols, lo.device, tau));
    info.flops += 2.0 * (double)K->n * (double)K->d * (double)info.weight_cols;
    t3 = subq_wtime();
  }
  if (!e) e = subq_job_phase(ctx, "factor", t2 - t1);
  if (!e) e = subq_job_phase(ctx, "score", t3 - t2);
  if (!e) subq_job_progress(ctx, "steps (load, factor, score, write)", 3, 4, ctx->t_start);
  double tf = 0;
  if (!e) e = subq_time_max(ctx->comm, t3 - t1, &tf);
  /* Sum and max over ranks, then the scores in row order on rank 0. */
  double loc[2] = {0, 0}, glob[2] = {0, 0};
  if (!e) {
    for (size_t i = 0; i < K->nloc; i++) {
      loc[0] += tau[i];
      if (tau[i] > loc[1]) loc[1] = tau[i];
    }
    int m1 = MPI_Reduce(&loc[0], &glob[0], 1, MPI_DOUBLE, MPI_SUM, 0, ctx->comm);
    int m2 = MPI_Reduce(&loc[1], &glob[1], 1, MPI_DOUBLE, MPI_MAX, 0, ctx->comm);
    if (m1 != MPI_SUCCESS || m2 != MPI_SUCCESS)
      e = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Reduce of the score sum failed");
    e = subq_error_agree(ctx->comm, e);
  }
  double t4 = subq_wtime();
  if (!e) e = subq_error_agree(ctx->comm, ctx->rank == 0 ? SUBQ_ALLOC(all, K->n + 1) : 0);
  if (!e) e = subq_dist_gather_vec(ctx->comm, K->n, tau, 0, all);
  if (!e) {
    int le = 0;
    if (ctx->rank == 0) {
      char path[4096];
      size_t shape[1] = {K->n};
      le = subq_npy_write(subq_job_path(ctx, "levscores.npy", path, sizeof path), SUBQ_F64, 1,
                          shape, all);
      if (!le) le = report(ctx, &a, K, &info, glob[0], glob[1], tf);
    }
    e = subq_error_agree(ctx->comm, le);
  }
  if (!e) e = subq_job_phase(ctx, "write", subq_wtime() - t4);
  if (!e) subq_job_progress(ctx, "steps (load, factor, score, write)", 4, 4, ctx->t_start);
  subq_free(&tau);
  subq_free(&W);
  subq_free(&all);
  subq_dmat_destroy(&K);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : 0;
}

const subq_job_t subq_job_levscores = {
    "levscores", "Row leverage scores of a data matrix (exact qr|gram, or sketched).", opts_,
    run_, 0};
