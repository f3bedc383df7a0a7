/* subq levattn --bench: speed of the LevAttention universal-set selection (a benchmark
 * program, not a test; issue 5 "Benchmark").
 *
 * For each n of --bench-n (default 2^18, 2^20, 2^22) and d = --bench-d (default 64), keys
 * are Gaussian rows generated chunk by chunk (--chunk rows) from the counter RNG keyed by
 * global index (identical for any np), sharded by sequence over the ranks, and run through
 * the streamed two-pass selection (subq_levatt_gram_add per chunk, factor, subq_levatt_score
 * per chunk, select).  Key generation is excluded from the timing: each chunk is generated
 * first and only the library calls are timed, so the figure is the selection itself.
 *
 * Reported per n (times are the max over ranks):
 *   time_select_s  = gram + factor + score + select
 *   t(4n)/t(n)     the linearity figure (goal <= 4.4) for each n whose 4n is listed;
 *   leverage GFLOP/s = flops of the two BLAS passes / (t_gram + t_score) per rank, with the
 *     flops counted as executed: dsyrk n D (D + 1) for the Gram and dgemm 2 n D r for the
 *     scores (include/subq/levatt.h), summed over ranks and divided by the ranks, so it is
 *     a per-rank rate comparable to the per-rank dgemm rate;
 *   dgemm GFLOP/s   subq_bench_dgemm_rate with this rank's threads, measured in the same run
 *     right before the first n by all ranks at once (mean over ranks; the minimum is in
 *     summary.json), and the fraction leverage / dgemm (goal >= 0.6).
 * Files: bench.csv, and bench_* arrays in summary.json. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "jobs/job.h"
#include "jobs/kvopts.h"
#include "jobs/levattn_jobs.h"
#include "subq/bench.h"
#include "subq/levatt.h"

enum { MAXN = 16 };

typedef struct {
  double gram, factor, score, select; /* seconds, this rank */
  size_t rank, nU;
} bench_t;

/* One streamed selection over n Gaussian keys of dimension d; generation untimed. */
static int bench_one_(subq_job_ctx_t *ctx, size_t n, size_t d, size_t chunk, double eps,
                      double *buf, bench_t *b) {
  memset(b, 0, sizeof *b);
  size_t g0, g1;
  subq_kvopts_block(n, ctx->size, ctx->rank, &g0, &g1);
  subq_levatt_opts_t o;
  subq_levatt_opts_default(&o);
  o.eps = eps;
  subq_levatt_t *L = NULL;
  SUBQ_CALL(subq_levatt_create(ctx->comm, d, &o, &L));
  int err = SUBQ_OK;
  for (int pass = 0; pass < 2 && !err; pass++) {
    if (pass == 1) {
      double t = subq_wtime();
      err = subq_levatt_factor(L);
      b->factor = subq_wtime() - t;
    }
    for (size_t g = g0; g < g1 && !err; g += chunk) {
      size_t r = g1 - g < chunk ? g1 - g : chunk;
      subq_rng_fill_gauss(ctx->seed, 0xBE5E, (uint64_t)(g * d), r * d, buf);
      double t = subq_wtime();
      err = pass == 0 ? subq_levatt_gram_add(L, r, buf) : subq_levatt_score(L, r, buf, g, NULL);
      *(pass == 0 ? &b->gram : &b->score) += subq_wtime() - t;
    }
    err = subq_error_agree(ctx->comm, err);
  }
  subq_levatt_info_t info;
  double t = subq_wtime();
  if (!err) err = subq_levatt_select(L, &b->nU);
  b->select = subq_wtime() - t;
  if (!err) err = subq_levatt_info(L, &info);
  if (!err) b->rank = info.rank;
  subq_levatt_destroy(&L);
  return err;
}

