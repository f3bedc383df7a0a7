/* Communication counters through the MPI profiling interface (include/subq/comm.h).
 * Each wrapper counts, then calls the PMPI_ entry point with the same arguments. */
#include <string.h>

#include "subq/comm.h"
#include "subq/core.h"

static subq_comm_counters_t cnt_;
static int control_depth_;

static const char *const names_[SUBQ_COMM_NOPS] = {
    "Allreduce", "Reduce",  "Bcast",     "Exscan",    "Scan",     "Allgather", "Allgatherv",
    "Gather",    "Gatherv", "Scatter",   "Scatterv",  "Alltoall", "Alltoallv", "Barrier",
    "Send",      "Recv",    "Sendrecv",  "Sendrecv_replace", "Isend", "Irecv"};

const char *subq_comm_op_name(int op) { return op >= 0 && op < SUBQ_COMM_NOPS ? names_[op] : NULL; }
void subq_comm_snapshot(subq_comm_counters_t *out) { *out = cnt_; }
void subq_comm_reset(void) { memset(&cnt_, 0, sizeof cnt_); }
void subq_comm_control_begin(void) { control_depth_++; }
void subq_comm_control_end(void) {
  if (control_depth_ > 0) control_depth_--;
}

void subq_comm_diff(const subq_comm_counters_t *a, const subq_comm_counters_t *b,
                    subq_comm_counters_t *d) {
  for (int k = 0; k < SUBQ_COMM_NCLASS; k++)
    for (int o = 0; o < SUBQ_COMM_NOPS; o++) {
      d->c[k][o].calls = b->c[k][o].calls - a->c[k][o].calls;
      d->c[k][o].bytes_sent = b->c[k][o].bytes_sent - a->c[k][o].bytes_sent;
      d->c[k][o].bytes_recv = b->c[k][o].bytes_recv - a->c[k][o].bytes_recv;
    }
}

subq_comm_count_t subq_comm_total(const subq_comm_counters_t *s, int cls) {
  subq_comm_count_t t = {0, 0, 0};
  for (int o = 0; o < SUBQ_COMM_NOPS; o++) {
    t.calls += s->c[cls][o].calls;
    t.bytes_sent += s->c[cls][o].bytes_sent;
    t.bytes_recv += s->c[cls][o].bytes_recv;
  }
  return t;
}

int subq_comm_reduce(MPI_Comm comm, const subq_comm_counters_t *local, subq_comm_counters_t *mx,
                     subq_comm_counters_t *sum) {
  const int n = (int)(sizeof *local / sizeof(uint64_t));
  subq_comm_counters_t tmp;
  int e = MPI_SUCCESS;
  subq_comm_control_begin();
  e = MPI_Allreduce(local, mx ? mx : &tmp, n, MPI_UINT64_T, MPI_MAX, comm);
  if (e == MPI_SUCCESS) e = MPI_Allreduce(local, sum ? sum : &tmp, n, MPI_UINT64_T, MPI_SUM, comm);
  subq_comm_control_end();
  if (e != MPI_SUCCESS) return subq_error_mpi(e, __FILE__, __LINE__, __func__, "MPI_Allreduce of counters");
  return 0;
}

/* ---- counting helpers -------------------------------------------------------------- */

static uint64_t tsize_(MPI_Datatype t) {
  int s = 0;
  if (t == MPI_DATATYPE_NULL || PMPI_Type_size(t, &s) != MPI_SUCCESS || s < 0) return 0;
  return (uint64_t)s;
}

static void rs_(MPI_Comm c, int *rank, int *size) {
  *rank = 0;
  *size = 1;
  if (c == MPI_COMM_NULL) return;
  PMPI_Comm_rank(c, rank);
  PMPI_Comm_size(c, size);
}

static void add_(int op, uint64_t sent, uint64_t recv) {
  subq_comm_count_t *x = &cnt_.c[control_depth_ ? SUBQ_COMM_CONTROL : SUBQ_COMM_DATA][op];
  x->calls++;
  x->bytes_sent += sent;
  x->bytes_recv += recv;
}

/* Sum of counts[i] over i != skip (skip < 0: none). */
static uint64_t sum_(const int *counts, int n, int skip) {
  uint64_t s = 0;
  if (!counts) return 0;
  for (int i = 0; i < n; i++)
    if (i != skip && counts[i] > 0) s += (uint64_t)counts[i];
  return s;
}

/* ---- collectives ------------------------------------------------------------------- */

int MPI_Allreduce(const void *sb, void *rb, int count, MPI_Datatype t, MPI_Op op, MPI_Comm c) {
  int r, p;
  rs_(c, &r, &p);
  uint64_t b = p > 1 ? (uint64_t)count * tsize_(t) : 0;
  add_(SUBQ_COMM_ALLREDUCE, b, b);
  return PMPI_Allreduce(sb, rb, count, t, op, c);
}

