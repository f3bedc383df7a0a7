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
 *     flops of the algorithm: n D (D + 1) for the Gram (its upper triangle; the blocked
 *     dgemm of src/lev/levatt_gram.c executes 1.23x that at D = 64, not counted) and 2 n D r
 *     for the scores (the product with the D x r matrix M, include/subq/levatt.h), summed
 *     over ranks and divided by the ranks, so it is
 *     a per-rank rate comparable to the per-rank dgemm rate; with --passes=1 (online
 *     scores, one read of the keys on one rank) per block of b = clamp(D, 32, 256) keys:
 *     dpotrf D^3/3, dtrsm D^2 b, dtpqrt 2 b^2 D, dsyrk D (D + 1) b (src/lev/levatt_online.c),
 *     i.e. n (D^3/(3b) + D^2 + 2 b D + D (D + 1));
 *   dgemm GFLOP/s   subq_bench_dgemm_rate with this rank's threads, measured in the same run
 *     right before each rep by all ranks at once (mean over ranks; the best of the reps'
 *     readings, as the selection's figures are its best rep), and the fraction
 *     leverage / dgemm (goal >= 0.6);
 *   the same rates per CPU second of the process (CLOCK_PROCESS_CPUTIME_ID), for a shared,
 *     oversubscribed machine where wall time includes other jobs' time slices.
 * t(4n)/t(n) is given for wall time, for the CPU time of the selection (max over ranks), and
 * for CPU time in "dgemm units" (CPU seconds times the CPU-time dgemm rate measured right
 * before that n), which cancels a drift of the machine's speed between the two sizes.
 * Each n runs --bench-reps times; the wall figures are those of the fastest run (total
 * selection time), the CPU figures those of the run with the least CPU time.
 * Per pass (two passes, CPU time): gram_fraction_of_dgemm_cpu = n D (D + 1) flops over the
 * Gram pass's CPU seconds, score_fraction_of_dgemm_cpu = 2 n D r over the score pass's, each
 * over the CPU-time dgemm rate.
 * Files: bench.csv, and bench_* arrays in summary.json. */
#include <math.h>
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
  double cpu_blas;                    /* process CPU seconds of gram + score */
  double cpu_gram, cpu_score;         /* the same per pass */
  double cpu_total;                   /* process CPU seconds of the whole selection */
  size_t rank, nU;
} bench_t;

/* One streamed selection over n Gaussian keys of dimension d; generation untimed. */
static int bench_one_(subq_job_ctx_t *ctx, size_t n, size_t d, size_t chunk, double eps,
                      int passes, double *buf, bench_t *b) {
  memset(b, 0, sizeof *b);
  size_t g0, g1;
  subq_kvopts_block(n, ctx->size, ctx->rank, &g0, &g1);
  subq_levatt_opts_t o;
  subq_levatt_opts_default(&o);
  o.eps = eps;
  o.passes = passes;
  subq_levatt_t *L = NULL;
  SUBQ_CALL(subq_levatt_create(ctx->comm, d, &o, &L));
  int err = SUBQ_OK;
  for (int pass = 2 - subq_levatt_key_reads(L); pass < 2 && !err; pass++) {
    if (pass == 1) {
      double t = subq_wtime(), c = subq_bench_cpu_seconds();
      err = subq_levatt_factor(L);
      b->factor = subq_wtime() - t;
      b->cpu_total += subq_bench_cpu_seconds() - c;
    }
    for (size_t g = g0; g < g1 && !err; g += chunk) {
      size_t r = g1 - g < chunk ? g1 - g : chunk;
      subq_rng_fill_gauss(ctx->seed, 0xBE5E, (uint64_t)(g * d), r * d, buf);
      double t = subq_wtime(), c = subq_bench_cpu_seconds();
      err = pass == 0 ? subq_levatt_gram_add(L, r, buf) : subq_levatt_score(L, r, buf, g, NULL);
      *(pass == 0 ? &b->gram : &b->score) += subq_wtime() - t;
      c = subq_bench_cpu_seconds() - c;
      *(pass == 0 ? &b->cpu_gram : &b->cpu_score) += c;
      b->cpu_blas += c;
      b->cpu_total += c;
    }
    err = subq_error_agree(ctx->comm, err);
  }
  subq_levatt_info_t info;
  double t = subq_wtime(), c = subq_bench_cpu_seconds();
  if (!err) err = subq_levatt_select(L, &b->nU);
  b->select = subq_wtime() - t;
  b->cpu_total += subq_bench_cpu_seconds() - c;
  if (!err) err = subq_levatt_info(L, &info);
  if (!err) b->rank = info.rank;
  subq_levatt_destroy(&L);
  return err;
}

