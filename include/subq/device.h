/* subq device: which GPU (if any) this rank drives.  Rank r uses device
 * (local rank mod device count) (design.md "GPU").  Without -DSUBQ_CUDA=ON the library
 * sees no devices. */
#ifndef SUBQ_DEVICE_H
#define SUBQ_DEVICE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { SUBQ_DEVICE_CPU = 0, SUBQ_DEVICE_CUDA = 1 } subq_device_t;

/* Number of CUDA devices visible to this process and a one-line description
 * ("2 x NVIDIA H200" or "not built (configure with -DSUBQ_CUDA=ON)").  Not collective. */
int subq_device_list(int *count, char *desc, size_t cap);

/* Resolve --device=cpu|cuda|auto for this rank: cuda with no device is SUBQ_ERR_DEVICE
 * ("--device=cuda but no CUDA device is visible"); auto without device falls back to cpu
 * with a one-line notice on rank 0.  Binds the device (local rank mod count) when cuda.
 * Not collective. */
int subq_device_select(const char *mode, int local_rank, subq_device_t *dev);

#ifdef __cplusplus
}
#endif
#endif
