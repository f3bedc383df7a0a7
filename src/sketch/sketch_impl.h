/* Private: the sketch object shared by the files of src/sketch. */
#ifndef SUBQ_SKETCH_IMPL_H
#define SUBQ_SKETCH_IMPL_H

#include <fftw3.h>

#include "cuda/subq_cuda.h"
#include "subq/core.h"
#include "subq/device.h"
#include "subq/sketch.h"

/* Rows per batched FFTW plan (TensorSketch). */
#define SUBQ_TS_BATCH 64

struct subq_sketch {
  subq_sketch_type_t type;
  int d, r, p;       /* input dim, output dim, degree (TensorSketch) */
  uint64_t seed, stream;
  int ready;
  /* Gaussian: S (d x r) in double and float. */
  double *S;
  float *Sf;
  /* SRHT: h = next power of two >= d; signs (d), sampled columns (r), work row (h). */
  int h;
  double *sign, *work;
  float *workf;
  int *col;
  /* CountSketch / TensorSketch: bucket and sign per (factor k, coordinate i): p x d. */
  int *bucket;
  signed char *csign;
  /* TensorSketch: batched r2c/c2r plans over SUBQ_TS_BATCH rows of length r. */
  double *ts_real;            /* SUBQ_TS_BATCH x r */
  fftw_complex *ts_spec, *ts_acc; /* SUBQ_TS_BATCH x (r/2+1) */
  fftw_plan fwd, bwd;
  /* Where apply runs; the device copy of the sketch (made in setup when cuda). */
  subq_device_t device;
  subq_cuda_sketch_t *cu;
};

/* The sketch as plain arrays for the device copy (cuda/subq_cuda.h). */
void subq_sketch_cuda_desc_(const subq_sketch_t *s, subq_cuda_sketch_desc_t *desc);

int subq_tensor_sketch_setup_(subq_sketch_t *s);
int subq_tensor_sketch_apply_(subq_sketch_t *s, size_t n, const double *X, size_t ldx,
                              double *Y, size_t ldy);
void subq_tensor_sketch_free_(subq_sketch_t *s);

#endif
