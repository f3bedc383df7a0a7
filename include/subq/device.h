/* subq device: which GPU (if any) this rank drives, and where a hot path runs.
 *
 * Each rank may own one CUDA device: rank r binds device (local rank mod device count),
 * chosen with --device=cpu|cuda|auto (design.md "GPU").  Without -DSUBQ_CUDA=ON the
 * library sees no devices.  Modules take a subq_device_t per object (subq_attn_set_device,
 * subq_sketch_set_device, subq_polysketch_set_device) or per call (subq_lev_opts_t.device);
 * their CUDA paths take the same host arrays and give the same results (to rounding) as
 * the CPU paths, and stage data through host memory for MPI (docs/gpu.md). */
#ifndef SUBQ_DEVICE_H
#define SUBQ_DEVICE_H

#include <mpi.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { SUBQ_DEVICE_CPU = 0, SUBQ_DEVICE_CUDA = 1 } subq_device_t;

/* "cpu" or "cuda". */
const char *subq_device_name(subq_device_t dev);

/* Number of CUDA devices visible to this process and a one-line description
 * ("2 x NVIDIA H200, 140 GiB, sm_90", "no device (...)" or "not built (configure with
 * -DSUBQ_CUDA=ON)").  Not collective. */
int subq_device_list(int *count, char *desc, size_t cap);

/* Collective over comm: this rank's index among the ranks of comm on the same node
 * (MPI_Comm_split_type, MPI_COMM_TYPE_SHARED).  Errors: SUBQ_ERR_MPI. */
int subq_device_local_rank(MPI_Comm comm, int *local_rank);

/* Resolve --device=cpu|cuda|auto for this rank: cuda with no device is SUBQ_ERR_DEVICE
 * ("--device=cuda but no CUDA device is visible"); auto without device falls back to cpu
 * with a one-line notice on rank 0.  Binds the device (local rank mod count) when cuda.
 * Not collective (callers agree on the outcome).  Errors: SUBQ_ERR_ARG (mode),
 * SUBQ_ERR_DEVICE. */
int subq_device_select(const char *mode, int local_rank, subq_device_t *dev);

/* Index of the CUDA device bound on this process by subq_device_select, -1 when none. */
int subq_device_bound(void);

/* 0 when `dev` can run a hot path here; SUBQ_ERR_UNSUPPORTED for cuda in a build without
 * CUDA, SUBQ_ERR_DEVICE for cuda with no device bound (call subq_device_select first),
 * SUBQ_ERR_ARG for an unknown value.  Not collective. */
int subq_device_check(subq_device_t dev);

#ifdef __cplusplus
}
#endif
#endif
