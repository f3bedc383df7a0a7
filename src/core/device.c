/* Device selection.  The CUDA build provides subq_cuda_* in src/cuda; without it no
 * device is visible and --device=cuda is a clear error. */
#include <stdio.h>
#include <string.h>

#include "subq/core.h"
#include "subq/device.h"

#ifdef SUBQ_HAVE_CUDA
int subq_cuda_device_count(int *count, char *desc, size_t cap);
int subq_cuda_bind(int device);
#endif

int subq_device_list(int *count, char *desc, size_t cap) {
#ifdef SUBQ_HAVE_CUDA
  SUBQ_CALL(subq_cuda_device_count(count, desc, cap));
#else
  *count = 0;
  snprintf(desc, cap, "not built (configure with -DSUBQ_CUDA=ON)");
#endif
  return SUBQ_OK;
}

int subq_device_select(const char *mode, int local_rank, subq_device_t *dev) {
  int n = 0;
  char desc[256];
  *dev = SUBQ_DEVICE_CPU;
  SUBQ_CHECK(!strcmp(mode, "cpu") || !strcmp(mode, "cuda") || !strcmp(mode, "auto"), SUBQ_ERR_ARG,
             "option --device: '%s' is not one of cpu|cuda|auto", mode);
  if (!strcmp(mode, "cpu")) return SUBQ_OK;
  SUBQ_CALL(subq_device_list(&n, desc, sizeof desc));
  if (n == 0) {
    SUBQ_CHECK(strcmp(mode, "cuda") != 0, SUBQ_ERR_DEVICE,
               "--device=cuda but no CUDA device is visible (CUDA: %s)", desc);
    if (local_rank == 0) subq_log(SUBQ_LOG_INFO, "--device=auto: no CUDA device, running on cpu");
    return SUBQ_OK;
  }
#ifdef SUBQ_HAVE_CUDA
  SUBQ_CALL(subq_cuda_bind(local_rank % n));
#endif
  *dev = SUBQ_DEVICE_CUDA;
  return SUBQ_OK;
}
