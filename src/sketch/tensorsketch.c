/* TensorSketch of degree p (Pham & Pagh, "Fast and scalable polynomial kernels via
 * explicit feature maps", KDD 2013, Sec. 3): the CountSketch of x^{(x)p} with hash
 * h(i_1..i_p) = sum_k h_k(i_k) mod r and sign prod_k s_k(i_k) equals the circular
 * convolution of the p CountSketches C_k x, computed as IFFT(prod_k FFT(C_k x)).
 * FFTW r2c/c2r plans over SUBQ_TS_BATCH rows are made once in setup (FFTW_ESTIMATE, so
 * the plan, and hence the rounding, is the same on every rank) and executed per batch. */
#include <string.h>

#include "sketch/sketch_impl.h"

int subq_tensor_sketch_setup_(subq_sketch_t *s) {
  const int r = s->r, nc = r / 2 + 1, B = SUBQ_TS_BATCH;
  s->ts_real = fftw_alloc_real((size_t)B * (size_t)r);
  s->ts_spec = fftw_alloc_complex((size_t)B * (size_t)nc);
  s->ts_acc = fftw_alloc_complex((size_t)B * (size_t)nc);
  SUBQ_CHECK(s->ts_real && s->ts_spec && s->ts_acc, SUBQ_ERR_MEM,
             "tensorsketch: cannot allocate FFT buffers for r = %d", r);
  memset(s->ts_acc, 0, sizeof(fftw_complex) * (size_t)B * (size_t)nc);
  int n[1] = {r};
  s->fwd = fftw_plan_many_dft_r2c(1, n, B, s->ts_real, NULL, 1, r, s->ts_spec, NULL, 1, nc,
                                  FFTW_ESTIMATE);
  s->bwd = fftw_plan_many_dft_c2r(1, n, B, s->ts_acc, NULL, 1, nc, s->ts_real, NULL, 1, r,
                                  FFTW_ESTIMATE);
  SUBQ_CHECK(s->fwd && s->bwd, SUBQ_ERR_INTERNAL, "tensorsketch: FFTW planning failed (r = %d)",
             r);
  return SUBQ_OK;
}

int subq_tensor_sketch_apply_(subq_sketch_t *s, size_t n, const double *X, size_t ldx,
                              double *Y, size_t ldy) {
  const int r = s->r, d = s->d, nc = r / 2 + 1, B = SUBQ_TS_BATCH;
  const double inv_r = 1.0 / r;
  for (size_t i0 = 0; i0 < n; i0 += B) {
    const size_t nb = (n - i0 < (size_t)B) ? n - i0 : (size_t)B;
    for (int k = 0; k < s->p; k++) {
      const int *bk = s->bucket + (size_t)k * d;
      const signed char *sk = s->csign + (size_t)k * d;
      memset(s->ts_real, 0, sizeof(double) * (size_t)B * (size_t)r);
      for (size_t i = 0; i < nb; i++) {
        const double *x = X + (i0 + i) * ldx;
        double *c = s->ts_real + i * (size_t)r;
        for (int t = 0; t < d; t++) c[bk[t]] += sk[t] * x[t];
      }
      if (s->p == 1) break; /* degree 1: the CountSketch itself */
      fftw_execute(s->fwd);
      if (k == 0) {
        memcpy(s->ts_acc, s->ts_spec, sizeof(fftw_complex) * nb * (size_t)nc);
      } else {
        for (size_t t = 0; t < nb * (size_t)nc; t++) {
          const double ar = s->ts_acc[t][0], ai = s->ts_acc[t][1];
          const double br = s->ts_spec[t][0], bi = s->ts_spec[t][1];
          s->ts_acc[t][0] = ar * br - ai * bi;
          s->ts_acc[t][1] = ar * bi + ai * br;
        }
      }
    }
    if (s->p > 1) {
      /* Rows nb..B-1 of ts_acc are stale; their outputs are ignored. */
      fftw_execute(s->bwd);
    }
    const double sc = s->p > 1 ? inv_r : 1.0;
    for (size_t i = 0; i < nb; i++) {
      const double *c = s->ts_real + i * (size_t)r;
      double *y = Y + (i0 + i) * ldy;
      for (int j = 0; j < r; j++) y[j] = sc * c[j];
    }
  }
  return SUBQ_OK;
}

void subq_tensor_sketch_free_(subq_sketch_t *s) {
  if (s->fwd) fftw_destroy_plan(s->fwd);
  if (s->bwd) fftw_destroy_plan(s->bwd);
  if (s->ts_real) fftw_free(s->ts_real);
  if (s->ts_spec) fftw_free(s->ts_spec);
  if (s->ts_acc) fftw_free(s->ts_acc);
  s->fwd = s->bwd = NULL;
  s->ts_real = NULL;
  s->ts_spec = s->ts_acc = NULL;
}