int subq_levattn_bench(subq_job_ctx_t *ctx) {
  long ns[MAXN], dl, cl;
  int nn = 0;
  double eps = 0.05;
  SUBQ_CALL(subq_opts_list(ctx->opts, "bench-n", ns, MAXN, &nn));
  SUBQ_CALL(subq_opts_int(ctx->opts, "bench-d", &dl));
  SUBQ_CALL(subq_opts_int(ctx->opts, "chunk", &cl));
  const size_t d = (size_t)dl, chunk = (size_t)cl;
  for (int i = 0; i < nn; i++)
    SUBQ_CHECK((size_t)ns[i] >= d, SUBQ_ERR_ARG, "option --bench-n: n = %ld must be >= d = %zu", ns[i], d);
  double *buf = NULL;
  SUBQ_CALL(subq_error_agree(ctx->comm, SUBQ_ALLOC(buf, chunk * d)));
  /* Reference rate in the same run, per rank with this rank's threads; all ranks measure
   * at once (they share the machine as they do during the selection). */
  double rate = 0, rmin, rsum;
  int err = subq_bench_dgemm_rate(ctx->nthreads, &rate);
  err = subq_error_agree(ctx->comm, err);
  if (!err && (MPI_Allreduce(&rate, &rmin, 1, MPI_DOUBLE, MPI_MIN, ctx->comm) != MPI_SUCCESS ||
               MPI_Allreduce(&rate, &rsum, 1, MPI_DOUBLE, MPI_SUM, ctx->comm) != MPI_SUCCESS))
    err = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce of dgemm rates failed");
  double nd[MAXN], rk[MAXN], nus[MAXN], tf[MAXN], tsel[MAXN], tg[MAXN], ts[MAXN], gf[MAXN], frac[MAXN], ratio[MAXN];
  char csv[4096];
  size_t len = (size_t)snprintf(csv, sizeof csv,
                                "n,d,chunk,ranks,threads,rank,universal_set_size,time_gram_s,"
                                "time_factor_s,time_score_s,time_select_total_s,t4n_over_tn,"
                                "leverage_gflops,dgemm_gflops,fraction_of_dgemm\n");
  for (int i = 0; i < nn && !err; i++) {
    bench_t b;
    err = bench_one_(ctx, (size_t)ns[i], d, chunk, eps, buf, &b);
    if (err) break;
    const double D = (double)d, r = (double)b.rank, n = (double)ns[i];
    /* flops as executed by BLAS over all ranks (header comment) */
    double flops = n * D * (D + 1) + 2 * n * D * r;
    double loc[4] = {b.gram, b.factor, b.score, b.gram + b.factor + b.score + b.select}, mx[4];
    double blas = b.gram + b.score, blas_sum;
    if (MPI_Allreduce(loc, mx, 4, MPI_DOUBLE, MPI_MAX, ctx->comm) != MPI_SUCCESS ||
        MPI_Allreduce(&blas, &blas_sum, 1, MPI_DOUBLE, MPI_SUM, ctx->comm) != MPI_SUCCESS) {
      err = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce of bench times failed");
      break;
    }
    nd[i] = n;
    rk[i] = r;
    nus[i] = (double)b.nU;
    tf[i] = mx[1];
    tg[i] = mx[0];
    ts[i] = mx[2];
    tsel[i] = mx[3];
    gf[i] = flops / blas_sum * 1e-9; /* per rank: total flops / total rank-seconds */
    frac[i] = gf[i] / (rsum / ctx->size);
    ratio[i] = NAN;
  }
  for (int i = 0; i < nn && !err; i++)
    for (int j = 0; j < nn; j++)
      if (ns[j] == 4 * ns[i]) ratio[j] = tsel[j] / tsel[i];
  if (!err && ctx->rank == 0) {
    for (int i = 0; i < nn && len < sizeof csv; i++)
      len += (size_t)snprintf(csv + len, sizeof csv - len,
                              "%ld,%zu,%zu,%d,%d,%.0f,%.0f,%.6f,%.6f,%.6f,%.6f,%.4f,%.3f,%.3f,%.4f\n", ns[i],
                              d, chunk, ctx->size, ctx->nthreads, rk[i], nus[i], tg[i], tf[i], ts[i], tsel[i],
                              ratio[i], gf[i], rsum / ctx->size, frac[i]);
    char path[4096];
    err = subq_file_write_atomic(subq_job_path(ctx, "bench.csv", path, sizeof path), csv,
                                 len < sizeof csv ? len : sizeof csv - 1);
    subq_json_t *j = ctx->summary;
    if (!err) err = subq_json_num_array(j, "bench_n", nd, (size_t)nn);
    if (!err) err = subq_json_int(j, "bench_d", (long long)d);
    if (!err) err = subq_json_int(j, "bench_chunk", (long long)chunk);
    if (!err) err = subq_json_num_array(j, "bench_time_select_s", tsel, (size_t)nn);
    if (!err) err = subq_json_num_array(j, "bench_time_gram_s", tg, (size_t)nn);
    if (!err) err = subq_json_num_array(j, "bench_time_factor_s", tf, (size_t)nn);
    if (!err) err = subq_json_num_array(j, "bench_time_score_s", ts, (size_t)nn);
    if (!err) err = subq_json_num_array(j, "bench_universal_set_size", nus, (size_t)nn);
    if (!err) err = subq_json_num_array(j, "bench_t4n_over_tn", ratio, (size_t)nn);
    if (!err) err = subq_json_num_array(j, "bench_leverage_gflops", gf, (size_t)nn);
    if (!err) err = subq_json_num(j, "bench_dgemm_gflops", rsum / ctx->size);
    if (!err) err = subq_json_num(j, "bench_dgemm_gflops_min_rank", rmin);
    if (!err) err = subq_json_num_array(j, "bench_fraction_of_dgemm", frac, (size_t)nn);
    for (int i = 0; i < nn && !err; i++)
      subq_job_table(ctx, "bench n", "%ld: select %.3f s (t4n/tn %.2f), leverage %.2f GFLOP/s = %.0f%% of dgemm %.2f",
                     ns[i], tsel[i], ratio[i], gf[i], 100 * frac[i], rsum / ctx->size);
  }
  subq_free(&buf);
  return subq_error_agree(ctx->comm, err);
}
