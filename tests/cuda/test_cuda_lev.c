/* Leverage scores on the GPU against the CPU on the same matrix: every method (qr, gram,
 * sketch) with device cuda (gram: cuBLAS syrk; all: the scoring pass on the device) vs
 * device cpu, float64 and float32 storage, a rank with no rows, a matrix larger than one
 * upload chunk, and subq_lev_apply_device with an arbitrary W.  Independent check: the
 * exact scores sum to the rank d.  Skips (exit 77) without a CUDA device. */
#include <stdlib.h>

#include "cuda_check.h"
#include "subq/lev.h"

/* Rows keyed by global index: Gaussian with column j scaled by 2^(-j/4). */
static void fill_(subq_dmat_t *K) {
  for (size_t i = 0; i < K->nloc; i++)
    for (size_t j = 0; j < K->d; j++) {
      const double v = subq_rng_gauss(7, 1, (K->r0 + i) * K->d + j) * pow(2.0, -(double)j / 4);
      if (K->dtype == SUBQ_F64) ((double *)K->data)[i * K->d + j] = v;
      else ((float *)K->data)[i * K->d + j] = (float)v;
    }
}

/* mask: bit m set = compare method m (qr 1, gram 2, sketch 4). */
static void compare_methods_(size_t n, size_t d, subq_dtype_t dt, int mask) {
  subq_dmat_t *K = NULL;
  CHECK_OK(subq_dmat_create(MPI_COMM_WORLD, n, d, dt, &K));
  if (!K) return;
  fill_(K);
  double *tc = malloc(sizeof(double) * (K->nloc + 1)), *tg = malloc(sizeof(double) * (K->nloc + 1));
  for (int m = 0; m < 3; m++) {
    if (!(mask & (1 << m))) continue;
    subq_lev_opts_t o;
    subq_lev_opts_default(&o);
    o.method = (subq_lev_method_t)m;
    subq_lev_info_t ic, ig;
    CHECK_OK(subq_leverage_scores(K, &o, tc, &ic));
    o.device = SUBQ_DEVICE_CUDA;
    CHECK_OK(subq_leverage_scores(K, &o, tg, &ig));
    double e[2] = {0, 0}, g[2];
    for (size_t i = 0; i < K->nloc; i++) {
      e[0] += (tg[i] - tc[i]) * (tg[i] - tc[i]);
      e[1] += tc[i] * tc[i];
    }
    MPI_Allreduce(e, g, 2, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    /* gram squares the condition number: its GPU Gram differs from the CPU one by
     * rounding, amplified by cond(K)^2 ~ 2^(2 (d-1)/4) in the weights. */
    const double tol = m == SUBQ_LEV_GRAM ? 1e-8 : 1e-11;
    CHECK_REL(sqrt(g[0] / fmax(g[1], 1e-300)), tol, "lev %s n=%zu d=%zu %s", subq_lev_method_name(o.method),
              n, d, dt == SUBQ_F64 ? "f64" : "f32");
    CHECK(ig.numerical_rank == ic.numerical_rank);
    if (m != SUBQ_LEV_SKETCH) {
      double s = 0, sg = 0;
      for (size_t i = 0; i < K->nloc; i++) s += tg[i];
      MPI_Allreduce(&s, &sg, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
      CHECK_CLOSE(sg, (double)(n < d ? n : d), 1e-7);
    }
  }
  free(tc);
  free(tg);
  subq_dmat_destroy(&K);
}

static void compare_apply_(size_t n, size_t d, size_t r, subq_dtype_t dt) {
  subq_dmat_t *K = NULL;
  CHECK_OK(subq_dmat_create(MPI_COMM_WORLD, n, d, dt, &K));
  if (!K) return;
  fill_(K);
  double *W = malloc(sizeof(double) * d * r);
  for (size_t i = 0; i < d * r; i++) W[i] = subq_rng_gauss(9, 2, i);
  double *tc = malloc(sizeof(double) * (K->nloc + 1)), *tg = malloc(sizeof(double) * (K->nloc + 1));
  CHECK_OK(subq_lev_apply(K, W, r, tc));
  CHECK_OK(subq_lev_apply_device(K, W, r, SUBQ_DEVICE_CUDA, tg));
  CHECK_REL(rel_err_(tg, tc, K->nloc), 1e-12, "lev apply n=%zu d=%zu r=%zu %s (rank %d)", n, d,
            r, dt == SUBQ_F64 ? "f64" : "f32", K->rank);
  free(W);
  free(tc);
  free(tg);
  subq_dmat_destroy(&K);
}

int main(int argc, char **argv) {
  if (subq_init(&argc, &argv)) return 1;
  CUDA_TEST_BEGIN();
  compare_methods_(5000, 24, SUBQ_F64, 7);
  compare_methods_(5000, 24, SUBQ_F32, 7);
  /* One row: rank 1 has none at np = 2 (gram left out: the rank cut of an exactly rank-1
   * Gram matrix sits at rounding level). */
  compare_methods_(1, 3, SUBQ_F64, 5);
  compare_methods_(1100003, 16, SUBQ_F64, 2); /* two upload chunks (2^24 / d rows each) */
  compare_apply_(3001, 40, 7, SUBQ_F64);
  compare_apply_(3001, 40, 7, SUBQ_F32);
  CHECK_FINISH();
}
