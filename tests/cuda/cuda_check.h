/* Shared by the GPU tests: skip (exit 77, ctest SKIP_RETURN_CODE) with a message when no
 * CUDA device is visible, otherwise bind this rank's device (local rank mod count), and
 * compare arrays by relative Frobenius error. */
#ifndef SUBQ_TEST_CUDA_CHECK_H
#define SUBQ_TEST_CUDA_CHECK_H
#include <math.h>
#include <stdio.h>

#include "check.h"

#define SUBQ_TEST_SKIP 77

/* Returns 1 when the test must skip (rank 0 printed why); binds the device otherwise.
 * Every rank sees the same answer on one node; on several nodes any rank without a device
 * makes all skip. */
static inline int cuda_skip_or_bind_(void) {
  int n = 0, local = 0, any_missing = 0;
  char desc[256] = "";
  subq_device_list(&n, desc, sizeof desc);
  int missing = n == 0;
  MPI_Allreduce(&missing, &any_missing, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (any_missing) {
    if (check_rank_() == 0) printf("SKIP: no CUDA device (%s)\n", desc);
    return 1;
  }
  subq_device_t dev;
  if (subq_device_local_rank(MPI_COMM_WORLD, &local) ||
      subq_device_select("cuda", local, &dev) || dev != SUBQ_DEVICE_CUDA) {
    fprintf(stderr, "[rank %d] cannot bind a CUDA device: %s\n", check_rank_(),
            subq_error_message());
    return -1;
  }
  if (check_rank_() == 0) printf("CUDA: %s\n", desc);
  return 0;
}

#define CUDA_TEST_BEGIN()                                                              \
  do {                                                                                 \
    int s_ = cuda_skip_or_bind_();                                                     \
    if (s_ > 0) {                                                                      \
      subq_finalize();                                                                 \
      return SUBQ_TEST_SKIP;                                                           \
    }                                                                                  \
    if (s_ < 0) check_failures_++;                                                     \
  } while (0)

/* This rank's tokens [*t0, *t1) of n, split unevenly (np = 2: 61% / 39%; np = 3: 37% /
 * none / 63%, so one rank is empty). */
static inline void cuda_shard_(size_t n, size_t *t0, size_t *t1) {
  int rank, np;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &np);
  size_t cut[4] = {0, n, n, n};
  if (np == 2) cut[1] = (size_t)(0.61 * n);
  if (np == 3) cut[1] = cut[2] = (size_t)(0.37 * n);
  *t0 = cut[rank];
  *t1 = cut[rank + 1];
}

/* ||a - b|| / max(||b||, tiny) over n values. */
static inline double rel_err_(const double *a, const double *b, size_t n) {
  double e = 0, s = 0;
  for (size_t i = 0; i < n; i++) {
    e += (a[i] - b[i]) * (a[i] - b[i]);
    s += b[i] * b[i];
  }
  return sqrt(e) / fmax(sqrt(s), 1e-300);
}
static inline double rel_err_f_(const float *a, const float *b, size_t n) {
  double e = 0, s = 0;
  for (size_t i = 0; i < n; i++) {
    e += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    s += (double)b[i] * b[i];
  }
  return sqrt(e) / fmax(sqrt(s), 1e-300);
}

/* CHECK that rel_err <= tol, printing the case on failure and the error on rank 0. */
#define CHECK_REL(err, tol, ...)                                                       \
  do {                                                                                 \
    double ce_ = (err);                                                                \
    char cl_[256];                                                                     \
    snprintf(cl_, sizeof cl_, __VA_ARGS__);                                            \
    check_count_++;                                                                    \
    if (!(ce_ <= (tol))) {                                                             \
      check_failures_++;                                                               \
      fprintf(stderr, "[rank %d] FAIL %s:%d: %s: relative error %.3g > %.3g\n",        \
              check_rank_(), __FILE__, __LINE__, cl_, ce_, (double)(tol));             \
    } else if (check_rank_() == 0) {                                                   \
      printf("  %-58s rel err %.2e\n", cl_, ce_);                                      \
    }                                                                                  \
  } while (0)

#endif
