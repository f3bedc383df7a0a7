/* subq bench: reference rates measured in the same process, so benchmarks report ratios
 * (this machine is shared and noisy: absolute times alone mean little). */
#ifndef SUBQ_BENCH_H
#define SUBQ_BENCH_H

#ifdef __cplusplus
extern "C" {
#endif

/* dgemm rate in GFLOP/s (2 n^3 flops per product, n = 1024, best of repeats over at least
 * 0.3 s) with `threads` BLAS threads on this rank.  Not collective.  Restores the BLAS
 * thread count afterwards.  Errors: SUBQ_ERR_MEM. */
int subq_bench_dgemm_rate(int threads, double *gflops);

/* The same rate per CPU second of this process (CLOCK_PROCESS_CPUTIME_ID, all threads):
 * on a shared, oversubscribed machine it does not count other processes' time slices.
 * Not collective.  Errors: SUBQ_ERR_MEM. */
int subq_bench_dgemm_cpu_rate(int threads, double *gflops);

/* CPU seconds used so far by this process (all threads), for rates comparable to
 * subq_bench_dgemm_cpu_rate.  Not collective; no errors. */
double subq_bench_cpu_seconds(void);

/* cuBLAS gemm rate in GFLOP/s on the CUDA device bound on this rank (n = 4096, best of 4
 * after a warm-up, CUDA events): sgemm when single != 0, else dgemm.  Not collective.
 * Errors: SUBQ_ERR_UNSUPPORTED (build without CUDA), SUBQ_ERR_DEVICE (no device bound),
 * SUBQ_ERR_MEM. */
int subq_bench_device_gemm_rate(int single, double *gflops);

#ifdef __cplusplus
}
#endif
#endif
