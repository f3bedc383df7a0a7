/* Sketches on the GPU against the CPU on the same inputs: Gaussian (cuBLAS), SRHT (device
 * Walsh-Hadamard, d not a power of two), CountSketch, TensorSketch of degree 1, 2, 3
 * (cuFFT), with leading dimensions larger than the widths, float64 and float32; and the
 * PolySketch feature maps (degree-2 products, TensorSketch) on more rows than one device
 * work block.  The same sketch object (same seed) on both sides.  Skips (exit 77) without
 * a CUDA device. */
#include <stdlib.h>

#include "cuda_check.h"

static void sketch_case_(subq_sketch_type_t type, int p, int d, int r, size_t n) {
  const size_t ldx = (size_t)d + 3, ldy = (size_t)r + 5;
  double *X = malloc(sizeof(double) * n * ldx), *Yc = calloc(n * ldy, sizeof(double)),
         *Yg = calloc(n * ldy, sizeof(double));
  float *Xf = malloc(sizeof(float) * n * ldx), *Yfc = calloc(n * ldy, sizeof(float)),
        *Yfg = calloc(n * ldy, sizeof(float));
  for (size_t i = 0; i < n * ldx; i++) {
    X[i] = subq_rng_gauss(3, 4, i);
    Xf[i] = (float)X[i];
  }
  subq_sketch_t *sc = NULL, *sg = NULL;
  CHECK_OK(subq_sketch_create(type, d, r, &sc));
  CHECK_OK(subq_sketch_create(type, d, r, &sg));
  if (p > 1) {
    CHECK_OK(subq_sketch_set_degree(sc, p));
    CHECK_OK(subq_sketch_set_degree(sg, p));
  }
  CHECK_OK(subq_sketch_set_seed(sc, 11, 5));
  CHECK_OK(subq_sketch_set_seed(sg, 11, 5));
  CHECK_OK(subq_sketch_set_device(sg, SUBQ_DEVICE_CUDA));
  CHECK_OK(subq_sketch_setup(sc));
  CHECK_OK(subq_sketch_setup(sg));
  CHECK_OK(subq_sketch_apply(sc, n, X, ldx, Yc, ldy));
  CHECK_OK(subq_sketch_apply(sg, n, X, ldx, Yg, ldy));
  CHECK_REL(rel_err_(Yg, Yc, n * ldy), 1e-12, "sketch %s p=%d d=%d r=%d n=%zu f64",
            subq_sketch_type_name(type), p, d, r, n);
  CHECK_OK(subq_sketch_apply_f32(sc, n, Xf, ldx, Yfc, ldy));
  CHECK_OK(subq_sketch_apply_f32(sg, n, Xf, ldx, Yfg, ldy));
  CHECK_REL(rel_err_f_(Yfg, Yfc, n * ldy), 1e-5, "sketch %s p=%d d=%d r=%d n=%zu f32",
            subq_sketch_type_name(type), p, d, r, n);
  /* The padding columns beyond r stay untouched (zero). */
  int pad_ok = 1;
  for (size_t i = 0; i < n; i++)
    for (size_t j = (size_t)r; j < ldy; j++) pad_ok &= Yg[i * ldy + j] == 0 && Yfg[i * ldy + j] == 0;
  CHECK(pad_ok);
  subq_sketch_destroy(&sc);
  subq_sketch_destroy(&sg);
  free(X), free(Yc), free(Yg), free(Xf), free(Yfc), free(Yfg);
}

static void features_case_(subq_sketch_type_t type, int q, int d, int r, size_t n) {
  double *X = malloc(sizeof(double) * n * d), *Fc = malloc(sizeof(double) * n * r),
         *Fg = malloc(sizeof(double) * n * r);
  float *Xf = malloc(sizeof(float) * n * d), *Ffc = malloc(sizeof(float) * n * r),
        *Ffg = malloc(sizeof(float) * n * r);
  for (size_t i = 0; i < n * (size_t)d; i++) {
    X[i] = subq_rng_gauss(5, 6, i) / sqrt((double)d);
    Xf[i] = (float)X[i];
  }
  subq_polysketch_t *ps = NULL;
  CHECK_OK(subq_polysketch_create(type, d, r, q, 13, 0, &ps));
  if (!ps) return;
  CHECK_OK(subq_polysketch_features(ps, n, X, (size_t)d, Fc, (size_t)r));
  CHECK_OK(subq_polysketch_features_f32(ps, n, Xf, (size_t)d, Ffc, (size_t)r));
  CHECK_OK(subq_polysketch_set_device(ps, SUBQ_DEVICE_CUDA));
  CHECK_OK(subq_polysketch_features(ps, n, X, (size_t)d, Fg, (size_t)r));
  CHECK_OK(subq_polysketch_features_f32(ps, n, Xf, (size_t)d, Ffg, (size_t)r));
  CHECK_REL(rel_err_(Fg, Fc, n * r), 1e-12, "polysketch %s q=%d d=%d r=%d n=%zu f64",
            subq_sketch_type_name(type), q, d, r, n);
  CHECK_REL(rel_err_f_(Ffg, Ffc, n * r), 1e-5, "polysketch %s q=%d d=%d r=%d n=%zu f32",
            subq_sketch_type_name(type), q, d, r, n);
  subq_polysketch_destroy(&ps);
  free(X), free(Fc), free(Fg), free(Xf), free(Ffc), free(Ffg);
}

int main(int argc, char **argv) {
  if (subq_init(&argc, &argv)) return 1;
  CUDA_TEST_BEGIN();
  sketch_case_(SUBQ_SKETCH_GAUSSIAN, 1, 37, 50, 1000);
  sketch_case_(SUBQ_SKETCH_SRHT, 1, 37, 50, 1000);
  sketch_case_(SUBQ_SKETCH_SRHT, 1, 4000, 64, 300); /* h = 4096: 32 KiB of shared memory */
  sketch_case_(SUBQ_SKETCH_COUNT, 1, 37, 50, 1000);
  sketch_case_(SUBQ_SKETCH_TENSOR, 1, 37, 50, 1000);
  sketch_case_(SUBQ_SKETCH_TENSOR, 2, 37, 64, 1000);
  sketch_case_(SUBQ_SKETCH_TENSOR, 3, 37, 50, 5000); /* odd r; more rows than a cuFFT batch */
  features_case_(SUBQ_SKETCH_GAUSSIAN, 2, 32, 32, 20000);
  features_case_(SUBQ_SKETCH_SRHT, 2, 48, 32, 20000);
  features_case_(SUBQ_SKETCH_TENSOR, 2, 32, 64, 20000);
  features_case_(SUBQ_SKETCH_TENSOR, 3, 32, 64, 3000);
  features_case_(SUBQ_SKETCH_COUNT, 1, 32, 16, 3000);
  CHECK_FINISH();
}