int MPI_Reduce(const void *sb, void *rb, int count, MPI_Datatype t, MPI_Op op, int root,
               MPI_Comm c) {
  int r, p;
  rs_(c, &r, &p);
  uint64_t b = p > 1 ? (uint64_t)count * tsize_(t) : 0;
  add_(SUBQ_COMM_REDUCE, b, r == root ? b : 0);
  return PMPI_Reduce(sb, rb, count, t, op, root, c);
}

int MPI_Bcast(void *buf, int count, MPI_Datatype t, int root, MPI_Comm c) {
  int r, p;
  rs_(c, &r, &p);
  uint64_t b = p > 1 ? (uint64_t)count * tsize_(t) : 0;
  add_(SUBQ_COMM_BCAST, r == root ? b : 0, r == root ? 0 : b);
  return PMPI_Bcast(buf, count, t, root, c);
}

int MPI_Exscan(const void *sb, void *rb, int count, MPI_Datatype t, MPI_Op op, MPI_Comm c) {
  int r, p;
  rs_(c, &r, &p);
  uint64_t b = p > 1 ? (uint64_t)count * tsize_(t) : 0;
  add_(SUBQ_COMM_EXSCAN, b, r > 0 ? b : 0);
  return PMPI_Exscan(sb, rb, count, t, op, c);
}

int MPI_Scan(const void *sb, void *rb, int count, MPI_Datatype t, MPI_Op op, MPI_Comm c) {
  int r, p;
  rs_(c, &r, &p);
  uint64_t b = p > 1 ? (uint64_t)count * tsize_(t) : 0;
  add_(SUBQ_COMM_SCAN, b, r > 0 ? b : 0);
  return PMPI_Scan(sb, rb, count, t, op, c);
}

int MPI_Allgather(const void *sb, int sc, MPI_Datatype st, void *rb, int rc, MPI_Datatype rt,
                  MPI_Comm c) {
  int r, p;
  rs_(c, &r, &p);
  uint64_t own = sb == MPI_IN_PLACE ? (uint64_t)rc * tsize_(rt) : (uint64_t)sc * tsize_(st);
  add_(SUBQ_COMM_ALLGATHER, p > 1 ? own : 0, (uint64_t)(p - 1) * (uint64_t)rc * tsize_(rt));
  return PMPI_Allgather(sb, sc, st, rb, rc, rt, c);
}

int MPI_Allgatherv(const void *sb, int sc, MPI_Datatype st, void *rb, const int rcs[],
                   const int displs[], MPI_Datatype rt, MPI_Comm c) {
  int r, p;
  rs_(c, &r, &p);
  uint64_t own = sb == MPI_IN_PLACE ? (uint64_t)(rcs[r] > 0 ? rcs[r] : 0) * tsize_(rt)
                                    : (uint64_t)sc * tsize_(st);
  add_(SUBQ_COMM_ALLGATHERV, p > 1 ? own : 0, sum_(rcs, p, r) * tsize_(rt));
  return PMPI_Allgatherv(sb, sc, st, rb, rcs, displs, rt, c);
}

int MPI_Gather(const void *sb, int sc, MPI_Datatype st, void *rb, int rc, MPI_Datatype rt,
               int root, MPI_Comm c) {
  int r, p;
  rs_(c, &r, &p);
  if (r == root)
    add_(SUBQ_COMM_GATHER, 0, (uint64_t)(p - 1) * (uint64_t)rc * tsize_(rt));
  else
    add_(SUBQ_COMM_GATHER, (uint64_t)sc * tsize_(st), 0);
  return PMPI_Gather(sb, sc, st, rb, rc, rt, root, c);
}

int MPI_Gatherv(const void *sb, int sc, MPI_Datatype st, void *rb, const int rcs[],
                const int displs[], MPI_Datatype rt, int root, MPI_Comm c) {
  int r, p;
  rs_(c, &r, &p);
  if (r == root)
    add_(SUBQ_COMM_GATHERV, 0, sum_(rcs, p, r) * tsize_(rt));
  else
    add_(SUBQ_COMM_GATHERV, (uint64_t)sc * tsize_(st), 0);
  return PMPI_Gatherv(sb, sc, st, rb, rcs, displs, rt, root, c);
}

int MPI_Scatter(const void *sb, int sc, MPI_Datatype st, void *rb, int rc, MPI_Datatype rt,
                int root, MPI_Comm c) {
  int r, p;
  rs_(c, &r, &p);
  if (r == root)
    add_(SUBQ_COMM_SCATTER, (uint64_t)(p - 1) * (uint64_t)sc * tsize_(st), 0);
  else
    add_(SUBQ_COMM_SCATTER, 0, (uint64_t)rc * tsize_(rt));
  return PMPI_Scatter(sb, sc, st, rb, rc, rt, root, c);
}

int MPI_Scatterv(const void *sb, const int scs[], const int displs[], MPI_Datatype st, void *rb,
                 int rc, MPI_Datatype rt, int root, MPI_Comm c) {
  int r, p;
  rs_(c, &r, &p);
  if (r == root)
    add_(SUBQ_COMM_SCATTERV, sum_(scs, p, r) * tsize_(st), 0);
  else
    add_(SUBQ_COMM_SCATTERV, 0, (uint64_t)rc * tsize_(rt));
  return PMPI_Scatterv(sb, scs, displs, st, rb, rc, rt, root, c);
}

