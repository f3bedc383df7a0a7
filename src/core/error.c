/* Error codes, messages with a short trace, and collective error agreement. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "subq/comm.h"
#include "subq/core.h"

#define SUBQ_MSG_CAP 4096

static _Thread_local char msg_[SUBQ_MSG_CAP];
static _Thread_local size_t len_;
/* 1 when msg_ is the outcome of an agreement (already prefixed "rank R: "): a later
 * agreement on the same error passes it on unchanged instead of prefixing it again. */
static _Thread_local int agreed_;

static const char *const names_[SUBQ_ERR_COUNT_] = {
    [SUBQ_OK] = "success",
    [SUBQ_ERR_ARG] = "bad argument",
    [SUBQ_ERR_MEM] = "out of memory",
    [SUBQ_ERR_IO] = "i/o error",
    [SUBQ_ERR_FORMAT] = "malformed file",
    [SUBQ_ERR_NUMERIC] = "numerical error",
    [SUBQ_ERR_MPI] = "MPI error",
    [SUBQ_ERR_LAPACK] = "LAPACK error",
    [SUBQ_ERR_UNSUPPORTED] = "unsupported",
    [SUBQ_ERR_DEVICE] = "device error",
    [SUBQ_ERR_PEER] = "error on another rank",
    [SUBQ_ERR_INTERNAL] = "internal error",
};

const char *subq_strerror(int code) {
  if (code < 0 || code >= SUBQ_ERR_COUNT_) return "unknown error";
  return names_[code];
}

static void append_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void append_(const char *fmt, ...) {
  if (len_ >= SUBQ_MSG_CAP - 1) return;
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(msg_ + len_, SUBQ_MSG_CAP - len_, fmt, ap);
  va_end(ap);
  if (w > 0) len_ += (size_t)w;
  if (len_ > SUBQ_MSG_CAP - 1) len_ = SUBQ_MSG_CAP - 1;
}

static const char *base_(const char *path) {
  const char *s = strstr(path, "/src/");
  return s ? s + 1 : path;
}

int subq_error_set(int code, const char *file, int line, const char *func, const char *fmt,
                   ...) {
  len_ = 0;
  msg_[0] = 0;
  agreed_ = 0;
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(msg_, SUBQ_MSG_CAP, fmt, ap);
  va_end(ap);
  len_ = w > 0 ? (size_t)w : 0;
  if (len_ > SUBQ_MSG_CAP - 1) len_ = SUBQ_MSG_CAP - 1;
  append_("\n  at %s:%d (%s)", base_(file), line, func);
  return code;
}

int subq_error_trace(int code, const char *file, int line, const char *func) {
  if (len_ == 0) append_("%s", subq_strerror(code));
  append_("\n  at %s:%d (%s)", base_(file), line, func);
  return code;
}

int subq_error_mpi(int mpierr, const char *file, int line, const char *func, const char *what) {
  char s[MPI_MAX_ERROR_STRING];
  int n = 0;
  if (MPI_Error_string(mpierr, s, &n) != MPI_SUCCESS) snprintf(s, sizeof s, "code %d", mpierr);
  return subq_error_set(SUBQ_ERR_MPI, file, line, func, "%s failed: %s", what, s);
}

const char *subq_error_message(void) { return msg_; }

void subq_error_clear(void) {
  len_ = 0;
  msg_[0] = 0;
  agreed_ = 0;
}

static int agree_(MPI_Comm comm, int local_err) {
  int rank, size;
  if (MPI_Comm_rank(comm, &rank) != MPI_SUCCESS || MPI_Comm_size(comm, &size) != MPI_SUCCESS)
    return SUBQ_FAIL(SUBQ_ERR_MPI, "invalid communicator in error agreement");
  /* Lowest failing rank (size when none), and its code. */
  int mine = local_err ? rank : size, first = size;
  SUBQ_MPI(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm));
  if (first == size) {
    /* The phase succeeded everywhere: a message left by an error that was handled on the
     * way is stale, and must not prefix a later failure's trace. */
    subq_error_clear();
    return SUBQ_OK;
  }
  struct {
    int code, agreed;
    char text[SUBQ_MSG_CAP];
  } pkt;
  if (rank == first) {
    pkt.code = local_err;
    pkt.agreed = agreed_;
    snprintf(pkt.text, sizeof pkt.text, "%s", msg_);
  }
  SUBQ_MPI(MPI_Bcast(&pkt, (int)sizeof pkt, MPI_BYTE, first, comm));
  if (rank != first || size > 1) {
    /* Every rank reports the failing rank's message, prefixed by its number (once: an
     * error agreed in an inner phase already names the rank that saw it). */
    char own[SUBQ_MSG_CAP];
    snprintf(own, sizeof own, "%s", pkt.text);
    len_ = 0;
    msg_[0] = 0;
    char tag[32];
    snprintf(tag, sizeof tag, "rank %d: ", first);
    if (size > 1 && !pkt.agreed && strncmp(own, tag, strlen(tag)) != 0) /* nested agreements: one prefix */
      append_("%s%s", tag, own);
    else
      append_("%s", own);
  }
  agreed_ = 1;
  return pkt.code ? pkt.code : SUBQ_ERR_PEER;
}

/* Counted as control communication (include/subq/comm.h), not as the algorithm's. */
int subq_error_agree(MPI_Comm comm, int local_err) {
  subq_comm_control_begin();
  int e = agree_(comm, local_err);
  subq_comm_control_end();
  return e;
}
