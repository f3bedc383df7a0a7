/* subq info: build and library versions, ranks, threads, devices; --peak measures the
 * single-core dgemm rate that benchmarks report their GFLOP/s against. */
#include <cblas.h>
#include <fftw3.h>
#include <omp.h>
#include <petscversion.h>
#include <slepcversion.h>
#include <stdio.h>
#include <string.h>

#include "cuda/subq_cuda.h"
#include "jobs/job.h"
#include "subq/bench.h"

#ifndef SUBQ_SCALAPACK_VERSION
#define SUBQ_SCALAPACK_VERSION "unknown"
#endif

static const subq_opt_spec_t opts_[] = {
    {"peak", SUBQ_OPT_FLAG, "0", "", "measure the dgemm rate of one core (and of all threads)", NULL, 0, 0},
    {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};

static int run_(subq_job_ctx_t *ctx) {
  int peak = 0;
  SUBQ_CALL(subq_opts_flag(ctx->opts, "peak", &peak));
  char mpiv[MPI_MAX_LIBRARY_VERSION_STRING] = "";
  int len = 0;
  MPI_Get_library_version(mpiv, &len);
  char *nl = strchr(mpiv, '\n');
  if (nl) *nl = 0;
  char *comma = strchr(mpiv, ',');
  if (comma) *comma = 0;
  int ndev = 0;
  char devs[1024] = "";
  SUBQ_CALL(subq_device_list(&ndev, devs, sizeof devs));
  /* Every rank reports its host and device count, gathered to rank 0. */
  char host[MPI_MAX_PROCESSOR_NAME] = "";
  MPI_Get_processor_name(host, &len);
  /* The device this rank drives (or would drive with --device=cuda): local rank mod count. */
  int local = 0;
  char dname[256] = "";
  SUBQ_CALL(subq_device_local_rank(ctx->comm, &local));
  if (ndev > 0) {
    int k = ctx->device == SUBQ_DEVICE_CUDA ? subq_device_bound() : local % ndev;
    char nm[200] = "";
    subq_cuda_device_name(k, nm, sizeof nm);
    snprintf(dname, sizeof dname, " (device %d: %s%s)", k, nm,
             ctx->device == SUBQ_DEVICE_CUDA ? ", bound" : "");
  }
  char line[384], *all = NULL;
  snprintf(line, sizeof line, "rank %d on %s: %d threads, %d CUDA devices%s", ctx->rank, host,
           omp_get_max_threads(), ndev, dname);
  if (ctx->rank == 0) SUBQ_CALL(subq_malloc((size_t)ctx->size, sizeof line, &all));
  SUBQ_MPI(MPI_Gather(line, (int)sizeof line, MPI_CHAR, all, (int)sizeof line, MPI_CHAR, 0, ctx->comm));
  if (ctx->rank == 0) {
    printf("subq %s\n", subq_version());
    printf("  %-12s %s\n", "MPI", mpiv);
    printf("  %-12s %s\n", "OpenBLAS", openblas_get_config());
    printf("  %-12s %s\n", "ScaLAPACK", SUBQ_SCALAPACK_VERSION);
    printf("  %-12s %s\n", "FFTW", fftw_version);
    printf("  %-12s %d.%d.%d\n", "PETSc", PETSC_VERSION_MAJOR, PETSC_VERSION_MINOR, PETSC_VERSION_SUBMINOR);
    printf("  %-12s %d.%d.%d\n", "SLEPc", SLEPC_VERSION_MAJOR, SLEPC_VERSION_MINOR, SLEPC_VERSION_SUBMINOR);
    printf("  %-12s %s\n", "CUDA", devs);
    printf("  %-12s %d\n", "ranks", ctx->size);
    for (int r = 0; r < ctx->size; r++) printf("  %s\n", all + (size_t)r * sizeof line);
    subq_free(&all);
  }
  if (peak) {
    double g1 = 0, gt = 0;
    SUBQ_CALL(subq_bench_dgemm_rate(1, &g1));
    SUBQ_CALL(subq_bench_dgemm_rate(omp_get_max_threads(), &gt));
    if (ctx->rank == 0) {
      printf("  %-12s %.2f GFLOP/s (1 thread), %.2f GFLOP/s (%d threads)\n", "dgemm", g1, gt,
             omp_get_max_threads());
      SUBQ_CALL(subq_json_num(ctx->summary, "dgemm_gflops_1thread", g1));
      SUBQ_CALL(subq_json_num(ctx->summary, "dgemm_gflops_all_threads", gt));
    }
  }
  return SUBQ_OK;
}

const subq_job_t subq_job_info = {"info", "Build, library versions, ranks, threads and devices.",
                                  opts_, run_, 1};
