/* Pieces of the levattn job shared between its files (src/jobs/levattn.c: options, inputs,
 * synthetic keys; levattn_eval.c: selection streamed from a reader and the metrics of one
 * key set; levattn_bench.c: --bench). */
#ifndef SUBQ_JOBS_LEVATTN_JOBS_H
#define SUBQ_JOBS_LEVATTN_JOBS_H

#include "jobs/job.h"
#include "subq/levatt.h"

enum { SUBQ_LEVATTN_MAXL = 16 };

/* What to run, from the options. */
typedef struct {
  int nfn, fn[SUBQ_LEVATTN_MAXL];   /* 0 = softmax, else p */
  int nsel;
  double eps[SUBQ_LEVATTN_MAXL];    /* > 0: threshold */
  size_t k[SUBQ_LEVATTN_MAXL];      /* > 0: top-k */
  double heavy_eps;
  size_t chunk;
  int passes;                       /* 1: online scores (also the two-pass U, compared) */
  double ridge;                     /* passes = 1: lambda */
} subq_levattn_plan_t;

/* CSV text built on rank 0. */
typedef struct {
  char *buf;
  size_t len, cap;
} subq_levattn_text_t;
int subq_levattn_addf(subq_levattn_text_t *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Results gathered over the records of a run (rank 0). */
typedef struct {
  subq_levattn_text_t csv;
  int nrec;
  double min_recall_poly;         /* theorem: non-causal |x|^p recall, must be 1 */
  unsigned long long heavy_poly;  /* heavy entries behind it */
  double min_recall_causal;       /* passes = 1: causal |x|^p recall (must be 1 too) */
  unsigned long long heavy_causal;
  int64_t *first_U;
  size_t first_nU;
} subq_levattn_acc_t;

#define SUBQ_LEVATTN_CSV_HEAD                                                                \
  "source,layer,kv_head,q_head,n,d,fn,select,eps,k,rank,universal_set_size,bound,heavy_eps," \
  "heavy_entries,heavy_recall,heavy_entries_causal,heavy_recall_causal,top8_recall_causal,"   \
  "mass_in_U_causal,attn_rel_error,attn_rel_error_causal,workspace_bytes,time_select_s,"      \
  "time_restricted_s,time_exact_s,passes,ridge_min,sum_scores,sum_bound,"                     \
  "universal_set_size_two_pass,two_pass_outside_U\n"

/* Reads rows [r0, r1) of the keys ('k') or of the queries of head `head` ('q') into out
 * ((r1 - r0) x d, row-major).  Not collective. */
typedef int (*subq_levattn_read_t)(void *arg, int what, int head, size_t r0, size_t r1,
                                   double *out);

/* One key set and its queries, sharded by sequence. */
typedef struct {
  const char *source;        /* CSV "source": kv or data */
  int layer, kv_head;        /* kv: the dump's layer and KV head; data: -1 */
  size_t n, d;               /* keys and their dimension */
  size_t t0, nl;             /* this rank's keys [t0, t0 + nl) */
  size_t nq, q0, ql;         /* queries: total, this rank's [q0, q0 + ql); query i sits at
                                position i (causal mask over key positions) */
  int nheads;                /* query heads evaluated (kv: the GQA group; data: 1) */
  const int *heads;
  subq_levattn_read_t read;  /* keys streamed for the selection, queries per head */
  void *arg;
} subq_levattn_set_t;

/* Collective: U from the keys [g0, g1) of this rank read in chunks of `chunk` rows through
 * `read` ('k', head) into buf (chunk x d): two passes, or one with o->passes = 1 on one
 * rank (subq_levatt_key_reads).  *U allocated (free with subq_free).  Errors: as
 * include/subq/levatt.h and the reader's; agreed. */
int subq_levattn_select_stream(MPI_Comm comm, const subq_levatt_opts_t *o, subq_levattn_read_t read,
                               void *arg, int head, size_t d, size_t g0, size_t g1, size_t chunk,
                               double *buf, int64_t **U, size_t *nU, subq_levatt_info_t *info);

/* Collective: every function and selection of P on the key set S (K, V: all n keys and
 * values, n x d, on every rank): U streamed through S->read, then per query head the
 * heavy-entry recall (non-causal and causal), causal top-8 recall and mass on U, relative
 * errors of the restricted attention, times; one CSV row each into A (rank 0), and the
 * issue's summary fields for the first record.  Errors: as the library's; agreed. */
int subq_levattn_eval(subq_job_ctx_t *ctx, const subq_levattn_set_t *S, const double *K,
                      const double *V, const subq_levattn_plan_t *P, subq_levattn_acc_t *A);

/* Rank 0: the summary fields (n, d, p, eps or k, universal_set_size, bound,
 * heavy_entries, heavy_recall, attn_rel_error, workspace_bytes, time_*; NaN -> null). */
int subq_levattn_summary_fields(subq_json_t *j, size_t n, size_t d, const char *fn, double eps,
                                size_t k, size_t nU, double bound, unsigned long long heavy,
                                double recall, double rel_err, size_t ws, double tsel,
                                double tres, double tex);

/* Collective: `subq levattn --bench` (src/jobs/levattn_bench.c): time of the streamed
 * selection for each --bench-n (d = --bench-d, chunks of --chunk rows, key generation not
 * timed), t(4n)/t(n), and the leverage computation's GFLOP/s against the dgemm rate
 * measured in the same run.  Writes bench.csv and bench_* summary fields. */
int subq_levattn_bench(subq_job_ctx_t *ctx);

#endif
