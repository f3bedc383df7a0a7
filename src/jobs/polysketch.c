/* subq polysketch: polynomial-sketch attention (PolySketchFormer, Kacham-Mirrokni-Zhong
 * 2024, arXiv 2310.01655) against exact polynomial attention and exact (flash-style)
 * softmax attention on one head of a KV dump, a data spec or synthetic Gaussian tokens,
 * sharded by sequence over the ranks.  Reports the relative Frobenius errors of the
 * outputs, the times and their ratios.  --bench: time polysketch vs exact softmax for a
 * list of n (a benchmark program, not a test). */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <omp.h>

#include "jobs/job.h"
#include "jobs/kvopts.h"

#define STREAM_Q 0x5051ULL /* synthetic tokens: streams of q, k, v */

static const subq_opt_spec_t opts_[] = {
    SUBQ_KV_OPTS,
    {"data", SUBQ_OPT_STRING, NULL, "", "data spec instead of --kv (rows are tokens, used as q = k = v)", NULL, 0, 0},
    {"n", SUBQ_OPT_INT, "2048", "tokens", "synthetic tokens (no --kv/--data): q, k, v i.i.d. N(0,1)", NULL, 1, 1e9},
    {"d", SUBQ_OPT_INT, "64", "", "synthetic head dimension", NULL, 1, 4096},
    {"r", SUBQ_OPT_INT, "32", "", "sketch size r (features; the kernel has r(r+1)/2)", NULL, 1, 4096},
    {"p", SUBQ_OPT_INT, "4", "", "polynomial degree p (even)", NULL, 2, 64},
    {"sketch", SUBQ_OPT_CHOICE, "gaussian", "", "sketch of the features", "gaussian|srht|tensorsketch", 0, 0},
    {"block", SUBQ_OPT_INT, "256", "tokens", "block size b of the causal block algorithm and of the key blocks", NULL, 1, 1 << 20},
    {"mixed", SUBQ_OPT_FLAG, "0", "", "exact polynomial attention on the diagonal blocks", NULL, 0, 0},
    {"causal", SUBQ_OPT_FLAG, "1", "", "causal attention (--causal=0: non-causal)", NULL, 0, 0},
    {"precision", SUBQ_OPT_CHOICE, "f64", "", "arithmetic of all three attentions", "f64|f32", 0, 0},
    {"save", SUBQ_OPT_FLAG, "0", "", "write out_sketch.npy, out_exact_poly.npy, out_softmax.npy (n x dv); with --bench: bench_{q,k,v,out_softmax}_n<N>.npy", NULL, 0, 0},
    {"bench", SUBQ_OPT_FLAG, "0", "", "benchmark: time polysketch vs exact softmax for each --bench-n (synthetic)", NULL, 0, 0},
    {"bench-n", SUBQ_OPT_LIST, "1024,2048,4096,8192,16384,32768", "tokens", "n values of --bench", NULL, 1, 1e8},
    {"bench-exact-max-n", SUBQ_OPT_INT, "32768", "tokens", "--bench times the exact attentions only up to this n", NULL, 1, 1e9},
    {"bench-reps", SUBQ_OPT_INT, "3", "", "--bench: runs per timing, the fastest is reported", NULL, 1, 1000},
    {"bench-poly", SUBQ_OPT_FLAG, "0", "", "--bench also times exact polynomial attention", NULL, 0, 0},
    {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};

typedef struct {
  subq_attn_type_t type;
  int d, dv, r, p, block, mixed, causal, f32;
  subq_sketch_type_t sketch;
  uint64_t seed;
  subq_device_t device; /* all three attentions run here (--device) */
} cfg_t;

/* CPU seconds of this process, all threads.  On the shared development machine a
 * one-thread run's CPU time is its run time without the time it spent descheduled. */
static double cputime_(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Times of run_attn_: wall = max over ranks, the minimum over the repetitions (the least
 * disturbed run); cpu = max over ranks of this process's CPU seconds in the same
 * repetition; gemm flops and seconds of this rank in that repetition. */
typedef struct {
  double wall, cpu, gemm_flops, gemm_s, gemm_cpu_s;
} times_t;

/* Run one attention on this rank's nl tokens reps times (operator set up once); O in
 * double (from the last repetition). */
static int run_attn_(MPI_Comm comm, const cfg_t *c, subq_attn_type_t type, size_t nl,
                     const double *Q, const double *K, const double *V, double *O, int reps,
                     times_t *tm) {
  subq_attn_t *a = NULL;
  float *f = NULL;
  const size_t nq = nl * (size_t)c->d, nv = nl * (size_t)c->dv;
  int err = subq_attn_create(comm, type, c->d, c->dv, &a);
  if (!err) err = subq_attn_set_device(a, c->device);
  if (!err) err = subq_attn_set_causal(a, c->causal);
  if (!err) err = subq_attn_set_block(a, c->block);
  if (!err && type != SUBQ_ATTN_SOFTMAX) err = subq_attn_set_degree(a, c->p);
  if (!err && type == SUBQ_ATTN_POLYSKETCH) err = subq_attn_set_sketch(a, c->sketch, c->r, c->seed);
  if (!err && type == SUBQ_ATTN_POLYSKETCH) err = subq_attn_set_mixed(a, c->mixed);
  if (!err) err = subq_attn_setup(a);
  if (!err && c->f32) err = subq_malloc(2 * nq + 2 * nv + 1, sizeof(float), &f);
  err = subq_error_agree(comm, err);
  if (err) goto done;
  float *fq = f, *fk = f + nq, *fv = fk + nq, *fo = fv + nv;
  if (c->f32) {
    for (size_t i = 0; i < nq; i++) fq[i] = (float)Q[i], fk[i] = (float)K[i];
    for (size_t i = 0; i < nv; i++) fv[i] = (float)V[i];
  }
  tm->wall = tm->cpu = INFINITY;
  for (int rep = 0; rep < (reps > 0 ? reps : 1); rep++) {
    MPI_Barrier(comm);
    double tc = cputime_(), t = subq_wtime();
    err = c->f32 ? subq_attn_apply_f32(a, nl, fq, fk, fv, fo) : subq_attn_apply(a, nl, Q, K, V, O);
    t = subq_wtime() - t;
    tc = cputime_() - tc;
    if (err) goto done;
    double tw[2] = {t, tc}, tmax[2];
    if (MPI_Allreduce(tw, tmax, 2, MPI_DOUBLE, MPI_MAX, comm) != MPI_SUCCESS) {
      err = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce of the times failed");
      goto done;
    }
    if (tmax[0] < tm->wall) {
      tm->wall = tmax[0];
      tm->cpu = tmax[1];
      subq_attn_gemm_stats(a, &tm->gemm_flops, &tm->gemm_s);
      subq_attn_gemm_stats_cpu(a, &tm->gemm_cpu_s);
    }
  }
  if (c->f32)
    for (size_t i = 0; i < nv; i++) O[i] = fo[i];
done:
  subq_attn_destroy(&a);
  subq_free(&f);
  return err;
}

/* Relative Frobenius error ||A - B|| / ||B|| over all ranks (collective). */
static int rel_err_(MPI_Comm comm, const double *A, const double *B, size_t n, double *e) {
  double s[2] = {0, 0}, g[2];
  for (size_t i = 0; i < n; i++) {
    s[0] += (A[i] - B[i]) * (A[i] - B[i]);
    s[1] += B[i] * B[i];
  }
  SUBQ_MPI(MPI_Allreduce(s, g, 2, MPI_DOUBLE, MPI_SUM, comm));
  *e = g[1] > 0 ? sqrt(g[0] / g[1]) : sqrt(g[0]);
  return SUBQ_OK;
}

/* Gather the n x dv rows to rank 0 and write them as float64 .npy (collective). */
static int save_(subq_job_ctx_t *ctx, const char *file, const double *O, size_t nl, size_t n,
                 int dv) {
  int *cnt = NULL, *dsp = NULL;
  double *all = NULL;
  int err = SUBQ_OK, me = (int)(nl * (size_t)dv);
  SUBQ_CHECK(n * (size_t)dv < (size_t)INT32_MAX, SUBQ_ERR_UNSUPPORTED, "--save: n too large");
  if (ctx->rank == 0) {
    err = subq_malloc((size_t)ctx->size, sizeof(int), &cnt);
    if (!err) err = subq_malloc((size_t)ctx->size, sizeof(int), &dsp);
    if (!err) err = subq_malloc(n * (size_t)dv + 1, sizeof(double), &all);
  }
  err = subq_error_agree(ctx->comm, err);
  if (!err) {
    MPI_Gather(&me, 1, MPI_INT, cnt, 1, MPI_INT, 0, ctx->comm);
    if (ctx->rank == 0)
      for (int r = 0, o = 0; r < ctx->size; r++) dsp[r] = o, o += cnt[r];
    MPI_Gatherv(O, me, MPI_DOUBLE, all, cnt, dsp, MPI_DOUBLE, 0, ctx->comm);
    char path[4096];
    size_t shape[2] = {n, (size_t)dv};
    if (ctx->rank == 0)
      err = subq_npy_write(subq_job_path(ctx, file, path, sizeof path), SUBQ_F64, 2, shape, all);
    err = subq_error_agree(ctx->comm, err);
  }
  subq_free(&cnt);
  subq_free(&dsp);
  subq_free(&all);
  return err;
}

/* Inputs for this rank: tokens [t0, t1) of n. */
typedef struct {
  size_t n, t0, t1;
  int d, dv;
  double *Q, *K, *V;
  char what[512];
} input_t;

static void synth_(input_t *in, uint64_t seed) {
  const size_t nl = in->t1 - in->t0, d = (size_t)in->d;
  for (size_t i = 0; i < nl * d; i++) {
    const uint64_t g = in->t0 * d + i;
    in->Q[i] = subq_rng_gauss(seed, STREAM_Q, g);
    in->K[i] = subq_rng_gauss(seed, STREAM_Q + 1, g);
    in->V[i] = subq_rng_gauss(seed, STREAM_Q + 2, g);
  }
}

static int alloc_in_(input_t *in) {
  const size_t nl = in->t1 - in->t0;
  int err = subq_malloc(nl * (size_t)in->d + 1, sizeof(double), &in->Q);
  if (!err) err = subq_malloc(nl * (size_t)in->d + 1, sizeof(double), &in->K);
  if (!err) err = subq_malloc(nl * (size_t)in->dv + 1, sizeof(double), &in->V);
  return err;
}

static void free_in_(input_t *in) {
  subq_free(&in->Q);
  subq_free(&in->K);
  subq_free(&in->V);
}

/* Agree on the outcome of loading; on error every rank frees its inputs. */
static int agree_in_(subq_job_ctx_t *ctx, input_t *in, int err) {
  err = subq_error_agree(ctx->comm, err);
  if (err) {
    free_in_(in);
    return subq_error_trace(err, __FILE__, __LINE__, __func__);
  }
  return SUBQ_OK;
}

static int load_(subq_job_ctx_t *ctx, input_t *in) {
  const subq_opts_t *o = ctx->opts;
  int err = SUBQ_OK;
  SUBQ_CHECK(!(subq_opts_has(o, "kv") && subq_opts_has(o, "data")), SUBQ_ERR_ARG,
             "options --kv and --data are mutually exclusive (give one input)");
  if (subq_opts_has(o, "kv")) {
    subq_kv_sel_t sel;
    SUBQ_CALL(subq_kvopts_open(ctx->comm, o, &sel));
    in->n = sel.tokens;
    in->t0 = sel.t0;
    in->t1 = sel.t1;
    in->d = in->dv = sel.meta->head_dim;
    const char *dir = NULL;
    subq_opts_string(o, "kv", &dir);
    snprintf(in->what, sizeof in->what, "kv:%s layer %d head %d (kv head %d)", dir, sel.layer,
             sel.q_head, sel.kv_head);
    err = alloc_in_(in);
    if (!err) err = subq_kv_load(sel.kv, 'q', sel.layer, sel.q_head, in->t0, in->t1, in->Q);
    if (!err) err = subq_kv_load(sel.kv, 'k', sel.layer, sel.kv_head, in->t0, in->t1, in->K);
    if (!err) err = subq_kv_load(sel.kv, 'v', sel.layer, sel.kv_head, in->t0, in->t1, in->V);
    subq_kvopts_close(&sel);
    return agree_in_(ctx, in, err);
  }
  if (subq_opts_has(o, "data")) {
    const char *spec = NULL;
    subq_source_t *src = NULL;
    SUBQ_CALL(subq_opts_string(o, "data", &spec));
    err = subq_source_open(spec, &src);
    if (!err) {
      in->n = subq_source_rows(src);
      in->d = in->dv = (int)subq_source_cols(src);
      subq_kvopts_block(in->n, ctx->size, ctx->rank, &in->t0, &in->t1);
      snprintf(in->what, sizeof in->what, "%s (q = k = v)", subq_source_describe(src));
      err = alloc_in_(in);
    }
    if (!err) err = subq_source_read(src, in->t0, in->t1, in->Q);
    if (!err) {
      const size_t m = (in->t1 - in->t0) * (size_t)in->d;
      memcpy(in->K, in->Q, m * sizeof(double));
      memcpy(in->V, in->Q, m * sizeof(double));
    }
    subq_source_close(&src);
    return agree_in_(ctx, in, err);
  }
  long n, d;
  SUBQ_CALL(subq_opts_int(o, "n", &n));
  SUBQ_CALL(subq_opts_int(o, "d", &d));
  SUBQ_CHECK(n >= 1, SUBQ_ERR_ARG, "--n: n must be >= 1 synthetic tokens, got %ld", n);
  in->n = (size_t)n;
  in->d = in->dv = (int)d;
  subq_kvopts_block(in->n, ctx->size, ctx->rank, &in->t0, &in->t1);
  snprintf(in->what, sizeof in->what, "synthetic gauss n=%ld d=%ld seed=%llu", n, d,
           (unsigned long long)ctx->seed);
  SUBQ_CALL(agree_in_(ctx, in, alloc_in_(in)));
  synth_(in, ctx->seed);
  return SUBQ_OK;
}

static int read_cfg_(subq_job_ctx_t *ctx, cfg_t *c) {
  const subq_opts_t *o = ctx->opts;
  long r, p, b;
  const char *sk, *prec;
  SUBQ_CALL(subq_opts_int(o, "r", &r));
  SUBQ_CALL(subq_opts_int(o, "p", &p));
  SUBQ_CALL(subq_opts_int(o, "block", &b));
  SUBQ_CALL(subq_opts_string(o, "sketch", &sk));
  SUBQ_CALL(subq_opts_string(o, "precision", &prec));
  SUBQ_CALL(subq_opts_flag(o, "mixed", &c->mixed));
  SUBQ_CALL(subq_opts_flag(o, "causal", &c->causal));
  SUBQ_CHECK(p % 2 == 0, SUBQ_ERR_ARG, "option --p: the degree must be even, got %ld", p);
  SUBQ_CALL(subq_sketch_type_from_name(sk, &c->sketch));
  c->r = (int)r;
  c->p = (int)p;
  c->block = (int)b;
  c->f32 = !strcmp(prec, "f32");
  c->seed = ctx->seed;
  c->device = ctx->device;
  return SUBQ_OK;
}

/* sgemm rate (GFLOP/s) of one n = 1024 product on this rank (BLAS threads as set), best
 * of >= 0.3 s, by wall time and by process CPU time. */
static void sgemm_rate_(double *wall, double *cpu) {
  const int n = 1024;
  float *a = NULL;
  *wall = *cpu = 0;
  if (subq_malloc(3 * (size_t)n * n, sizeof(float), &a)) return;
  for (size_t i = 0; i < 3 * (size_t)n * n; i++) a[i] = (float)subq_rng_gauss(1, 9, i);
  double best = 1e300, bestc = 1e300, spent = 0;
  for (int rep = 0; rep < 50 && (rep < 3 || spent < 0.3); rep++) {
    double tc = cputime_(), t = subq_wtime();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, a + n * n, n,
                0.0f, a + 2 * (size_t)n * n, n);
    t = subq_wtime() - t;
    tc = cputime_() - tc;
    spent += t;
    best = t < best ? t : best;
    bestc = tc < bestc ? tc : bestc;
  }
  subq_free(&a);
  *wall = 2.0 * n * (double)n * n / best * 1e-9;
  *cpu = 2.0 * n * (double)n * n / bestc * 1e-9;
}

/* The normalised kernel error of the paper's Theorem 2.5 form, on rank 0 (not collective):
 * eps_ij = |<phi(q^_i), phi(k^_j)>^2 - <q^_i, k^_j>^p| / (|q^_i|^p |k^_j|^p) over all causal
 * pairs j <= i among the first min(256, n_local) tokens, q^, k^ layer-normalised (as the
 * attention does) and phi built with the attention's seed and stream.  Mean and max. */
static int kernel_err_(const cfg_t *c, size_t nl, const double *Q, const double *K,
                       double *mean, double *max) {
  const size_t m = nl < 256 ? nl : 256;
  const int d = c->d, r = c->r;
  double *qn = NULL, *kn = NULL, *fq = NULL, *fk = NULL;
  subq_polysketch_t *ps = NULL;
  int err = subq_malloc(m * (size_t)d + 1, sizeof(double), &qn);
  if (!err) err = subq_malloc(m * (size_t)d + 1, sizeof(double), &kn);
  if (!err) err = subq_malloc(m * (size_t)r + 1, sizeof(double), &fq);
  if (!err) err = subq_malloc(m * (size_t)r + 1, sizeof(double), &fk);
  if (!err) err = subq_polysketch_create(c->sketch, d, r, c->p / 2, c->seed, 0, &ps);
  if (!err) err = subq_layer_norm(m, d, Q, qn);
  if (!err) err = subq_layer_norm(m, d, K, kn);
  if (!err && m) err = subq_polysketch_features(ps, m, qn, (size_t)d, fq, (size_t)r);
  if (!err && m) err = subq_polysketch_features(ps, m, kn, (size_t)d, fk, (size_t)r);
  double sum = 0, mx = 0, cnt = 0;
  for (size_t i = 0; i < m && !err; i++)
    for (size_t j = 0; j <= i; j++) {
      const double nq = cblas_ddot(d, qn + i * d, 1, qn + i * d, 1);
      const double nk = cblas_ddot(d, kn + j * d, 1, kn + j * d, 1);
      const double ex = pow(cblas_ddot(d, qn + i * d, 1, kn + j * d, 1), c->p);
      const double sk = pow(cblas_ddot(r, fq + i * r, 1, fk + j * r, 1), 2);
      const double den = pow(nq * nk, c->p / 2.0);
      if (!(den > 0)) continue;
      const double e = fabs(sk - ex) / den;
      sum += e;
      mx = e > mx ? e : mx;
      cnt++;
    }
  *mean = cnt > 0 ? sum / cnt : 0;
  *max = mx;
  subq_polysketch_destroy(&ps);
  subq_free(&qn);
  subq_free(&kn);
  subq_free(&fq);
  subq_free(&fk);
  return err;
}

/* --bench: for each n, polysketch, exact softmax (and exact poly) on synthetic N(0,1)
 * tokens, each the fastest of --bench-reps runs.  Rates: polysketch's block products are
 * the flops counted in its gemm calls over the seconds spent in them; the exact causal
 * softmax counts 2 n^2 d flops (Q K^T and P V, half each by causality) over its whole run
 * time, as the issue defines it; both as fractions of the sgemm rate measured in the same
 * run (the higher of a measurement before and one after the sizes, so the fractions err
 * low).  CPU-time columns repeat the figures with process CPU seconds, which a shared
 * machine disturbs less than wall time (meaningful for one thread per rank).  --save
 * writes bench_{q,k,v,out_softmax}_n<N>.npy (float64) for tools/bench/torch_sdpa.py. */
static int bench_(subq_job_ctx_t *ctx, cfg_t *c) {
  long ns[32], d, reps;
  int nn = 0, poly = 0, save = 0;
  long exact_max = 0;
  SUBQ_CALL(subq_opts_list(ctx->opts, "bench-n", ns, 32, &nn));
  SUBQ_CALL(subq_opts_int(ctx->opts, "bench-exact-max-n", &exact_max));
  SUBQ_CALL(subq_opts_int(ctx->opts, "bench-reps", &reps));
  SUBQ_CALL(subq_opts_flag(ctx->opts, "bench-poly", &poly));
  SUBQ_CALL(subq_opts_flag(ctx->opts, "save", &save));
  SUBQ_CALL(subq_opts_int(ctx->opts, "d", &d));
  c->d = c->dv = (int)d;
  /* The reference rate: this rank's CPU sgemm (by wall and by CPU time), or on cuda the
   * device's cuBLAS gemm in the run's precision (column device says which). */
  const int dev = c->device == SUBQ_DEVICE_CUDA;
  double pk0 = 0, pkc0 = 0, pk1 = 0, pkc1 = 0;
  if (dev) {
    SUBQ_CALL(subq_error_agree(ctx->comm, subq_bench_device_gemm_rate(c->f32, &pk0)));
    pkc0 = pk0;
  } else {
    sgemm_rate_(&pk0, &pkc0);
  }
  if (ctx->rank == 0)
    printf("  %s rate (%s): %.1f GFLOP/s (CPU time: %.1f)\n"
           "  %8s %11s %11s %11s %9s %9s %9s %9s\n",
           dev ? (c->f32 ? "cuBLAS sgemm" : "cuBLAS dgemm") : "sgemm",
           dev ? "n=4096, this rank's device" : "n=1024, this rank", pk0, pkc0, "n",
           "polysketch", "softmax", "poly", "speedup", "(cpu)", "sk gemm%", "soft%");
  double sp[32], spc[32], tsk[32], tso[32], tpo[32], csk[32], cso[32], skr[32], skrc[32],
      sor[32], sorc[32];
  for (int k = 0; k < nn; k++) {
    input_t in = {0};
    in.n = (size_t)ns[k];
    in.d = in.dv = c->d;
    subq_kvopts_block(in.n, ctx->size, ctx->rank, &in.t0, &in.t1);
    SUBQ_CALL(subq_error_agree(ctx->comm, alloc_in_(&in)));
    synth_(&in, ctx->seed);
    const size_t nl = in.t1 - in.t0;
    double *O = NULL;
    times_t ts = {0}, tf = {NAN, NAN, 0, 0, 0}, tp = {NAN, NAN, 0, 0, 0};
    const int exact = ns[k] <= exact_max;
    int err = subq_error_agree(ctx->comm, subq_malloc(nl * (size_t)c->dv + 1, sizeof(double), &O));
    if (!err) err = run_attn_(ctx->comm, c, SUBQ_ATTN_POLYSKETCH, nl, in.Q, in.K, in.V, O, (int)reps, &ts);
    if (!err && exact && poly) err = run_attn_(ctx->comm, c, SUBQ_ATTN_POLY, nl, in.Q, in.K, in.V, O, (int)reps, &tp);
    if (!err && exact) err = run_attn_(ctx->comm, c, SUBQ_ATTN_SOFTMAX, nl, in.Q, in.K, in.V, O, (int)reps, &tf);
    if (!err && save && exact) {
      char f[4][64];
      snprintf(f[0], sizeof f[0], "bench_q_n%zu.npy", in.n);
      snprintf(f[1], sizeof f[1], "bench_k_n%zu.npy", in.n);
      snprintf(f[2], sizeof f[2], "bench_v_n%zu.npy", in.n);
      snprintf(f[3], sizeof f[3], "bench_out_softmax_n%zu.npy", in.n);
      err = save_(ctx, f[0], in.Q, nl, in.n, in.d);
      if (!err) err = save_(ctx, f[1], in.K, nl, in.n, in.d);
      if (!err) err = save_(ctx, f[2], in.V, nl, in.n, in.dv);
      if (!err) err = save_(ctx, f[3], O, nl, in.n, in.dv);
    }
    subq_free(&O);
    free_in_(&in);
    SUBQ_CALL(err);
    const double flops = (c->causal ? 2.0 : 4.0) * (double)in.n * (double)in.n * c->d / ctx->size;
    skr[k] = ts.gemm_s > 0 ? ts.gemm_flops / ts.gemm_s * 1e-9 : 0; /* GFLOP/s, rank 0 */
    skrc[k] = ts.gemm_cpu_s > 0 ? ts.gemm_flops / ts.gemm_cpu_s * 1e-9 : 0;
    sor[k] = flops / tf.wall * 1e-9;
    sorc[k] = flops / tf.cpu * 1e-9;
    sp[k] = tf.wall / ts.wall;
    spc[k] = tf.cpu / ts.cpu;
    tsk[k] = ts.wall;
    tso[k] = tf.wall;
    tpo[k] = tp.wall;
    csk[k] = ts.cpu;
    cso[k] = tf.cpu;
    if (ctx->rank == 0)
      printf("  %8zu %10.4fs %10.4fs %10.4fs %8.2fx %8.2fx %8.0f%% %8.0f%%\n", in.n, ts.wall,
             tf.wall, tp.wall, sp[k], spc[k], 100 * skr[k] / pk0, 100 * sor[k] / pk0);
    subq_job_progress(ctx, "bench sizes", k + 1, nn, ctx->t_start);
  }
  if (dev) {
    SUBQ_CALL(subq_error_agree(ctx->comm, subq_bench_device_gemm_rate(c->f32, &pk1)));
    pkc1 = pk1;
  } else {
    sgemm_rate_(&pk1, &pkc1);
  }
  const double peak = pk0 > pk1 ? pk0 : pk1, peakc = pkc0 > pkc1 ? pkc0 : pkc1;
  if (ctx->rank == 0) {
    char path[4096], *csv = NULL;
    const size_t cap = 512 + 400 * (size_t)nn;
    SUBQ_CALL(subq_malloc(cap, 1, &csv));
    int L = snprintf(csv, cap,
                     "n,d,r,p,block,precision,ranks,threads,reps,t_polysketch_s,t_softmax_s,"
                     "t_poly_s,cpu_polysketch_s,cpu_softmax_s,speedup_vs_softmax,"
                     "speedup_vs_softmax_cpu,sketch_gemm_frac_of_peak,softmax_frac_of_peak,"
                     "sketch_gemm_frac_of_peak_cpu,softmax_frac_of_peak_cpu,sgemm_peak_gflops,"
                     "sgemm_peak_gflops_cpu,device\n");
    for (int k = 0; k < nn; k++)
      L += snprintf(csv + L, cap - (size_t)L,
                    "%ld,%d,%d,%d,%d,%s,%d,%d,%ld,%.6f,%.6f,%.6f,%.6f,%.6f,%.3f,%.3f,%.3f,%.3f,"
                    "%.3f,%.3f,%.2f,%.2f,%s\n",
                    ns[k], c->d, c->r, c->p, c->block, c->f32 ? "f32" : "f64", ctx->size,
                    omp_get_max_threads(), reps, tsk[k], tso[k], tpo[k], csk[k], cso[k], sp[k],
                    spc[k], skr[k] / peak, sor[k] / peak, skrc[k] / peakc, sorc[k] / peakc, peak,
                    peakc, subq_device_name(c->device));
    int err = subq_file_write_atomic(subq_job_path(ctx, "bench.csv", path, sizeof path), csv,
                                     strlen(csv));
    subq_free(&csv);
    SUBQ_CALL(err);
    printf("  sgemm rate after: %.1f GFLOP/s; fractions in bench.csv use %.1f (CPU time %.1f)\n",
           pk1, peak, peakc);
    double nd[32];
    for (int k = 0; k < nn; k++) nd[k] = (double)ns[k];
    SUBQ_CALL(subq_json_num_array(ctx->summary, "bench_n", nd, (size_t)nn));
    SUBQ_CALL(subq_json_num_array(ctx->summary, "bench_speedup_vs_softmax", sp, (size_t)nn));
    SUBQ_CALL(subq_json_num_array(ctx->summary, "bench_speedup_vs_softmax_cpu", spc, (size_t)nn));
    SUBQ_CALL(subq_json_num_array(ctx->summary, "bench_time_polysketch_s", tsk, (size_t)nn));
    SUBQ_CALL(subq_json_num_array(ctx->summary, "bench_time_softmax_s", tso, (size_t)nn));
    SUBQ_CALL(subq_json_num_array(ctx->summary, "bench_cpu_polysketch_s", csk, (size_t)nn));
    SUBQ_CALL(subq_json_num_array(ctx->summary, "bench_cpu_softmax_s", cso, (size_t)nn));
    SUBQ_CALL(subq_json_num(ctx->summary, "sgemm_peak_gflops", peak));
    SUBQ_CALL(subq_json_num(ctx->summary, "sgemm_peak_gflops_cpu", peakc));
    SUBQ_CALL(subq_json_int(ctx->summary, "bench_reps", reps));
    subq_job_table(ctx, "bench", "%d sizes, speedup at n=%ld: %.2fx (bench.csv)", nn,
                   ns[nn - 1], sp[nn - 1]);
  }
  return SUBQ_OK;
}

static int run_(subq_job_ctx_t *ctx) {
  cfg_t c = {0};
  int bench = 0, save = 0;
  SUBQ_CALL(subq_error_agree(ctx->comm, read_cfg_(ctx, &c)));
  SUBQ_CALL(subq_opts_flag(ctx->opts, "bench", &bench));
  SUBQ_CALL(subq_opts_flag(ctx->opts, "save", &save));
  if (bench) return bench_(ctx, &c);
  input_t in = {0};
  double t = subq_wtime();
  SUBQ_CALL(load_(ctx, &in));
  SUBQ_CALL(subq_job_phase(ctx, "load", subq_wtime() - t));
  subq_job_progress(ctx, "steps (load, polysketch, exact poly, exact softmax)", 1, 4, ctx->t_start);
  c.d = in.d;
  c.dv = in.dv;
  const size_t nl = in.t1 - in.t0, nv = nl * (size_t)in.dv;
  double *Os = NULL, *Op = NULL, *Of = NULL;
  double e_poly, e_soft, e_gap;
  times_t tms = {0}, tmp = {0}, tmf = {0};
  int err = subq_malloc(nv + 1, sizeof(double), &Os);
  if (!err) err = subq_malloc(nv + 1, sizeof(double), &Op);
  if (!err) err = subq_malloc(nv + 1, sizeof(double), &Of);
  err = subq_error_agree(ctx->comm, err);
  if (!err) err = run_attn_(ctx->comm, &c, SUBQ_ATTN_POLYSKETCH, nl, in.Q, in.K, in.V, Os, 1, &tms);
  if (!err) subq_job_progress(ctx, "steps (load, polysketch, exact poly, exact softmax)", 2, 4, ctx->t_start);
  if (!err) err = run_attn_(ctx->comm, &c, SUBQ_ATTN_POLY, nl, in.Q, in.K, in.V, Op, 1, &tmp);
  if (!err) subq_job_progress(ctx, "steps (load, polysketch, exact poly, exact softmax)", 3, 4, ctx->t_start);
  if (!err) err = run_attn_(ctx->comm, &c, SUBQ_ATTN_SOFTMAX, nl, in.Q, in.K, in.V, Of, 1, &tmf);
  if (!err) subq_job_progress(ctx, "steps (load, polysketch, exact poly, exact softmax)", 4, 4, ctx->t_start);
  const double ts = tms.wall, tp = tmp.wall, tf = tmf.wall, gf = tms.gemm_flops, gs = tms.gemm_s;
  if (!err) err = rel_err_(ctx->comm, Os, Op, nv, &e_poly);
  if (!err) err = rel_err_(ctx->comm, Os, Of, nv, &e_soft);
  if (!err) err = rel_err_(ctx->comm, Op, Of, nv, &e_gap);
  if (!err) err = subq_job_phase(ctx, "polysketch", ts);
  if (!err) err = subq_job_phase(ctx, "exact_poly", tp);
  if (!err) err = subq_job_phase(ctx, "exact_softmax", tf);
  double gsum[2] = {gs, ts}, gmax[2];
  if (!err) err = MPI_Allreduce(gsum, gmax, 2, MPI_DOUBLE, MPI_MAX, ctx->comm) == MPI_SUCCESS
                      ? SUBQ_OK : SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce failed");
  if (!err && save) err = save_(ctx, "out_sketch.npy", Os, nl, in.n, in.dv);
  if (!err && save) err = save_(ctx, "out_exact_poly.npy", Op, nl, in.n, in.dv);
  if (!err && save) err = save_(ctx, "out_softmax.npy", Of, nl, in.n, in.dv);
  double keps_mean = 0, keps_max = 0;
  if (!err && ctx->rank == 0) err = kernel_err_(&c, nl, in.Q, in.K, &keps_mean, &keps_max);
  if (!err && ctx->rank == 0) {
    subq_json_t *j = ctx->summary;
    const double frac = ts > 0 ? gs / ts : 0;
    err = subq_json_str(j, "input", in.what);
    if (!err) err = subq_json_int(j, "n", (long long)in.n);
    if (!err) err = subq_json_int(j, "d", in.d);
    if (!err) err = subq_json_int(j, "r", c.r);
    if (!err) err = subq_json_int(j, "p", c.p);
    if (!err) err = subq_json_str(j, "sketch", subq_sketch_type_name(c.sketch));
    if (!err) err = subq_json_int(j, "block", c.block);
    if (!err) err = subq_json_bool(j, "mixed", c.mixed);
    if (!err) err = subq_json_bool(j, "causal", c.causal);
    if (!err) err = subq_json_str(j, "precision", c.f32 ? "f32" : "f64");
    if (!err) err = subq_json_num(j, "rel_err_vs_poly", e_poly);
    if (!err) err = subq_json_num(j, "rel_err_vs_softmax", e_soft);
    if (!err) err = subq_json_num(j, "rel_err_poly_vs_softmax", e_gap);
    if (!err) err = subq_json_num(j, "kernel_err_normalised_mean", keps_mean);
    if (!err) err = subq_json_num(j, "kernel_err_normalised_max", keps_max);
    if (!err) err = subq_json_num(j, "time_sketch_s", ts);
    if (!err) err = subq_json_num(j, "time_exact_poly_s", tp);
    if (!err) err = subq_json_num(j, "time_exact_softmax_s", tf);
    if (!err) err = subq_json_num(j, "speedup_vs_softmax", tf / ts);
    if (!err) err = subq_json_num(j, "speedup_vs_poly", tp / ts);
    if (!err) err = subq_json_num(j, "sgemm_fraction", frac);
    if (!err) err = subq_json_num(j, "gemm_gflops_sketch_rank0", gs > 0 ? gf / gs * 1e-9 : 0);
    subq_job_table(ctx, "input", "%s", in.what);
    subq_job_table(ctx, "polysketch", "%s r=%d p=%d block=%d%s%s on %s",
                   subq_sketch_type_name(c.sketch), c.r, c.p, c.block, c.mixed ? " mixed" : "",
                   c.causal ? " causal" : "", subq_device_name(c.device));
    subq_job_table(ctx, "rel err vs exact poly", "%.4f", e_poly);
    subq_job_table(ctx, "rel err vs softmax", "%.4f (exact poly vs softmax %.4f)", e_soft, e_gap);
    subq_job_table(ctx, "kernel err (Thm 2.5 form)", "mean %.4f, max %.4f", keps_mean, keps_max);
    subq_job_table(ctx, "time sketch/poly/softmax", "%.4f / %.4f / %.4f s", ts, tp, tf);
    subq_job_table(ctx, "speedup vs softmax", "%.2fx (vs exact poly %.2fx)", tf / ts, tp / ts);
  }
  err = subq_error_agree(ctx->comm, err);
  subq_free(&Os);
  subq_free(&Op);
  subq_free(&Of);
  free_in_(&in);
  return err;
}

const subq_job_t subq_job_polysketch = {
    "polysketch",
    "Polynomial-sketch attention (PolySketchFormer) vs exact polynomial and softmax attention.",
    opts_, run_, 0};