/* Mean over ranks of x (all ranks get it). */
static int mean_(MPI_Comm comm, int size, double x, double *m) {
  SUBQ_MPI(MPI_Allreduce(&x, m, 1, MPI_DOUBLE, MPI_SUM, comm));
  *m /= size;
  return SUBQ_OK;
}

int subq_levattn_bench(subq_job_ctx_t *ctx) {
  long ns[MAXN], dl, cl, reps, passes;
  int nn = 0;
  const double eps = 0.05;
  SUBQ_CALL(subq_opts_list(ctx->opts, "bench-n", ns, MAXN, &nn));
  SUBQ_CALL(subq_opts_int(ctx->opts, "bench-d", &dl));
  SUBQ_CALL(subq_opts_int(ctx->opts, "bench-reps", &reps));
  SUBQ_CALL(subq_opts_int(ctx->opts, "chunk", &cl));
  SUBQ_CALL(subq_opts_int(ctx->opts, "passes", &passes));
  const size_t d = (size_t)dl, chunk = (size_t)cl;
  for (int i = 0; i < nn; i++)
    SUBQ_CHECK((size_t)ns[i] >= d, SUBQ_ERR_ARG, "option --bench-n: n = %ld must be >= d = %zu", ns[i], d);
  double *buf = NULL;
  SUBQ_CALL(subq_error_agree(ctx->comm, SUBQ_ALLOC(buf, chunk * d)));
  double nd[MAXN], rk[MAXN], nus[MAXN], tf[MAXN], tsel[MAXN], tg[MAXN], ts[MAXN], ratio[MAXN];
  double tcpu[MAXN], ratioc[MAXN], ratiom[MAXN];
  double gf[MAXN], frac[MAXN], dg[MAXN], gfc[MAXN], fracc[MAXN], dgc[MAXN];
  double fgram[MAXN], fscore[MAXN]; /* per pass, CPU time, fraction of dgemm (two passes) */
  int err = SUBQ_OK;
  for (int i = 0; i < nn && !err; i++) {
    /* Best of reps (by total selection time, max over ranks). */
    double best = INFINITY, bestc = INFINITY, mx[4] = {0, 0, 0, 0}, blas = 0, cpu = 0, cput = 0;
    double cpass[2] = {0, 0};
    bench_t b;
    dg[i] = dgc[i] = 0;
    for (long rep = 0; rep < reps && !err; rep++) {
      /* Reference rates right before each rep, by all ranks at once (they share the machine
       * as they do during the selection): wall (subq_bench_dgemm_rate) and CPU-time; the
       * best of the reps' readings (mean over ranks) is the reference, as the selection's
       * figures are its best rep. */
      double rw = 0, rc = 0, mw = 0, mc = 0;
      err = subq_bench_dgemm_rate(ctx->nthreads, &rw);
      if (!err) err = subq_bench_dgemm_cpu_rate(ctx->nthreads, &rc);
      err = subq_error_agree(ctx->comm, err);
      if (!err) err = mean_(ctx->comm, ctx->size, rw, &mw);
      if (!err) err = mean_(ctx->comm, ctx->size, rc, &mc);
      dg[i] = fmax(dg[i], mw);
      dgc[i] = fmax(dgc[i], mc);
      if (!err) err = bench_one_(ctx, (size_t)ns[i], d, chunk, eps, (int)passes, buf, &b);
      double loc[4] = {b.gram, b.factor, b.score, b.gram + b.factor + b.score + b.select}, m[4];
      if (!err) SUBQ_MPI(MPI_Allreduce(loc, m, 4, MPI_DOUBLE, MPI_MAX, ctx->comm));
      if (!err && m[3] < best) {
        best = m[3];
        memcpy(mx, m, sizeof m);
        blas = b.gram + b.score;
      }
      /* CPU figures: the rep with the least CPU time of the selection (max over ranks), as
       * the dgemm reference is the least of 3 CPU times */
      double ct = b.cpu_total, ctm = 0;
      if (!err) SUBQ_MPI(MPI_Allreduce(&ct, &ctm, 1, MPI_DOUBLE, MPI_MAX, ctx->comm));
      if (!err && ctm < bestc) {
        bestc = ctm;
        cpu = b.cpu_blas;
        cput = b.cpu_total;
        cpass[0] = b.cpu_gram;
        cpass[1] = b.cpu_score;
      }
    }
    if (err) break;
    const double D = (double)d, r = (double)b.rank, n = (double)ns[i];
    /* flops as executed by BLAS/LAPACK over all ranks (header comment) */
    const double nb = D < 32 ? 32 : D > 256 ? 256 : D; /* online block (levatt_online.c) */
    const double flops = passes == 2 ? n * D * (D + 1) + 2 * n * D * r
                                     : n * (D * D * D / (3 * nb) + D * D + 2 * nb * D + D * (D + 1));
    double blas_sum, cpu_sum;
    SUBQ_MPI(MPI_Allreduce(&cput, &tcpu[i], 1, MPI_DOUBLE, MPI_MAX, ctx->comm));
    SUBQ_MPI(MPI_Allreduce(&blas, &blas_sum, 1, MPI_DOUBLE, MPI_SUM, ctx->comm));
    SUBQ_MPI(MPI_Allreduce(&cpu, &cpu_sum, 1, MPI_DOUBLE, MPI_SUM, ctx->comm));
    SUBQ_MPI(MPI_Allreduce(MPI_IN_PLACE, cpass, 2, MPI_DOUBLE, MPI_SUM, ctx->comm));
    nd[i] = n;
    rk[i] = r;
    nus[i] = (double)b.nU;
    tg[i] = mx[0];
    tf[i] = mx[1];
    ts[i] = mx[2];
    tsel[i] = mx[3];
    gf[i] = flops / blas_sum * 1e-9;   /* per rank: total flops / total rank-seconds */
    gfc[i] = flops / cpu_sum * 1e-9;   /* per CPU second */
    frac[i] = gf[i] / dg[i];
    fracc[i] = gfc[i] / dgc[i];
    fgram[i] = passes == 2 ? n * D * (D + 1) / cpass[0] * 1e-9 / dgc[i] : NAN;
    fscore[i] = passes == 2 ? 2 * n * D * r / cpass[1] * 1e-9 / dgc[i] : NAN;
    ratio[i] = ratioc[i] = ratiom[i] = NAN;
  }
  for (int i = 0; i < nn && !err; i++)
    for (int j = 0; j < nn; j++)
      if (ns[j] == 4 * ns[i]) {
        ratio[j] = tsel[j] / tsel[i];
        ratioc[j] = tcpu[j] / tcpu[i];
        ratiom[j] = tcpu[j] * dgc[j] / (tcpu[i] * dgc[i]);
      }
  if (!err && ctx->rank == 0) {
    char csv[8192];
    size_t len = (size_t)snprintf(csv, sizeof csv,
                                  "n,d,chunk,ranks,threads,rank,universal_set_size,time_gram_s,"
                                  "time_factor_s,time_score_s,time_select_total_s,t4n_over_tn,"
                                  "leverage_gflops,dgemm_gflops,fraction_of_dgemm,"
                                  "leverage_gflops_cpu,dgemm_gflops_cpu,fraction_of_dgemm_cpu,cpu_select_s,"
                                  "t4n_over_tn_cpu,t4n_over_tn_dgemm_units,gram_fraction_of_dgemm_cpu,"
                                  "score_fraction_of_dgemm_cpu\n");
    for (int i = 0; i < nn && len < sizeof csv; i++)
      len += (size_t)snprintf(csv + len, sizeof csv - len,
                              "%ld,%zu,%zu,%d,%d,%.0f,%.0f,%.6f,%.6f,%.6f,%.6f,%.4f,%.3f,%.3f,%.4f,"
                              "%.3f,%.3f,%.4f,%.6f,%.4f,%.4f,%.4f,%.4f\n", ns[i], d, chunk, ctx->size, ctx->nthreads,
                              rk[i], nus[i], tg[i], tf[i], ts[i], tsel[i], ratio[i], gf[i], dg[i],
                              frac[i], gfc[i], dgc[i], fracc[i], tcpu[i], ratioc[i], ratiom[i], fgram[i], fscore[i]);
    char path[4096];
    err = subq_file_write_atomic(subq_job_path(ctx, "bench.csv", path, sizeof path), csv,
                                 len < sizeof csv ? len : sizeof csv - 1);
    subq_json_t *j = ctx->summary;
    const size_t un = (size_t)nn;
    if (!err) err = subq_json_num_array(j, "bench_n", nd, un);
    if (!err) err = subq_json_int(j, "bench_d", (long long)d);
    if (!err) err = subq_json_int(j, "bench_chunk", (long long)chunk);
    if (!err) err = subq_json_int(j, "bench_passes", passes);
    if (!err) err = subq_json_int(j, "bench_reps", reps);
    if (!err) err = subq_json_num_array(j, "bench_time_select_s", tsel, un);
    if (!err) err = subq_json_num_array(j, "bench_time_gram_s", tg, un);
    if (!err) err = subq_json_num_array(j, "bench_time_factor_s", tf, un);
    if (!err) err = subq_json_num_array(j, "bench_time_score_s", ts, un);
    if (!err) err = subq_json_num_array(j, "bench_universal_set_size", nus, un);
    if (!err) err = subq_json_num_array(j, "bench_t4n_over_tn", ratio, un);
    if (!err) err = subq_json_num_array(j, "bench_leverage_gflops", gf, un);
    if (!err) err = subq_json_num_array(j, "bench_dgemm_gflops", dg, un);
    if (!err) err = subq_json_num_array(j, "bench_fraction_of_dgemm", frac, un);
    if (!err) err = subq_json_num_array(j, "bench_leverage_gflops_cpu", gfc, un);
    if (!err) err = subq_json_num_array(j, "bench_dgemm_gflops_cpu", dgc, un);
    if (!err) err = subq_json_num_array(j, "bench_fraction_of_dgemm_cpu", fracc, un);
    if (!err) err = subq_json_num_array(j, "bench_cpu_select_s", tcpu, un);
    if (!err) err = subq_json_num_array(j, "bench_t4n_over_tn_cpu", ratioc, un);
    if (!err) err = subq_json_num_array(j, "bench_t4n_over_tn_dgemm_units", ratiom, un);
    if (!err) err = subq_json_num_array(j, "bench_gram_fraction_of_dgemm_cpu", fgram, un);
    if (!err) err = subq_json_num_array(j, "bench_score_fraction_of_dgemm_cpu", fscore, un);
    for (int i = 0; i < nn && !err; i++)
      subq_job_table(ctx, "bench n", "%ld: select %.3f s (t4n/tn %.2f; CPU %.2f; dgemm units %.2f), leverage %.2f GFLOP/s = %.0f%% of dgemm %.2f (CPU time: %.0f%%)",
                     ns[i], tsel[i], ratio[i], ratioc[i], ratiom[i], gf[i], 100 * frac[i], dg[i], 100 * fracc[i]);
  }
  subq_free(&buf);
  return subq_error_agree(ctx->comm, err);
}
