/* subq comm: per-rank communication counters (messages and bytes per MPI operation).
 *
 * libsubq defines the MPI functions below as thin wrappers over their PMPI_ entry points
 * (the MPI profiling interface, MPI-3.1 chapter 14), so every call made by libsubq, by a
 * program linked with it (libsubq before libmpi on the link line, which CMake's
 * subq::subq target and pkg-config give) and by ScaLAPACK/BLACS is counted:
 *
 *   MPI_Allreduce MPI_Reduce MPI_Bcast MPI_Exscan MPI_Scan MPI_Allgather MPI_Allgatherv
 *   MPI_Gather MPI_Gatherv MPI_Scatter MPI_Scatterv MPI_Alltoall MPI_Alltoallv MPI_Barrier
 *   MPI_Send MPI_Recv MPI_Sendrecv MPI_Sendrecv_replace MPI_Isend MPI_Irecv
 *
 * What is counted is the interface payload of this rank, not the wire traffic of the MPI
 * implementation's algorithm (docs/comm-model.md maps one to the other):
 *   calls       number of calls (for Send/Isend/Recv/Irecv/Sendrecv*: messages)
 *   bytes_sent  bytes this rank contributes to other ranks: reductions and scans count
 *               count x type size (the contribution; MPI_IN_PLACE included); Bcast and
 *               Scatter(v) count at the root only (Scatterv: sum of counts to other
 *               ranks); Gather(v) counts at non-roots; Allgather(v) counts the own block;
 *               Alltoall(v) the blocks to other ranks; point-to-point the message size
 *   bytes_recv  bytes this rank receives from other ranks: reductions count the result
 *               (Reduce at the root, Exscan on ranks > 0); Bcast at non-roots; Gather(v)
 *               at the root from other ranks; Allgather(v) and Alltoall(v) the blocks from
 *               other ranks; Recv/Sendrecv the size in the status; Irecv the posted size
 * On a communicator of size 1 collectives count calls but no bytes.
 *
 * Calls made while a "control" section is open (subq_comm_control_begin/end: error
 * agreement, timer maxima, the job runner's bookkeeping) are counted in a separate class,
 * so the "data" class holds exactly the algorithm's communication.
 *
 * Counters are process-global (the library's only global state besides init); MPI is
 * used from one thread (MPI_THREAD_FUNNELED), so they need no locks. */
#ifndef SUBQ_COMM_H
#define SUBQ_COMM_H

#include <mpi.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  SUBQ_COMM_ALLREDUCE, SUBQ_COMM_REDUCE, SUBQ_COMM_BCAST, SUBQ_COMM_EXSCAN, SUBQ_COMM_SCAN,
  SUBQ_COMM_ALLGATHER, SUBQ_COMM_ALLGATHERV, SUBQ_COMM_GATHER, SUBQ_COMM_GATHERV,
  SUBQ_COMM_SCATTER, SUBQ_COMM_SCATTERV, SUBQ_COMM_ALLTOALL, SUBQ_COMM_ALLTOALLV,
  SUBQ_COMM_BARRIER, SUBQ_COMM_SEND, SUBQ_COMM_RECV, SUBQ_COMM_SENDRECV,
  SUBQ_COMM_SENDRECV_REPLACE, SUBQ_COMM_ISEND, SUBQ_COMM_IRECV,
  SUBQ_COMM_NOPS
} subq_comm_op_t;

enum { SUBQ_COMM_DATA = 0, SUBQ_COMM_CONTROL = 1, SUBQ_COMM_NCLASS = 2 };

typedef struct {
  uint64_t calls, bytes_sent, bytes_recv;
} subq_comm_count_t;

/* A snapshot of all counters of this rank: [class][op]. */
typedef struct {
  subq_comm_count_t c[SUBQ_COMM_NCLASS][SUBQ_COMM_NOPS];
} subq_comm_counters_t;

/* MPI name of an op without the prefix ("Allreduce"); NULL when out of range. */
const char *subq_comm_op_name(int op);

/* Copy this rank's counters into *out (not collective, no MPI). */
void subq_comm_snapshot(subq_comm_counters_t *out);
/* d = b - a, elementwise (counters since snapshot a). */
void subq_comm_diff(const subq_comm_counters_t *a, const subq_comm_counters_t *b,
                    subq_comm_counters_t *d);
/* Zero this rank's counters. */
void subq_comm_reset(void);
/* Sum of calls / bytes_sent / bytes_recv over the ops of one class of a snapshot. */
subq_comm_count_t subq_comm_total(const subq_comm_counters_t *s, int cls);

/* Open/close a control section (nestable): calls in it are counted in SUBQ_COMM_CONTROL. */
void subq_comm_control_begin(void);
void subq_comm_control_end(void);

/* Collective over comm: elementwise max (mx) and sum (sum) over ranks of the local
 * snapshot `local`; either output may be NULL.  The reductions are counted as control.
 * Errors: SUBQ_ERR_MPI. */
int subq_comm_reduce(MPI_Comm comm, const subq_comm_counters_t *local, subq_comm_counters_t *mx,
                     subq_comm_counters_t *sum);

#ifdef __cplusplus
}
#endif
#endif
