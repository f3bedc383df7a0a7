/* Exact KDE on the GPU against the CPU on the same points and queries (src/cuda/kde.cu):
 * Gaussian, exponential and Laplacian kernels, points split over the ranks (np = 2: rank
 * sizes differ), more points than one device tile (8192) and more queries than one query
 * tile (1024), and a sampling oracle whose derived sample count falls back to exact.
 * Tolerances: GPU vs CPU relative error per query <= 1e-12 (float64 sums in another
 * order); independent check: a few queries summed directly with subq_kernel_eval over all
 * points (every rank generates every point) <= 1e-11.  Skips (exit 77) without a device. */
#include <stdlib.h>
#include <string.h>

#include "cuda_check.h"
#include "subq/kde.h"

/* Point i: Gaussian, keyed by its global index (so any rank can make any point). */
static void point_(size_t i, size_t d, double *x) {
  for (size_t t = 0; t < d; t++) x[t] = subq_rng_gauss(11, 4, i * d + t) * (t < 3 ? 2.0 : 0.5);
}

static void run_(subq_kernel_type_t type, double h, size_t n, size_t d, size_t q) {
  subq_dmat_t *X = NULL;
  CHECK_OK(subq_dmat_create(MPI_COMM_WORLD, n, d, SUBQ_F64, &X));
  if (!X) return;
  for (size_t i = 0; i < X->nloc; i++) point_(X->r0 + i, d, (double *)X->data + i * d);
  double *Y = malloc(q * d * sizeof(double)), *vc = malloc(q * sizeof(double));
  double *vg = malloc(q * sizeof(double)), *x = malloc(d * sizeof(double));
  for (size_t i = 0; i < q; i++) point_((i * 7919) % n, d, Y + i * d); /* data rows as queries */
  for (size_t i = 0; i < q * d; i++) Y[i] += 0.01 * subq_rng_gauss(11, 5, i);
  subq_kernel_t ker = {type, h};
  subq_kde_t *kc = NULL, *kg = NULL;
  uint64_t ec = 0, eg = 0;
  CHECK_OK(subq_kde_create(MPI_COMM_WORLD, SUBQ_KDE_EXACT, &kc));
  CHECK_OK(subq_kde_create(MPI_COMM_WORLD, SUBQ_KDE_EXACT, &kg));
  CHECK_OK(subq_kde_set_kernel(kc, ker));
  CHECK_OK(subq_kde_set_kernel(kg, ker));
  CHECK_OK(subq_kde_set_device(kg, SUBQ_DEVICE_CUDA));
  CHECK_OK(subq_kde_setup(kc, X));
  CHECK_OK(subq_kde_setup(kg, X));
  CHECK_OK(subq_kde_query(kc, Y, q, vc, &ec));
  CHECK_OK(subq_kde_query(kg, Y, q, vg, &eg));
  CHECK(ec == eg && ec == (uint64_t)(q * n));
  double worst = 0;
  for (size_t i = 0; i < q; i++) worst = fmax(worst, fabs(vg[i] - vc[i]) / fmax(vc[i], 1e-300));
  CHECK_REL(worst, 1e-12, "exact %s n=%zu d=%zu q=%zu: max over queries",
            subq_kernel_name(type), n, d, q);
  /* Independent: direct sums for 3 queries. */
  double wd = 0;
  for (size_t a = 0; a < 3; a++) {
    const size_t i = a * (q - 1) / 2;
    double s = 0;
    for (size_t j = 0; j < n; j++) {
      point_(j, d, x);
      s += subq_kernel_eval(&ker, x, Y + i * d, d);
    }
    wd = fmax(wd, fabs(vg[i] - s) / s);
  }
  CHECK_REL(wd, 1e-11, "exact %s: gpu vs direct sum (3 queries)", subq_kernel_name(type));
  subq_kde_destroy(&kc);
  subq_kde_destroy(&kg);
  free(Y), free(vc), free(vg), free(x);
  subq_dmat_destroy(&X);
}

/* A sampling oracle with derived counts >= n answers exactly: on the GPU too. */
static void fallback_(void) {
  const size_t n = 3000, d = 5, q = 40;
  subq_dmat_t *X = NULL;
  CHECK_OK(subq_dmat_create(MPI_COMM_WORLD, n, d, SUBQ_F64, &X));
  if (!X) return;
  for (size_t i = 0; i < X->nloc; i++) point_(X->r0 + i, d, (double *)X->data + i * d);
  double Y[40 * 5], vc[40], vg[40];
  for (size_t i = 0; i < q; i++) point_(i * 31, d, Y + i * d);
  subq_kernel_t ker = {SUBQ_KERNEL_GAUSSIAN, 1.0};
  subq_kde_t *kc = NULL, *kg = NULL;
  CHECK_OK(subq_kde_create(MPI_COMM_WORLD, SUBQ_KDE_SAMPLING, &kc));
  CHECK_OK(subq_kde_create(MPI_COMM_WORLD, SUBQ_KDE_SAMPLING, &kg));
  CHECK_OK(subq_kde_set_kernel(kc, ker));
  CHECK_OK(subq_kde_set_kernel(kg, ker));
  CHECK_OK(subq_kde_set_accuracy(kc, 0.05, 0.1, 0.01)); /* 4/(eps^2 tau) = 160000 > n */
  CHECK_OK(subq_kde_set_accuracy(kg, 0.05, 0.1, 0.01));
  CHECK_OK(subq_kde_set_device(kg, SUBQ_DEVICE_CUDA));
  CHECK_OK(subq_kde_setup(kc, X));
  CHECK_OK(subq_kde_setup(kg, X));
  CHECK(subq_kde_exact_fallback(kg) > 0);
  CHECK_OK(subq_kde_query(kc, Y, q, vc, NULL));
  CHECK_OK(subq_kde_query(kg, Y, q, vg, NULL));
  CHECK_REL(rel_err_(vg, vc, q), 1e-12, "sampling with exact fallback gpu vs cpu");
  subq_kde_destroy(&kc);
  subq_kde_destroy(&kg);
  subq_dmat_destroy(&X);
}

int main(int argc, char **argv) {
  if (subq_init(&argc, &argv)) return 1;
  CUDA_TEST_BEGIN();
  run_(SUBQ_KERNEL_GAUSSIAN, 1.5, 20011, 7, 2500);
  run_(SUBQ_KERNEL_EXPONENTIAL, 2.0, 9001, 33, 1100);
  run_(SUBQ_KERNEL_LAPLACIAN, 4.0, 17003, 40, 1030);
  run_(SUBQ_KERNEL_GAUSSIAN, 3.0, 5, 2, 3); /* fewer points than ranks would split well */
  fallback_();
  CHECK_FINISH();
}
