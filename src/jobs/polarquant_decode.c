/* subq polarquant-decode: sequence-parallel decode attention over a PolarQuant-compressed
 * KV cache (issue 4, "Sequence-parallel attention"; PolarQuant, arXiv 2502.02617) on
 * synthetic tokens, for scaling studies.  The n cached tokens are sharded by sequence over
 * the ranks; each rank quantizes its shard (keys and values, default PolarQuant, 3.875
 * bits/coordinate) and the `heads` query heads of one GQA group attend over the whole cache
 * with subq_quant_attention (scores and values from the codes, log-sum-exp merge).  The
 * exact fp32 output, computed with the same merge from the unquantized shards, gives the
 * error.  Tokens are N(0, 1) draws keyed by (seed, stream, global index), so the data do not
 * depend on the number of ranks. */
#include <math.h>
#include <string.h>

#include "jobs/job.h"
#include "subq/quant.h"

static const subq_opt_spec_t opts_[] = {
    {"n", SUBQ_OPT_INT, "131072", "tokens", "cached tokens in total (sharded by sequence over the ranks)", NULL, 1, 1e10},
    {"d", SUBQ_OPT_INT, "64", "", "head dimension (a multiple of 16, power of two)", NULL, 16, 256},
    {"heads", SUBQ_OPT_INT, "1", "", "query heads sharing the KV head (one GQA group)", NULL, 1, 64},
    {"reps", SUBQ_OPT_INT, "5", "", "decode calls timed; the best is reported", NULL, 1, 1000},
    {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};

/* Exact softmax(scale Q K^T) V over the sharded fp32 cache (rows [0, m) here), merged over
 * comm with the log-sum-exp rule; O is heads x d on every rank. */
static int exact_(MPI_Comm comm, size_t m, int d, int heads, const float *K, const float *V,
                  const float *Q, float scale, float *O) {
  double mx[64], *acc = NULL;
  int err = SUBQ_ALLOC(acc, (size_t)heads * (size_t)(d + 1));
  for (int h = 0; !err && h < heads; h++) {
    mx[h] = -INFINITY;
    for (size_t j = 0; j < m; j++) {
      double s = 0;
      for (int c = 0; c < d; c++) s += (double)Q[h * d + c] * K[j * d + c];
      mx[h] = fmax(mx[h], scale * s);
    }
  }
  if (!err && MPI_Allreduce(MPI_IN_PLACE, mx, heads, MPI_DOUBLE, MPI_MAX, comm) != MPI_SUCCESS)
    err = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce(max) failed");
  for (int h = 0; !err && h < heads; h++) {
    double *a = acc + (size_t)h * (size_t)(d + 1);
    memset(a, 0, (size_t)(d + 1) * sizeof(double));
    for (size_t j = 0; j < m; j++) {
      double s = 0;
      for (int c = 0; c < d; c++) s += (double)Q[h * d + c] * K[j * d + c];
      const double w = exp(scale * s - mx[h]);
      a[0] += w;
      for (int c = 0; c < d; c++) a[1 + c] += w * V[j * d + c];
    }
  }
  if (!err && MPI_Allreduce(MPI_IN_PLACE, acc, heads * (d + 1), MPI_DOUBLE, MPI_SUM, comm) != MPI_SUCCESS)
    err = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce(sum) failed");
  for (int h = 0; !err && h < heads; h++)
    for (int c = 0; c < d; c++)
      O[h * d + c] = (float)(acc[(size_t)h * (size_t)(d + 1) + 1 + (size_t)c] / acc[(size_t)h * (size_t)(d + 1)]);
  subq_free(&acc);
  return err;
}

static int run_(subq_job_ctx_t *ctx) {
  long n, d, heads, reps;
  int e = subq_opts_int(ctx->opts, "n", &n);
  if (!e) e = subq_opts_int(ctx->opts, "d", &d);
  if (!e) e = subq_opts_int(ctx->opts, "heads", &heads);
  if (!e) e = subq_opts_int(ctx->opts, "reps", &reps);
  if (!e && (d & (d - 1)))
    e = SUBQ_FAIL(SUBQ_ERR_ARG, "--d=%ld: the Hadamard rotation needs a power of two", d);
  e = subq_error_agree(ctx->comm, e);
  if (e) return subq_error_trace(e, __FILE__, __LINE__, __func__);
  const size_t i0 = (size_t)n * (size_t)ctx->rank / (size_t)ctx->size,
               i1 = (size_t)n * (size_t)(ctx->rank + 1) / (size_t)ctx->size, m = i1 - i0;
  const float scale = 1.0f / sqrtf((float)d);
  float *K = NULL, *V = NULL, *Q = NULL, *O = NULL, *Oex = NULL;
  subq_quant_t *qk = NULL, *qv = NULL;
  subq_qtensor_t *Kt = NULL, *Vt = NULL;
  if (!e) e = subq_malloc(m ? m : 1, (size_t)d * sizeof(float), &K);
  if (!e) e = subq_malloc(m ? m : 1, (size_t)d * sizeof(float), &V);
  if (!e) e = subq_malloc((size_t)heads, (size_t)d * sizeof(float), &Q);
  if (!e) e = subq_malloc((size_t)heads, (size_t)d * sizeof(float), &O);
  if (!e) e = subq_malloc((size_t)heads, (size_t)d * sizeof(float), &Oex);
  for (size_t k = 0; !e && k < m * (size_t)d; k++) {
    K[k] = subq_rng_gaussf(ctx->seed, 1, i0 * (size_t)d + k);
    V[k] = subq_rng_gaussf(ctx->seed, 2, i0 * (size_t)d + k);
  }
  for (long k = 0; !e && k < heads * d; k++) Q[k] = subq_rng_gaussf(ctx->seed, 3, (uint64_t)k);
  if (!e) e = subq_quant_create("polarquant", (int)d, &qk);
  if (!e) e = subq_quant_create("polarquant", (int)d, &qv);
  if (!e) e = subq_quant_set_seed(qk, ctx->seed);
  if (!e) e = subq_quant_set_seed(qv, ctx->seed);
  if (!e) e = subq_quant_set_role(qv, SUBQ_QUANT_VALUES);
  if (!e) e = subq_quant_setup(qk, 0, NULL);
  if (!e) e = subq_quant_setup(qv, 0, NULL);
  e = subq_error_agree(ctx->comm, e);
  double t0 = subq_wtime(), tq = 0, td = INFINITY, bits = 0;
  if (!e) e = subq_quant_encode(qk, m, K, &Kt);
  if (!e) e = subq_quant_encode(qv, m, V, &Vt);
  e = subq_error_agree(ctx->comm, e);
  if (!e) e = subq_time_max(ctx->comm, subq_wtime() - t0, &tq);
  if (!e) e = subq_job_phase(ctx, "quantize", tq);
  const double tstart = subq_wtime();
  for (long r = 0; !e && r < reps; r++) {
    MPI_Barrier(ctx->comm);
    t0 = subq_wtime();
    e = subq_quant_attention(qk, Kt, qv, Vt, (size_t)heads, Q, scale, O, ctx->comm);
    double t = 0;
    if (!e) e = subq_time_max(ctx->comm, subq_wtime() - t0, &t);
    td = fmin(td, t);
    subq_progress("polarquant-decode calls", (double)(r + 1), (double)reps, tstart);
  }
  if (!e) e = subq_job_phase(ctx, "decode", td);
  if (!e) e = exact_(ctx->comm, m, (int)d, (int)heads, K, V, Q, scale, Oex);
  e = subq_error_agree(ctx->comm, e);
  if (!e) {
    double b = subq_qtensor_bits(Kt) + subq_qtensor_bits(Vt);
    if (MPI_Allreduce(&b, &bits, 1, MPI_DOUBLE, MPI_SUM, ctx->comm) != MPI_SUCCESS)
      e = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce(bits) failed");
  }
  e = subq_error_agree(ctx->comm, e);
  if (!e && ctx->rank == 0) {
    double err = 0, nrm = 0;
    for (long k = 0; k < heads * d; k++) {
      err += (double)(O[k] - Oex[k]) * (O[k] - Oex[k]);
      nrm += (double)Oex[k] * Oex[k];
    }
    const double rel = sqrt(err / nrm), bpc = bits / (2.0 * (double)n * (double)d);
    subq_json_t *j = ctx->summary;
    e = subq_json_int(j, "tokens", n);
    if (!e) e = subq_json_int(j, "head_dim", d);
    if (!e) e = subq_json_int(j, "heads", heads);
    if (!e) e = subq_json_num(j, "bits_per_coord", bpc);
    if (!e) e = subq_json_num(j, "time_quantize_s", tq);
    if (!e) e = subq_json_num(j, "time_decode_s", td);
    if (!e) e = subq_json_num(j, "decode_code_GBps", bits / 8 / td * 1e-9);
    if (!e) e = subq_json_num(j, "rel_err_vs_exact", rel);
    subq_job_table(ctx, "cache", "%ld tokens x d = %ld, %.4f bits/coord (keys and values)", n, d, bpc);
    subq_job_table(ctx, "decode", "%.3e s for %ld head(s) (best of %ld), %.2f GB/s of codes", td,
                   heads, reps, bits / 8 / td * 1e-9);
    subq_job_table(ctx, "quantize", "%.3e s", tq);
    subq_job_table(ctx, "output error", "%.3g relative to exact fp32 attention", rel);
  }
  e = subq_error_agree(ctx->comm, e);
  subq_qtensor_destroy(&Kt), subq_qtensor_destroy(&Vt);
  subq_quant_destroy(&qk), subq_quant_destroy(&qv);
  subq_free(&K), subq_free(&V), subq_free(&Q), subq_free(&O), subq_free(&Oex);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : 0;
}

const subq_job_t subq_job_polarquant_decode = {
    "polarquant-decode",
    "Sequence-parallel decode attention over a PolarQuant-compressed synthetic KV cache.", opts_,
    run_, 0};
