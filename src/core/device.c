/* Device selection.  The CUDA build provides subq_cuda_* in the .cu files of src/cuda, the CPU build
 * the stand-ins of src/cuda/nocuda.c (no device visible, so --device=cuda is a clear
 * error). */
#include <stdio.h>
#include <string.h>

#include "cuda/subq_cuda.h"
#include "subq/core.h"
#include "subq/device.h"

const char *subq_device_name(subq_device_t dev) {
  return dev == SUBQ_DEVICE_CUDA ? "cuda" : dev == SUBQ_DEVICE_CPU ? "cpu" : "unknown";
}

int subq_device_list(int *count, char *desc, size_t cap) {
  SUBQ_CHECK(count && desc, SUBQ_ERR_ARG, "NULL argument (count %p, desc %p)", (void *)count,
             (void *)desc);
  SUBQ_CALL(subq_cuda_device_count(count, desc, cap));
  return SUBQ_OK;
}

int subq_device_local_rank(MPI_Comm comm, int *local_rank) {
  MPI_Comm node;
  SUBQ_MPI(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
  int e = MPI_Comm_rank(node, local_rank);
  MPI_Comm_free(&node);
  SUBQ_MPI(e);
  return SUBQ_OK;
}

int subq_device_select(const char *mode, int local_rank, subq_device_t *dev) {
  int n = 0;
  char desc[256];
  SUBQ_CHECK(mode && dev, SUBQ_ERR_ARG, "NULL argument (mode %p, dev %p)", (const void *)mode,
             (void *)dev);
  *dev = SUBQ_DEVICE_CPU;
  SUBQ_CHECK(!strcmp(mode, "cpu") || !strcmp(mode, "cuda") || !strcmp(mode, "auto"), SUBQ_ERR_ARG,
             "option --device: '%s' is not one of cpu|cuda|auto", mode);
  SUBQ_CHECK(local_rank >= 0, SUBQ_ERR_ARG, "local rank must be >= 0, got %d", local_rank);
  if (!strcmp(mode, "cpu")) return SUBQ_OK;
  SUBQ_CALL(subq_device_list(&n, desc, sizeof desc));
  if (n == 0) {
    SUBQ_CHECK(strcmp(mode, "cuda") != 0, SUBQ_ERR_DEVICE,
               "--device=cuda but no CUDA device is visible (CUDA: %s)", desc);
    if (local_rank == 0) subq_log(SUBQ_LOG_INFO, "--device=auto: no CUDA device (%s), running on cpu", desc);
    return SUBQ_OK;
  }
  SUBQ_CALL(subq_cuda_bind(local_rank % n));
  *dev = SUBQ_DEVICE_CUDA;
  return SUBQ_OK;
}

int subq_device_bound(void) { return subq_cuda_bound(); }

int subq_device_check(subq_device_t dev) {
  if (dev == SUBQ_DEVICE_CPU) return SUBQ_OK;
  SUBQ_CHECK(dev == SUBQ_DEVICE_CUDA, SUBQ_ERR_ARG, "device must be cpu (0) or cuda (1), got %d",
             (int)dev);
  int n = 0;
  char desc[256];
  SUBQ_CALL(subq_device_list(&n, desc, sizeof desc));
  SUBQ_CHECK(strncmp(desc, "not built", 9) != 0, SUBQ_ERR_UNSUPPORTED,
             "device cuda: this libsubq was built without CUDA (configure with -DSUBQ_CUDA=ON)");
  SUBQ_CHECK(subq_cuda_bound() >= 0, SUBQ_ERR_DEVICE,
             "device cuda: no CUDA device bound on this rank (CUDA: %s); select one with "
             "--device=cuda or subq_device_select", desc);
  return SUBQ_OK;
}
