/* Shared pieces of the KDE jobs (kde, kernel-lra, kernel-eig): the kernel options, data
 * loading and bandwidth resolution, and the summary fields every KDE job reports. */
#ifndef SUBQ_JOBS_KDE_JOBS_H
#define SUBQ_JOBS_KDE_JOBS_H

#include <string.h>
#include <time.h>

#include "jobs/job.h"
#include "subq/kde.h"

#define SUBQ_KDE_JOB_KERNEL_OPTS                                                            \
  {"data", SUBQ_OPT_STRING, NULL, "", "data specification of the points (n x d), e.g. digits", NULL, 0, 0}, \
  {"kernel", SUBQ_OPT_CHOICE, "gaussian", "",                                               \
   "gaussian exp(-|x-y|^2/(2h^2)) | exponential exp(-|x-y|/h) | laplacian exp(-|x-y|_1/h)", \
   "gaussian|exponential|laplacian", 0, 0},                                                 \
  {"bandwidth", SUBQ_OPT_REAL, "0", "data units",                                           \
   "kernel bandwidth h > 0; 0 = median-distance heuristic (a median pair gets k = 1/e)", NULL, 0, 1e300}, \
  {"bw-pairs", SUBQ_OPT_INT, "2000", "pairs", "random pairs for the median-distance heuristic", NULL, 1, 1e7}

/* The KDE oracle options of the jobs built on one (kernel-lra, sparsify, kernel-solve,
 * cluster); purpose ends "KDE oracle for ..." in --help. */
#define SUBQ_KDE_JOB_ORACLE_OPTS(purpose)                                                    \
  {"estimator", SUBQ_OPT_CHOICE, "sampling", "", "KDE oracle for " purpose, "exact|sampling|hbe", 0, 0}, \
  {"kde-samples", SUBQ_OPT_INT, "64", "per group", "KDE samples (sampling) or tables (hbe) per group", NULL, 1, 4e9}
#define SUBQ_KDE_JOB_GROUPS_OPT                                                              \
  {"kde-groups", SUBQ_OPT_INT, "1", "", "KDE groups (median of means)", NULL, 1, 4096}

/* The dense ScaLAPACK / LAPACK reference options (kernel-lra, kernel-eig): bytes is the
 * per-rank memory factor of n^2 / ranks, routine the ScaLAPACK eigensolver. */
#define SUBQ_KDE_JOB_DENSE_OPTS(bytes, routine)                                               \
  {"dense-max", SUBQ_OPT_INT, "20000", "points", "largest n for the dense reference (ScaLAPACK: " bytes " n^2 / ranks bytes per rank)", NULL, 0, 46340}, \
  {"dense", SUBQ_OPT_CHOICE, "scalapack", "", "dense reference: scalapack (block-cyclic K, " routine ") | lapack (dsyevr on rank 0)", "scalapack|lapack", 0, 0}

typedef struct {
  const char *data;
  subq_kernel_t kernel;
  int bw_heuristic;
} subq_kde_job_data_t;

/* Collective: load --data as float64 row blocks, resolve the kernel and bandwidth. */
static inline int subq_kde_job_load(subq_job_ctx_t *ctx, subq_kde_job_data_t *a, subq_dmat_t **X) {
  const char *kname;
  double h;
  long pairs;
  SUBQ_CALL(subq_opts_string(ctx->opts, "data", &a->data));
  SUBQ_CALL(subq_opts_string(ctx->opts, "kernel", &kname));
  SUBQ_CALL(subq_opts_real(ctx->opts, "bandwidth", &h));
  SUBQ_CALL(subq_opts_int(ctx->opts, "bw-pairs", &pairs));
  SUBQ_CALL(subq_kernel_parse(kname, &a->kernel.type));
  SUBQ_CHECK(isfinite(h) && h >= 0, SUBQ_ERR_ARG, "--bandwidth must be > 0 (or 0 for the heuristic), got %g", h);
  double t0 = subq_wtime();
  SUBQ_CALL(subq_dmat_load(ctx->comm, a->data, SUBQ_F64, X));
  a->bw_heuristic = h == 0;
  if (h == 0) {
    int e = subq_kernel_bandwidth_median(*X, a->kernel.type, (size_t)pairs, ctx->seed, &h);
    if (e) {
      subq_dmat_destroy(X);
      return subq_error_trace(e, __FILE__, __LINE__, __func__);
    }
  }
  a->kernel.h = h;
  SUBQ_CALL(subq_job_phase(ctx, "load", subq_wtime() - t0));
  return SUBQ_OK;
}

/* Rank 0: the fields every KDE job reports. */
static inline int subq_kde_job_report_common(subq_job_ctx_t *ctx, const subq_kde_job_data_t *a,
                                             const subq_dmat_t *X, const char *job) {
  subq_json_t *j = ctx->summary;
  SUBQ_CALL(subq_json_str(j, "job", job));
  SUBQ_CALL(subq_json_str(j, "data", a->data));
  SUBQ_CALL(subq_json_int(j, "n", (long long)X->n));
  SUBQ_CALL(subq_json_int(j, "d", (long long)X->d));
  SUBQ_CALL(subq_json_str(j, "kernel", subq_kernel_name(a->kernel.type)));
  SUBQ_CALL(subq_json_num(j, "bandwidth", a->kernel.h));
  SUBQ_CALL(subq_json_str(j, "bandwidth_source", a->bw_heuristic ? "median-distance" : "given"));
  subq_job_table(ctx, "data", "%s (%zu x %zu)", a->data, X->n, X->d);
  subq_job_table(ctx, "kernel", "%s, h = %.6g (%s)", subq_kernel_name(a->kernel.type), a->kernel.h,
                 a->bw_heuristic ? "median-distance" : "given");
  return SUBQ_OK;
}

/* This process's CPU seconds (all its threads) so far.  Wall times on a shared machine
 * depend on the load; CPU seconds summed over ranks do not. */
static inline double subq_kde_job_cpu(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Collective: CPU seconds since c0 on this rank, summed over ranks. */
static inline double subq_kde_job_cpu_sum(MPI_Comm comm, double c0) {
  double c = subq_kde_job_cpu() - c0, g = c;
  MPI_Allreduce(&c, &g, 1, MPI_DOUBLE, MPI_SUM, comm);
  return g;
}

/* Collective: peak resident memory, max over ranks, bytes. */
static inline double subq_kde_job_peak_mem(MPI_Comm comm) {
  double m = (double)subq_peak_rss_bytes(), g = m;
  MPI_Allreduce(&m, &g, 1, MPI_DOUBLE, MPI_MAX, comm);
  return g;
}
#endif
