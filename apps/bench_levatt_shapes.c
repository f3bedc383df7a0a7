/* bench_levatt_shapes: the BLAS shapes of LevAttention's two leverage passes at d = 64 (a
 * side experiment for issue 5's ">= 60% of dgemm"; results/levattention/blas_shapes.txt).
 *
 * n keys (default 2^18) of dimension 64 in chunks of `chunk` rows (default 4096); for each
 * variant the chunk is filled, then only the BLAS calls are timed in process CPU time
 * (subq_bench_cpu_seconds), best of `reps` passes over the n keys (default 5), and the rate
 * of the algorithm's flops is given as a fraction of the CPU-time dgemm rate (n = 1024,
 * subq_bench_dgemm_cpu_rate) measured before each rep, best of them:
 *   Gram  n d (d + 1) flops (upper triangle; a full dgemm executes 2 n d^2, not counted);
 *   score 2 n d^2 flops (product with a dense d x d matrix; dtrmm: n d (d + 1)), plus the
 *         row sums of squares.
 * Fill: "warm" copies the chunk from a pre-generated pool (memcpy, the chunk is then in
 * cache), "gauss" generates it in place with the counter RNG right before (as
 * `subq levattn --bench` does; scalar libm, about 40 ns a value), "gausscopy" generates it
 * into a scratch buffer and copies it (memcpy), "gausswarm" generates it in place and then
 * runs one 64 x 64 x 64 dgemm (untimed: wakes the AVX-512 units before the timed calls).
 * Usage: subq_bench_levatt_shapes [n] [chunk] [reps] [warm|gauss|gausscopy|gausswarm];
 * 1 thread (OMP and BLAS). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "subq.h"

enum { D = 64, NV = 14 };
static const char *name_[NV] = {
    "gram dsyrk per chunk",        "gram dsyrk per 240 rows",   "gram dgemm per chunk",
    "gram dgemm 16-blocks, 240 rows", "gram dgemm 32-blocks, 240 rows", "gram dgemm 16-blocks, 1024 rows",
    "score dgemm per chunk",       "score dgemm per 1024 rows", "score dgemm per 240 rows",
    "score dgemm per 64 rows",     "score dtrmm per chunk",     "score dtrmm per 240 rows",
    "gram dgemm 16-strips, 240 rows", "gram dgemm 32-strips, 240 rows"};

enum { FILL_WARM, FILL_GAUSS, FILL_GAUSSCOPY, FILL_GAUSSWARM, NFILL };
static const char *fill_name_[NFILL] = {"warm", "gauss", "gausscopy", "gausswarm"};
static const char *fill_desc_[NFILL] = {"warm (memcpy)", "gauss (generated in place)",
                                        "gausscopy (generated, then memcpy)",
                                        "gausswarm (generated in place, AVX-512 woken)"};

static double G_[D * D], M_[D * D], sink_;

/* G += K^T K over rows (row-major K) in w x w blocks of the upper triangle, b rows a call. */
static void gram_blocked_(const double *K, size_t rows, size_t b, int w) {
  for (size_t i = 0; i < rows; i += b) {
    int nb = (int)(rows - i < b ? rows - i : b);
    for (int a = 0; a < D; a += w)
      for (int c = a; c < D; c += w)
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, w, w, nb, 1.0, K + i * D + c, D,
                    K + i * D + a, D, 1.0, G_ + a * D + c, D);
  }
}

/* The same upper triangle in w-wide strips G[a.., a..a+w] (one dgemm per strip and row
 * block: D/w calls, executing as many flops as the w x w blocks). */
static void gram_strips_(const double *K, size_t rows, size_t b, int w) {
  for (size_t i = 0; i < rows; i += b) {
    int nb = (int)(rows - i < b ? rows - i : b);
    for (int a = 0; a < D; a += w)
      cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, D - a, w, nb, 1.0, K + i * D + a, D,
                  K + i * D + a, D, 1.0, G_ + a * D + a, D);
  }
}

/* Scores of rows keys: Y = K M (dgemm) or K U (dtrmm, in place on a copy), row norms. */
static void score_(const double *K, double *Y, size_t rows, size_t b, int trmm) {
  for (size_t i = 0; i < rows; i += b) {
    int nb = (int)(rows - i < b ? rows - i : b);
    if (trmm) {
      memcpy(Y, K + i * D, (size_t)nb * D * sizeof *Y);
      cblas_dtrmm(CblasRowMajor, CblasRight, CblasUpper, CblasNoTrans, CblasNonUnit, nb, D, 1.0,
                  M_, D, Y, D);
    } else {
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nb, D, D, 1.0, K + i * D, D, M_, D,
                  0.0, Y, D);
    }
    for (int r = 0; r < nb; r++) {
      double s = 0;
#pragma omp simd reduction(+ : s)
      for (int a = 0; a < D; a++) s += Y[r * D + a] * Y[r * D + a];
      sink_ += s;
    }
  }
}