int MPI_Alltoall(const void *sb, int sc, MPI_Datatype st, void *rb, int rc, MPI_Datatype rt,
                 MPI_Comm c) {
  int r, p;
  rs_(c, &r, &p);
  MPI_Datatype s_t = sb == MPI_IN_PLACE ? rt : st;
  int s_c = sb == MPI_IN_PLACE ? rc : sc;
  add_(SUBQ_COMM_ALLTOALL, (uint64_t)(p - 1) * (uint64_t)s_c * tsize_(s_t),
       (uint64_t)(p - 1) * (uint64_t)rc * tsize_(rt));
  return PMPI_Alltoall(sb, sc, st, rb, rc, rt, c);
}

int MPI_Alltoallv(const void *sb, const int scs[], const int sd[], MPI_Datatype st, void *rb,
                  const int rcs[], const int rd[], MPI_Datatype rt, MPI_Comm c) {
  int r, p;
  rs_(c, &r, &p);
  const int *s_c = sb == MPI_IN_PLACE ? rcs : scs;
  MPI_Datatype s_t = sb == MPI_IN_PLACE ? rt : st;
  add_(SUBQ_COMM_ALLTOALLV, sum_(s_c, p, r) * tsize_(s_t), sum_(rcs, p, r) * tsize_(rt));
  return PMPI_Alltoallv(sb, scs, sd, st, rb, rcs, rd, rt, c);
}

int MPI_Barrier(MPI_Comm c) {
  add_(SUBQ_COMM_BARRIER, 0, 0);
  return PMPI_Barrier(c);
}

/* ---- point to point ---------------------------------------------------------------- */

static uint64_t status_bytes_(const MPI_Status *s, MPI_Datatype t, int posted) {
  int n = 0;
  if (s == MPI_STATUS_IGNORE || PMPI_Get_count(s, t, &n) != MPI_SUCCESS || n == MPI_UNDEFINED)
    n = posted;
  return (uint64_t)(n > 0 ? n : 0) * tsize_(t);
}

int MPI_Send(const void *buf, int count, MPI_Datatype t, int dest, int tag, MPI_Comm c) {
  add_(SUBQ_COMM_SEND, (uint64_t)count * tsize_(t), 0);
  return PMPI_Send(buf, count, t, dest, tag, c);
}

int MPI_Recv(void *buf, int count, MPI_Datatype t, int src, int tag, MPI_Comm c, MPI_Status *st) {
  MPI_Status own;
  MPI_Status *s = st == MPI_STATUS_IGNORE ? &own : st;
  int e = PMPI_Recv(buf, count, t, src, tag, c, s);
  add_(SUBQ_COMM_RECV, 0, e == MPI_SUCCESS ? status_bytes_(s, t, count) : 0);
  return e;
}

int MPI_Sendrecv(const void *sb, int sc, MPI_Datatype st, int dest, int stag, void *rb, int rc,
                 MPI_Datatype rt, int src, int rtag, MPI_Comm c, MPI_Status *status) {
  MPI_Status own;
  MPI_Status *s = status == MPI_STATUS_IGNORE ? &own : status;
  int e = PMPI_Sendrecv(sb, sc, st, dest, stag, rb, rc, rt, src, rtag, c, s);
  add_(SUBQ_COMM_SENDRECV, dest == MPI_PROC_NULL ? 0 : (uint64_t)sc * tsize_(st),
       e == MPI_SUCCESS && src != MPI_PROC_NULL ? status_bytes_(s, rt, rc) : 0);
  return e;
}

int MPI_Sendrecv_replace(void *buf, int count, MPI_Datatype t, int dest, int stag, int src,
                         int rtag, MPI_Comm c, MPI_Status *status) {
  MPI_Status own;
  MPI_Status *s = status == MPI_STATUS_IGNORE ? &own : status;
  int e = PMPI_Sendrecv_replace(buf, count, t, dest, stag, src, rtag, c, s);
  add_(SUBQ_COMM_SENDRECV_REPLACE, dest == MPI_PROC_NULL ? 0 : (uint64_t)count * tsize_(t),
       e == MPI_SUCCESS && src != MPI_PROC_NULL ? status_bytes_(s, t, count) : 0);
  return e;
}

int MPI_Isend(const void *buf, int count, MPI_Datatype t, int dest, int tag, MPI_Comm c,
              MPI_Request *req) {
  add_(SUBQ_COMM_ISEND, dest == MPI_PROC_NULL ? 0 : (uint64_t)count * tsize_(t), 0);
  return PMPI_Isend(buf, count, t, dest, tag, c, req);
}

int MPI_Irecv(void *buf, int count, MPI_Datatype t, int src, int tag, MPI_Comm c,
              MPI_Request *req) {
  add_(SUBQ_COMM_IRECV, 0, src == MPI_PROC_NULL ? 0 : (uint64_t)count * tsize_(t));
  return PMPI_Irecv(buf, count, t, src, tag, c, req);
}
