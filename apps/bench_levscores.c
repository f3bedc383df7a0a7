/* bench_levscores: leverage-score throughput on a synthetic Gaussian n x d matrix
 * (default n = 2^20, d = 64), methods qr and gram (and ScaLAPACK pdgeqrf as a peer for
 * the R factor), reported as GFLOP/s per core and as a fraction of the single-core dgemm
 * rate measured in the same process (subq_bench_dgemm_rate, 1 thread); on the CPU also per
 * CPU second of the process against the CPU-time dgemm rate (subq_bench_dgemm_cpu_rate), for
 * a shared machine where wall time includes other processes' time slices.
 *
 * Usage: mpirun -np P subq_bench_levscores [n] [d] [reps] [--device=cpu|cuda|auto]
 * Flop counts (lev.h): qr 2 n d^2 (TSQR) + 2 n d r (scores); gram n d^2 (syrk) + 2 n d r;
 * pdgeqrf 2 n d^2 - 2 d^3 / 3.  Times are the best of `reps` runs, max over ranks.
 * --device=cuda: each rank binds device (local rank mod count); gram forms K^T K with
 * cuBLAS syrk and both methods score on the device (qr factors on the CPU); the rates are
 * then also given as a fraction of the device's cuBLAS dgemm rate (n = 4096), and the
 * times include the uploads of the rows from host memory. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "subq.h"
#include "subq/lev.h"

static double tmax(double t) {
  double m = t;
  MPI_Allreduce(&t, &m, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return m;
}

int main(int argc, char **argv) {
  if (subq_init(&argc, &argv)) return 1;
  const char *mode = "cpu", *pos[3] = {NULL, NULL, NULL};
  for (int i = 1, np = 0; i < argc; i++) {
    if (!strncmp(argv[i], "--device=", 9)) mode = argv[i] + 9;
    else if (np < 3) pos[np++] = argv[i];
  }
  size_t n = pos[0] ? (size_t)atoll(pos[0]) : (size_t)1 << 20;
  size_t d = pos[1] ? (size_t)atoll(pos[1]) : 64;
  int reps = pos[2] ? atoi(pos[2]) : 3;
  int rank, size, rc = 1, local = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  subq_device_t dev = SUBQ_DEVICE_CPU;
  double dpeak = 0;
  if (subq_device_local_rank(MPI_COMM_WORLD, &local) ||
      subq_error_agree(MPI_COMM_WORLD, subq_device_select(mode, local, &dev)))
    goto out;
  if (dev == SUBQ_DEVICE_CUDA &&
      subq_error_agree(MPI_COMM_WORLD, subq_bench_device_gemm_rate(0, &dpeak)))
    goto out;
  int cores = size * omp_get_max_threads();
  subq_dmat_t *K = NULL;
  double *tau = NULL, *W = NULL;
  if (subq_dmat_create(MPI_COMM_WORLD, n, d, SUBQ_F64, &K)) goto out;
  subq_rng_fill_gauss(42, 1, K->r0 * d, K->nloc * d, (double *)K->data);
  if (subq_malloc(K->nloc + 1, sizeof(double), &tau) || subq_malloc(d * d, sizeof(double), &W))
    goto out;
  double peak = 0, cpeak = 0;
  if (subq_bench_dgemm_rate(1, &peak) || subq_bench_dgemm_cpu_rate(1, &cpeak)) goto out;
  MPI_Allreduce(MPI_IN_PLACE, &peak, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, &cpeak, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
  if (rank == 0)
    printf("levscores bench: n = %zu, d = %zu, %d ranks x %d threads; dgemm 1 core: %.2f GFLOP/s "
           "(%.2f per CPU second)\n", n, d, size, omp_get_max_threads(), peak, cpeak);
  if (rank == 0 && dev == SUBQ_DEVICE_CUDA)
    printf("  device cuda (one per rank): cuBLAS dgemm %.1f GFLOP/s\n", dpeak);
  for (int m = 0; m < 2; m++) {
    subq_lev_opts_t o;
    subq_lev_opts_default(&o);
    o.method = m ? SUBQ_LEV_GRAM : SUBQ_LEV_QR;
    o.device = dev;
    subq_lev_info_t info;
    double bf = 1e300, bs = 1e300, bt = 1e300, cf = 1e300, cs = 1e300, ct = 1e300;
    for (int r = 0; r < reps; r++) {
      MPI_Barrier(MPI_COMM_WORLD);
      double t0 = subq_wtime(), c0 = subq_bench_cpu_seconds();
      if (subq_lev_weights(K, &o, W, &info)) goto out;
      double t1 = subq_wtime(), c1 = subq_bench_cpu_seconds();
      if (subq_error_agree(MPI_COMM_WORLD,
                           subq_lev_apply_device(K, W, info.weight_cols, dev, tau)))
        goto out;
      double t2 = subq_wtime(), c2 = subq_bench_cpu_seconds();
      /* CPU seconds summed over ranks (per-core rate below divides by the cores) */
      double cc[3] = {c1 - c0, c2 - c1, c2 - c0};
      MPI_Allreduce(MPI_IN_PLACE, cc, 3, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
      cf = cc[0] < cf ? cc[0] : cf;
      cs = cc[1] < cs ? cc[1] : cs;
      ct = cc[2] < ct ? cc[2] : ct;
      double f = tmax(t1 - t0), s = tmax(t2 - t1), t = tmax(t2 - t0);
      bf = f < bf ? f : bf;
      bs = s < bs ? s : bs;
      bt = t < bt ? t : bt;
    }
    double fl_f = info.flops, fl_s = 2.0 * (double)n * d * info.weight_cols;
    double g = (fl_f + fl_s) / bt * 1e-9 / cores;
    if (rank == 0 && dev == SUBQ_DEVICE_CPU)
      printf("  %-5s total %.3f s  %6.2f GFLOP/s/core  = %5.1f%% of dgemm   "
             "[factor %.3f s %.2f GF/s/core, score %.3f s %.2f GF/s/core]\n",
             subq_lev_method_name(o.method), bt, g, 100 * g / peak, bf,
             fl_f / bf * 1e-9 / cores, bs, fl_s / bs * 1e-9 / cores);
    if (rank == 0 && dev == SUBQ_DEVICE_CPU)
      printf("  %-5s CPU time %.3f s  %6.2f GFLOP/s per CPU second = %5.1f%% of dgemm   "
             "[factor %.2f GF/s = %.1f%%, score %.2f GF/s = %.1f%%]\n",
             subq_lev_method_name(o.method), ct, (fl_f + fl_s) / ct * 1e-9,
             100 * (fl_f + fl_s) / ct * 1e-9 / cpeak, fl_f / cf * 1e-9, 100 * fl_f / cf * 1e-9 / cpeak,
             fl_s / cs * 1e-9, 100 * fl_s / cs * 1e-9 / cpeak);
    if (rank == 0 && dev == SUBQ_DEVICE_CUDA) {
      const double gd = (fl_f + fl_s) / bt * 1e-9 / size; /* per rank = per device */
      printf("  %-5s total %.3f s  %8.2f GFLOP/s/device = %5.2f%% of cuBLAS dgemm   "
             "[factor %.3f s%s, score %.3f s %.2f GF/s/device]\n",
             subq_lev_method_name(o.method), bt, gd, 100 * gd / dpeak, bf,
             m ? " (syrk on the device)" : " (TSQR on the CPU)", bs, fl_s / bs * 1e-9 / size);
    }
  }
  {
    double best = 1e300;
    for (int r = 0; r < 1; r++) { /* one run: slow peer */
      MPI_Barrier(MPI_COMM_WORLD);
      double t0 = subq_wtime();
      if (subq_dmat_qr_scalapack(K, size, 1, 64, W)) goto out;
      double t = tmax(subq_wtime() - t0);
      best = t < best ? t : best;
    }
    double g = (2.0 * n * d * d - 2.0 * d * d * d / 3.0) / best * 1e-9 / cores;
    if (rank == 0)
      printf("  %-5s R only %.3f s  %6.2f GFLOP/s/core  = %5.1f%% of dgemm   [pdgeqrf, %d x 1 grid, "
             "incl. redistribution]\n", "scal", best, g, 100 * g / peak, size);
  }
  rc = 0;
out:
  if (rc) fprintf(stderr, "bench_levscores: %s\n", subq_error_message());
  subq_free(&tau);
  subq_free(&W);
  subq_dmat_destroy(&K);
  subq_finalize();
  return rc;
}
