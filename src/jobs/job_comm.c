/* The "comm" object of summary.json: this job's communication counted through the MPI
 * profiling interface (include/subq/comm.h), max and sum over ranks. */
#include "jobs/job.h"

/* Per-rank totals (data calls, sent, recv, control calls, sent, recv) -> max and sum. */
static int totals_(MPI_Comm comm, const subq_comm_counters_t *d, uint64_t mx[6], uint64_t sm[6]) {
  subq_comm_count_t a = subq_comm_total(d, SUBQ_COMM_DATA), b = subq_comm_total(d, SUBQ_COMM_CONTROL);
  uint64_t v[6] = {a.calls, a.bytes_sent, a.bytes_recv, b.calls, b.bytes_sent, b.bytes_recv};
  subq_comm_control_begin();
  int e = MPI_Allreduce(v, mx, 6, MPI_UINT64_T, MPI_MAX, comm);
  if (e == MPI_SUCCESS) e = MPI_Allreduce(v, sm, 6, MPI_UINT64_T, MPI_SUM, comm);
  subq_comm_control_end();
  if (e != MPI_SUCCESS) return subq_error_mpi(e, __FILE__, __LINE__, __func__, "MPI_Allreduce");
  return 0;
}

int subq_job_comm_summary(subq_job_ctx_t *ctx, const subq_comm_counters_t *d) {
  subq_comm_counters_t mx, sm;
  uint64_t tmx[6], tsm[6];
  SUBQ_CALL(subq_comm_reduce(ctx->comm, d, &mx, &sm));
  SUBQ_CALL(totals_(ctx->comm, d, tmx, tsm));
  if (ctx->rank != 0) return 0;
  subq_json_t *j = ctx->summary;
  SUBQ_CALL(subq_json_begin(j, "comm"));
  SUBQ_CALL(subq_json_str(j, "counted", "MPI interface payload per rank (include/subq/comm.h); "
                                       "data = the algorithm, control = error agreement and timers"));
  SUBQ_CALL(subq_json_int(j, "messages_max", (long long)tmx[0]));
  SUBQ_CALL(subq_json_int(j, "bytes_sent_max", (long long)tmx[1]));
  SUBQ_CALL(subq_json_int(j, "bytes_recv_max", (long long)tmx[2]));
  SUBQ_CALL(subq_json_int(j, "messages_total", (long long)tsm[0]));
  SUBQ_CALL(subq_json_int(j, "bytes_sent_total", (long long)tsm[1]));
  SUBQ_CALL(subq_json_int(j, "control_messages_max", (long long)tmx[3]));
  SUBQ_CALL(subq_json_int(j, "control_bytes_sent_max", (long long)tmx[4]));
  SUBQ_CALL(subq_json_begin(j, "ops"));
  for (int o = 0; o < SUBQ_COMM_NOPS; o++) {
    if (sm.c[SUBQ_COMM_DATA][o].calls == 0) continue;
    SUBQ_CALL(subq_json_begin(j, subq_comm_op_name(o)));
    SUBQ_CALL(subq_json_int(j, "calls_max", (long long)mx.c[SUBQ_COMM_DATA][o].calls));
    SUBQ_CALL(subq_json_int(j, "bytes_sent_max", (long long)mx.c[SUBQ_COMM_DATA][o].bytes_sent));
    SUBQ_CALL(subq_json_int(j, "bytes_recv_max", (long long)mx.c[SUBQ_COMM_DATA][o].bytes_recv));
    SUBQ_CALL(subq_json_int(j, "bytes_sent_total", (long long)sm.c[SUBQ_COMM_DATA][o].bytes_sent));
    SUBQ_CALL(subq_json_end(j));
  }
  SUBQ_CALL(subq_json_end(j));
  SUBQ_CALL(subq_json_end(j));
  return 0;
}
