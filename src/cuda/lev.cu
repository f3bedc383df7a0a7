// Leverage scores on the device (include/subq/lev.h): the local Gram matrix by
// cublasDsyrk and the scoring pass tau_i = ||k_i W||^2 by cublasDgemm + a row
// sum-of-squares kernel.  The local rows are uploaded in chunks (float32 rows are
// converted to float64 on the device, as the CPU path converts them on the host).
#include <string.h>

#include "cuda/common.cuh"

using namespace subq_cu;

namespace {

// Rows per upload chunk: about 2^24 float64 values (128 MiB) of the widest array.
size_t chunk_rows(size_t nloc, size_t width) {
  size_t c = ((size_t)1 << 24) / (width ? width : 1);
  if (c < 1) c = 1;
  return c < nloc ? c : nloc;
}

__global__ void f32_to_f64(const float *__restrict__ x, double *__restrict__ y, size_t n) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
       i += (size_t)gridDim.x * blockDim.x)
    y[i] = (double)x[i];
}

// tau[i] = sum_k T[i][k]^2, one warp per row.
__global__ void row_sumsq(const double *__restrict__ T, size_t m, size_t r,
                          double *__restrict__ tau) {
  const size_t row = blockIdx.x * (size_t)(blockDim.x / 32) + threadIdx.x / 32;
  const unsigned lane = threadIdx.x % 32;
  if (row >= m) return;
  const double *t = T + row * r;
  double s = 0;
  for (size_t k = lane; k < r; k += 32) s += t[k] * t[k];
  s = warp_sum(s);
  if (lane == 0) tau[row] = s;
}

// Upload rows [i0, i0 + m) of A as float64 into X (m x d); Xf is the float32 staging.
int upload_rows(const subq_dmat_t *A, size_t i0, size_t m, double *X, float *Xf,
                cudaStream_t s) {
  const size_t d = A->d, n = m * d;
  if (A->dtype == SUBQ_F64) {
    CU_CALL(cudaMemcpyAsync(X, (const double *)A->data + i0 * d, n * sizeof(double),
                            cudaMemcpyHostToDevice, s));
  } else {
    CU_CALL(cudaMemcpyAsync(Xf, (const float *)A->data + i0 * d, n * sizeof(float),
                            cudaMemcpyHostToDevice, s));
    f32_to_f64<<<grid_for(n, 256), 256, 0, s>>>(Xf, X, n);
    CU_LAUNCHED();
  }
  return 0;
}

} // namespace

extern "C" int subq_cuda_gram_local(const subq_dmat_t *A, double *G) {
  cublasHandle_t h = nullptr;
  cudaStream_t s = nullptr;
  SUBQ_CALL(handle(&h, &s));
  const size_t d = A->d, nloc = A->nloc;
  memset(G, 0, d * d * sizeof(double));
  if (d == 0 || nloc == 0) return SUBQ_OK;
  const size_t c = chunk_rows(nloc, d);
  dbuf<double> X, dG;
  dbuf<float> Xf;
  SUBQ_CALL(X.alloc(c * d));
  SUBQ_CALL(dG.alloc(d * d));
  if (A->dtype != SUBQ_F64) SUBQ_CALL(Xf.alloc(c * d));
  CU_CALL(cudaMemsetAsync(dG.p, 0, d * d * sizeof(double), s));
  const double one = 1;
  for (size_t i0 = 0; i0 < nloc; i0 += c) {
    const size_t m = nloc - i0 < c ? nloc - i0 : c;
    SUBQ_CALL(upload_rows(A, i0, m, X, Xf, s));
    // Row-major X (m x d) is column-major X^T (d x m): G += X^T X = (X^T)(X^T)^T.
    CUBLAS_CALL(cublasDsyrk(h, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N, (int)d, (int)m, &one, X.p,
                            (int)d, &one, dG.p, (int)d));
  }
  CU_CALL(cudaMemcpyAsync(G, dG.p, d * d * sizeof(double), cudaMemcpyDeviceToHost, s));
  CU_CALL(cudaStreamSynchronize(s));
  // Column-major upper = row-major lower: mirror it.
  for (size_t i = 0; i < d; i++)
    for (size_t j = i + 1; j < d; j++) G[i * d + j] = G[j * d + i];
  return SUBQ_OK;
}

extern "C" int subq_cuda_lev_apply(const subq_dmat_t *K, const double *W, size_t r,
                                   double *tau) {
  const size_t d = K->d, nloc = K->nloc;
  if (nloc == 0) return SUBQ_OK;
  if (r == 0 || d == 0) {
    memset(tau, 0, nloc * sizeof(double));
    return SUBQ_OK;
  }
  cublasHandle_t h = nullptr;
  cudaStream_t s = nullptr;
  SUBQ_CALL(handle(&h, &s));
  const size_t c = chunk_rows(nloc, d > r ? d : r);
  dbuf<double> X, dW, T, dtau;
  dbuf<float> Xf;
  SUBQ_CALL(X.alloc(c * d));
  SUBQ_CALL(dW.alloc(d * r));
  SUBQ_CALL(T.alloc(c * r));
  SUBQ_CALL(dtau.alloc(nloc));
  if (K->dtype != SUBQ_F64) SUBQ_CALL(Xf.alloc(c * d));
  CU_CALL(cudaMemcpyAsync(dW.p, W, d * r * sizeof(double), cudaMemcpyHostToDevice, s));
  for (size_t i0 = 0; i0 < nloc; i0 += c) {
    const size_t m = nloc - i0 < c ? nloc - i0 : c;
    SUBQ_CALL(upload_rows(K, i0, m, X, Xf, s));
    CUBLAS_CALL(rgemm(h, false, false, m, r, d, 1.0, X.p, d, dW.p, r, 0.0, T.p, r));
    row_sumsq<<<grid_for(m, 8), 256, 0, s>>>(T.p, m, r, dtau.p + i0);
    CU_LAUNCHED();
  }
  CU_CALL(cudaMemcpyAsync(tau, dtau.p, nloc * sizeof(double), cudaMemcpyDeviceToHost, s));
  CU_CALL(cudaStreamSynchronize(s));
  return SUBQ_OK;
}
