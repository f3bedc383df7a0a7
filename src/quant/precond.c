/* Random preconditioners shared by keys and values (PolarQuant, arXiv 2502.02617, Sec. 3.1:
 * a random rotation makes the angle distribution of Lemma 2 hold for any input):
 *   hadamard  Pi = (1/sqrt d) H D: D = diag of Rademacher signs from the counter RNG
 *             (seed, SUBQ_STREAM_QUANT_SIGNS, coordinate), H the Sylvester-Hadamard matrix
 *             applied by the fast Walsh-Hadamard transform in O(d log d); d a power of 2.
 *   dense     Pi = Q of a QR factorization of a d x d standard Gaussian (LAPACKE dgeqrf +
 *             dorgqr), columns signed by diag(R) so Pi is Haar distributed; applied by BLAS.
 *   none      identity. */
#include <cblas.h>
#include <lapacke.h>

#include "quant/quant_impl.h"

int subq_precond_setup_(subq_quant_t *q) {
  const int d = q->dim;
  if (q->precond == SUBQ_PRECOND_HADAMARD) {
    SUBQ_CHECK((d & (d - 1)) == 0, SUBQ_ERR_ARG,
               "Hadamard preconditioning needs dim a power of two, got %d (use dense)", d);
    SUBQ_CALL(SUBQ_ALLOC(q->signs, d));
    for (int i = 0; i < d; i++)
      q->signs[i] = (float)subq_rng_rademacher(q->seed, SUBQ_STREAM_QUANT_SIGNS, (uint64_t)i);
  } else if (q->precond == SUBQ_PRECOND_DENSE) {
    const size_t dd = (size_t)d * (size_t)d;
    double *A = NULL, *tau = NULL, *diag = NULL;
    int err = subq_malloc(dd, sizeof(double), &A);
    if (!err) err = SUBQ_ALLOC(tau, d);
    if (!err) err = SUBQ_ALLOC(diag, d);
    if (!err) err = SUBQ_ALLOC(q->rot, dd);
    if (!err) {
      subq_rng_fill_gauss(q->seed, SUBQ_STREAM_QUANT_DENSE, 0, dd, A);
      lapack_int info = LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, d, d, A, d, tau);
      if (info) err = SUBQ_FAIL(SUBQ_ERR_LAPACK, "dgeqrf of the %dx%d Gaussian: info %d", d,
                                d, (int)info);
      for (int i = 0; !err && i < d; i++) diag[i] = A[(size_t)i * d + i] < 0 ? -1.0 : 1.0;
      if (!err) info = LAPACKE_dorgqr(LAPACK_ROW_MAJOR, d, d, d, A, d, tau);
      if (!err && info)
        err = SUBQ_FAIL(SUBQ_ERR_LAPACK, "dorgqr of the %dx%d Gaussian: info %d", d, d,
                        (int)info);
      for (size_t i = 0; !err && i < (size_t)d; i++)
        for (size_t j = 0; j < (size_t)d; j++) q->rot[i * d + j] = (float)(A[i * d + j] * diag[j]);
    }
    subq_free(&A);
    subq_free(&tau);
    subq_free(&diag);
    if (err) return subq_error_trace(err, __FILE__, __LINE__, __func__);
  }
  return SUBQ_OK;
}

/* In-place unnormalized Walsh-Hadamard transform of x (length d, power of 2). */
static void fwht_(float *restrict x, int d) {
  for (int h = 1; h < d; h *= 2)
    for (int i = 0; i < d; i += 2 * h)
      for (int j = i; j < i + h; j++) {
        float a = x[j], b = x[j + h];
        x[j] = a + b;
        x[j + h] = a - b;
      }
}

int subq_precond_apply_(const subq_quant_t *q, size_t n, float *X, int inverse) {
  const int d = q->dim;
  if (n == 0 || q->precond == SUBQ_PRECOND_NONE) return SUBQ_OK;
  if (q->precond == SUBQ_PRECOND_HADAMARD) {
    const float s = 1.0f / sqrtf((float)d);
    const float *restrict sg = q->signs;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
      float *x = X + i * (size_t)d;
      if (!inverse)
        for (int j = 0; j < d; j++) x[j] *= sg[j];
      fwht_(x, d);
      for (int j = 0; j < d; j++) x[j] *= inverse ? s * sg[j] : s;
    }
    return SUBQ_OK;
  }
  /* dense: rows y = Pi x  <=>  Y = X Pi^T; inverse X = Y Pi.  Blocks of B rows. */
  enum { B = 256 };
  float *buf = NULL;
  SUBQ_CALL(subq_malloc((size_t)B * (size_t)d, sizeof(float), &buf));
  for (size_t i0 = 0; i0 < n; i0 += B) {
    int m = (int)(n - i0 < B ? n - i0 : B);
    float *x = X + i0 * (size_t)d;
    memcpy(buf, x, (size_t)m * (size_t)d * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, inverse ? CblasNoTrans : CblasTrans, m, d, d,
                1.0f, buf, d, q->rot, d, 0.0f, x, d);
  }
  subq_free(&buf);
  return SUBQ_OK;
}
