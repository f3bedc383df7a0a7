/* Minimal test assertions for subq tests (MPI-aware).  Each failed check prints the
 * rank, file and line and counts a failure; CHECK_FINISH() agrees over MPI_COMM_WORLD
 * and returns 1 from main if any rank failed. */
#ifndef SUBQ_TEST_CHECK_H
#define SUBQ_TEST_CHECK_H
#include <math.h>
#include <mpi.h>
#include <stdio.h>

#include "subq.h"

static int check_failures_ = 0;
static int check_count_ = 0;

static inline int check_rank_(void) {
  int r = 0, init = 0;
  MPI_Initialized(&init);
  if (init) MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

#define CHECK(cond)                                                                  \
  do {                                                                               \
    check_count_++;                                                                  \
    if (!(cond)) {                                                                   \
      check_failures_++;                                                             \
      fprintf(stderr, "[rank %d] FAIL %s:%d: %s\n", check_rank_(), __FILE__, __LINE__, #cond); \
    }                                                                                \
  } while (0)

/* |a - b| <= tol * max(1, |b|) */
#define CHECK_CLOSE(a, b, tol)                                                       \
  do {                                                                               \
    double ca_ = (double)(a), cb_ = (double)(b), ct_ = (double)(tol);                \
    check_count_++;                                                                  \
    if (!(fabs(ca_ - cb_) <= ct_ * fmax(1.0, fabs(cb_)))) {                          \
      check_failures_++;                                                             \
      fprintf(stderr, "[rank %d] FAIL %s:%d: %s = %.17g, expected %s = %.17g (tol %g)\n", \
              check_rank_(), __FILE__, __LINE__, #a, ca_, #b, cb_, ct_);             \
    }                                                                                \
  } while (0)

/* A library call expected to succeed. */
#define CHECK_OK(expr)                                                               \
  do {                                                                               \
    int ce_ = (expr);                                                                \
    check_count_++;                                                                  \
    if (ce_) {                                                                       \
      check_failures_++;                                                             \
      fprintf(stderr, "[rank %d] FAIL %s:%d: %s returned %d (%s)\n%s\n", check_rank_(), \
              __FILE__, __LINE__, #expr, ce_, subq_strerror(ce_), subq_error_message()); \
    }                                                                                \
  } while (0)

/* A library call expected to fail with `code`, and a message containing `needle`. */
#define CHECK_ERR(expr, code, needle)                                                \
  do {                                                                               \
    subq_error_clear();                                                              \
    int ce_ = (expr);                                                                \
    check_count_++;                                                                  \
    if (ce_ != (code) || !strstr(subq_error_message(), (needle))) {                  \
      check_failures_++;                                                             \
      fprintf(stderr, "[rank %d] FAIL %s:%d: %s returned %d, expected %d with \"%s\"; message: %s\n", \
              check_rank_(), __FILE__, __LINE__, #expr, ce_, (code), (needle),       \
              subq_error_message());                                                 \
    }                                                                                \
  } while (0)

#define CHECK_FINISH()                                                               \
  do {                                                                               \
    int cf_ = check_failures_, ct_ = 0, init_ = 0;                                   \
    MPI_Initialized(&init_);                                                         \
    if (init_) {                                                                     \
      MPI_Allreduce(&check_failures_, &ct_, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);    \
      cf_ = ct_;                                                                     \
    }                                                                                \
    if (check_rank_() == 0)                                                          \
      printf("%s: %d checks on rank 0, %d failures on all ranks\n", __FILE__,        \
             check_count_, cf_);                                                     \
    subq_finalize();                                                                 \
    return cf_ ? 1 : 0;                                                              \
  } while (0)

#endif
