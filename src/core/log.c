/* Logging on rank 0, wall-clock timers with max over ranks, progress with ETA. */
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "subq/comm.h"
#include "subq/core.h"

static int level_ = SUBQ_LOG_INFO;
static int progress_on_ = -1; /* -1: decide from isatty(stderr) */

void subq_log_set_level(int level) { level_ = level; }
int subq_log_level(void) { return level_; }

static int world_rank_(void) {
  int init = 0, fin = 0, r = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (init && !fin) MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

static const char *tag_(int level) {
  switch (level) {
    case SUBQ_LOG_ERROR: return "error: ";
    case SUBQ_LOG_WARN: return "warning: ";
    default: return "";
  }
}

void subq_log(int level, const char *fmt, ...) {
  if (level > level_ || world_rank_() != 0) return;
  va_list ap;
  va_start(ap, fmt);
  fputs(tag_(level), stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

void subq_log_all(int level, const char *fmt, ...) {
  if (level > level_) return;
  char buf[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  /* One fprintf per line so ranks' lines do not interleave mid-line. */
  fprintf(stderr, "[rank %d] %s%s\n", world_rank_(), tag_(level), buf);
}

double subq_wtime(void) { return MPI_Wtime(); }

int subq_time_max(MPI_Comm comm, double t, double *tmax) {
  subq_comm_control_begin(); /* timing is not the algorithm's communication */
  int m = MPI_Allreduce(&t, tmax, 1, MPI_DOUBLE, MPI_MAX, comm);
  subq_comm_control_end();
  if (m != MPI_SUCCESS) return subq_error_mpi(m, __FILE__, __LINE__, __func__, "MPI_Allreduce");
  return SUBQ_OK;
}

void subq_progress_enable(int on) { progress_on_ = on; }

void subq_progress(const char *label, double done, double total, double t_start) {
  static double last = 0;
  if (progress_on_ < 0) progress_on_ = isatty(STDERR_FILENO);
  if (!progress_on_ || world_rank_() != 0 || total <= 0) return;
  double now = MPI_Wtime();
  int final = done >= total;
  if (!final && now - last < 0.5) return;
  last = now;
  double frac = done / total, el = now - t_start;
  double eta = frac > 0 ? el * (1 - frac) / frac : 0;
  fprintf(stderr, "%s: %5.1f%%  elapsed %.1fs  eta %.1fs%s", label, 100 * frac, el, eta,
          final ? "\n" : (isatty(STDERR_FILENO) ? "\r" : "\n"));
  fflush(stderr);
}