static void run_(int v, const double *K, double *Y, size_t ch) {
  switch (v) {
  case 0: cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, D, (int)ch, 1.0, K, D, 1.0, G_, D); break;
  case 1:
    for (size_t i = 0; i < ch; i += 240)
      cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, D, (int)(ch - i < 240 ? ch - i : 240), 1.0,
                  K + i * D, D, 1.0, G_, D);
    break;
  case 2: cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, D, D, (int)ch, 1.0, K, D, K, D, 1.0, G_, D); break;
  case 3: gram_blocked_(K, ch, 240, 16); break;
  case 4: gram_blocked_(K, ch, 240, 32); break;
  case 5: gram_blocked_(K, ch, 1024, 16); break;
  case 6: score_(K, Y, ch, ch, 0); break;
  case 7: score_(K, Y, ch, 1024, 0); break;
  case 8: score_(K, Y, ch, 240, 0); break;
  case 9: score_(K, Y, ch, 64, 0); break;
  case 10: score_(K, Y, ch, ch, 1); break;
  case 11: score_(K, Y, ch, 240, 1); break;
  case 12: gram_strips_(K, ch, 240, 16); break;
  default: gram_strips_(K, ch, 240, 32); break;
  }
}

int main(int argc, char **argv) {
  if (subq_init(&argc, &argv)) return 1;
  size_t n = argc > 1 ? (size_t)atoll(argv[1]) : (size_t)1 << 18;
  size_t ch = argc > 2 ? (size_t)atoll(argv[2]) : 4096;
  int reps = argc > 3 ? atoi(argv[3]) : 5, fill = FILL_WARM;
  for (int f = 0; f < NFILL && argc > 4; f++)
    if (!strcmp(argv[4], fill_name_[f])) fill = f;
  const size_t pool = 16;
  double *K = NULL, *Y = NULL, *P = NULL;
  int rc = 1;
  if (ch == 0 || n < ch || SUBQ_ALLOC(K, ch * D) || SUBQ_ALLOC(Y, ch * D) || SUBQ_ALLOC(P, pool * ch * D)) {
    fprintf(stderr, "bench_levatt_shapes: need 0 < chunk <= n and memory (%s)\n", subq_error_message());
    goto out;
  }
  subq_rng_fill_gauss(3, 1, 0, pool * ch * D, P);
  subq_rng_fill_gauss(3, 2, 0, D * D, M_);
  double best[NV], peak = 0;
  for (int v = 0; v < NV; v++) best[v] = 1e300;
  for (int rep = 0; rep < reps; rep++) {
    double p = 0;
    if (subq_bench_dgemm_cpu_rate(1, &p)) goto out;
    peak = p > peak ? p : peak;
    for (int v = 0; v < NV; v++) {
      double t = 0;
      for (size_t g = 0, c = 0; g + ch <= n; g += ch, c = (c + 1) % pool) {
        if (fill == FILL_WARM) {
          memcpy(K, P + c * ch * D, ch * D * sizeof *K);
        } else {
          subq_rng_fill_gauss(3, 3, g * D, ch * D, fill == FILL_GAUSSCOPY ? P : K);
          if (fill == FILL_GAUSSCOPY) memcpy(K, P, ch * D * sizeof *K);
          if (fill == FILL_GAUSSWARM)
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, D, D, D, 1.0, M_, D, M_, D, 0.0, Y, D);
        }
        double t0 = subq_bench_cpu_seconds();
        run_(v, K, Y, ch);
        t += subq_bench_cpu_seconds() - t0;
      }
      best[v] = t < best[v] ? t : best[v];
    }
  }
  const double nn = (double)(n / ch * ch);
  printf("levatt BLAS shapes: n = %.0f, d = %d, chunk %zu, fill %s, best of %d; CPU-time dgemm "
         "(n = 1024) %.1f GFLOP/s\n", nn, D, ch, fill_desc_[fill], reps, peak);
  for (int v = 0; v < NV; v++) {
    double fl = v < 6 || v >= 10 ? nn * D * (D + 1) : 2 * nn * D * D;
    printf("  %-32s %8.4f s  %6.1f GFLOP/s  %5.1f%% of dgemm\n", name_[v], best[v],
           fl / best[v] * 1e-9, 100 * fl / best[v] * 1e-9 / peak);
  }
  printf("  (checksum %g)\n", sink_ * 1e-300 + G_[0] * 1e-300);
  rc = 0;
out:
  subq_free(&K);
  subq_free(&Y);
  subq_free(&P);
  subq_finalize();
  return rc;
}
