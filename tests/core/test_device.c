/* Device selection and the set_device entry points, on any machine: an unknown mode is an
 * argument error; without a visible CUDA device --device=cuda is SUBQ_ERR_DEVICE naming the
 * option, auto falls back to cpu, and every module refuses device cuda (build without CUDA:
 * SUBQ_ERR_UNSUPPORTED; CUDA build: SUBQ_ERR_DEVICE, nothing bound), agreed over the ranks
 * for the collective leverage scores.  With a device, cuda binds (local rank mod count). */
#include <string.h>

#include "check.h"
#include "subq/kde.h"
#include "subq/lev.h"
#include "subq/levatt.h"
#include "subq/quant.h"

int main(int argc, char **argv) {
  if (subq_init(&argc, &argv)) return 1;
  int n = 0, local = -1;
  char desc[256] = "";
  CHECK_OK(subq_device_list(&n, desc, sizeof desc));
  CHECK_OK(subq_device_local_rank(MPI_COMM_WORLD, &local));
  CHECK(local >= 0);
  CHECK(!strcmp(subq_device_name(SUBQ_DEVICE_CPU), "cpu"));
  CHECK(!strcmp(subq_device_name(SUBQ_DEVICE_CUDA), "cuda"));
  subq_device_t dev = SUBQ_DEVICE_CUDA;
  CHECK_ERR(subq_device_select("gpu", local, &dev), SUBQ_ERR_ARG, "not one of cpu|cuda|auto");
  CHECK_OK(subq_device_select("cpu", local, &dev));
  CHECK(dev == SUBQ_DEVICE_CPU);
  CHECK_OK(subq_device_check(SUBQ_DEVICE_CPU));
  CHECK_ERR(subq_device_check((subq_device_t)7), SUBQ_ERR_ARG, "got 7");
  const int built = strncmp(desc, "not built", 9) != 0;
  if (n == 0) {
    CHECK_ERR(subq_device_select("cuda", local, &dev), SUBQ_ERR_DEVICE,
              "--device=cuda but no CUDA device is visible");
    CHECK(dev == SUBQ_DEVICE_CPU);
    CHECK_OK(subq_device_select("auto", local, &dev));
    CHECK(dev == SUBQ_DEVICE_CPU);
    CHECK(subq_device_bound() == -1);
    const int code = built ? SUBQ_ERR_DEVICE : SUBQ_ERR_UNSUPPORTED;
    const char *why = built ? "no CUDA device bound" : "built without CUDA";
    CHECK_ERR(subq_device_check(SUBQ_DEVICE_CUDA), code, why);
    subq_attn_t *a = NULL;
    CHECK_OK(subq_attn_create(MPI_COMM_WORLD, SUBQ_ATTN_SOFTMAX, 8, 8, &a));
    CHECK_ERR(subq_attn_set_device(a, SUBQ_DEVICE_CUDA), code, why);
    subq_attn_destroy(&a);
    subq_sketch_t *s = NULL;
    CHECK_OK(subq_sketch_create(SUBQ_SKETCH_TENSOR, 8, 16, &s));
    CHECK_ERR(subq_sketch_set_device(s, SUBQ_DEVICE_CUDA), code, why);
    subq_sketch_destroy(&s);
    subq_polysketch_t *ps = NULL;
    CHECK_OK(subq_polysketch_create(SUBQ_SKETCH_GAUSSIAN, 8, 16, 2, 1, 0, &ps));
    CHECK_ERR(subq_polysketch_set_device(ps, SUBQ_DEVICE_CUDA), code, why);
    subq_polysketch_destroy(&ps);
    double g = -1;
    CHECK_ERR(subq_bench_device_gemm_rate(0, &g), code, why);
    subq_quant_t *qz = NULL;
    CHECK_OK(subq_quant_create("polarquant", 16, &qz));
    CHECK_ERR(subq_quant_set_device(qz, SUBQ_DEVICE_CUDA), code, why);
    subq_quant_destroy(&qz);
    subq_kde_t *kd = NULL;
    CHECK_OK(subq_kde_create(MPI_COMM_WORLD, SUBQ_KDE_EXACT, &kd));
    CHECK_ERR(subq_kde_set_device(kd, SUBQ_DEVICE_CUDA), code, why);
    subq_kde_destroy(&kd);
    {
      const subq_levatt_attn_t la = {SUBQ_LEVATT_SOFTMAX, 0, 0, 0, SUBQ_DEVICE_CUDA};
      double lq[4] = {1, 0, 0, 1}, lo[4];
      CHECK_ERR(subq_levatt_attend(&la, 2, 2, 2, lq, 0, 2, lq, lq, NULL, lo, NULL), code, why);
    }
    /* Collective: every rank returns the error of the leverage-score call. */
    subq_dmat_t *K = NULL;
    CHECK_OK(subq_dmat_create(MPI_COMM_WORLD, 40, 4, SUBQ_F64, &K));
    if (K) {
      for (size_t i = 0; i < K->nloc * 4; i++) ((double *)K->data)[i] = subq_rng_gauss(1, 1, i);
      double tau[40], W[16];
      subq_lev_opts_t o;
      subq_lev_opts_default(&o);
      o.method = SUBQ_LEV_GRAM;
      o.device = SUBQ_DEVICE_CUDA;
      CHECK_ERR(subq_leverage_scores(K, &o, tau, NULL), code, why);
      for (int k = 0; k < 16; k++) W[k] = k;
      CHECK_ERR(subq_lev_apply_device(K, W, 4, SUBQ_DEVICE_CUDA, tau), code, why);
      subq_dmat_destroy(&K);
    }
  } else {
    CHECK_OK(subq_device_select("cuda", local, &dev));
    CHECK(dev == SUBQ_DEVICE_CUDA);
    CHECK(subq_device_bound() == local % n);
    CHECK_OK(subq_device_check(SUBQ_DEVICE_CUDA));
    CHECK_OK(subq_device_select("auto", local, &dev));
    CHECK(dev == SUBQ_DEVICE_CUDA);
  }
  if (check_rank_() == 0) printf("CUDA: %s (%d devices)\n", desc, n);
  CHECK_FINISH();
}
