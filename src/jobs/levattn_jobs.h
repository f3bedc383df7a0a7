/* Pieces of the levattn job shared between its files. */
#ifndef SUBQ_JOBS_LEVATTN_JOBS_H
#define SUBQ_JOBS_LEVATTN_JOBS_H

#include "jobs/job.h"

/* Collective: `subq levattn --bench` (src/jobs/levattn_bench.c): time of the streamed
 * selection for each --bench-n (d = --bench-d, chunks of --chunk rows, key generation not
 * timed), t(4n)/t(n), and the leverage computation's GFLOP/s against the dgemm rate
 * measured in the same run.  Writes bench.csv and bench_* summary fields. */
int subq_levattn_bench(subq_job_ctx_t *ctx);

#endif
