// Private helpers shared by the .cu files of src/cuda: error macros that turn CUDA,
// cuBLAS and cuFFT failures into SUBQ_ERR_* with the failing call named, a device buffer
// that frees itself, row-major cuBLAS wrappers for double and float, and the library's
// cuBLAS handle and stream (made by subq_cuda_bind).
#ifndef SUBQ_CUDA_COMMON_CUH
#define SUBQ_CUDA_COMMON_CUH

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cufft.h>

#include "cuda/subq_cuda.h"
#include "subq/core.h"

namespace subq_cu {

// A failing CUDA runtime call: SUBQ_ERR_MEM for allocations, SUBQ_ERR_DEVICE otherwise.
int cuda_fail(cudaError_t e, const char *what, const char *file, int line, const char *func);
int cublas_fail(cublasStatus_t s, const char *what, const char *file, int line,
                const char *func);
int cufft_fail(cufftResult r, const char *what, const char *file, int line, const char *func);

#define CU_CALL(x)                                                                         \
  do {                                                                                     \
    cudaError_t cu_e_ = (x);                                                               \
    if (cu_e_ != cudaSuccess)                                                              \
      return subq_cu::cuda_fail(cu_e_, #x, __FILE__, __LINE__, __func__);                  \
  } while (0)
#define CUBLAS_CALL(x)                                                                     \
  do {                                                                                     \
    cublasStatus_t cb_s_ = (x);                                                            \
    if (cb_s_ != CUBLAS_STATUS_SUCCESS)                                                    \
      return subq_cu::cublas_fail(cb_s_, #x, __FILE__, __LINE__, __func__);                 \
  } while (0)
#define CUFFT_CALL(x)                                                                      \
  do {                                                                                     \
    cufftResult cf_r_ = (x);                                                               \
    if (cf_r_ != CUFFT_SUCCESS)                                                            \
      return subq_cu::cufft_fail(cf_r_, #x, __FILE__, __LINE__, __func__);                  \
  } while (0)
// The launch of a kernel just issued.
#define CU_LAUNCHED() CU_CALL(cudaGetLastError())

// The library's handle and stream on the bound device; SUBQ_ERR_DEVICE when no device
// was bound (subq_device_select with --device=cuda).
int handle(cublasHandle_t *h, cudaStream_t *s);

// A device array of n elements of T, freed when it goes out of scope.
template <typename T> struct dbuf {
  T *p = nullptr;
  size_t n = 0;
  dbuf() = default;
  dbuf(const dbuf &) = delete;
  dbuf &operator=(const dbuf &) = delete;
  ~dbuf() { release(); }
  void release() {
    if (p) cudaFree(p);
    p = nullptr;
    n = 0;
  }
  // (Re)allocate for at least m elements (m == 0 allocates one); keeps a larger buffer.
  int alloc(size_t m) {
    if (m == 0) m = 1;
    if (p && n >= m) return 0;
    release();
    cudaError_t e = cudaMalloc((void **)&p, m * sizeof(T));
    if (e != cudaSuccess) {
      p = nullptr;
      (void)cudaGetLastError();
      return subq_error_set(SUBQ_ERR_MEM, __FILE__, __LINE__, __func__,
                            "device allocation of %zu bytes failed: %s", m * sizeof(T),
                            cudaGetErrorString(e));
    }
    n = m;
    return 0;
  }
  operator T *() const { return p; }
};

// Row-major C (M x N, ldc) = alpha op(A) op(B) + beta C, op(A) M x K: column-major cuBLAS
// on the transposes, C^T = op(B)^T op(A)^T.
inline cublasStatus_t rgemm(cublasHandle_t h, bool ta, bool tb, size_t M, size_t N, size_t K,
                            double alpha, const double *A, size_t lda, const double *B,
                            size_t ldb, double beta, double *C, size_t ldc) {
  return cublasDgemm(h, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, (int)N,
                     (int)M, (int)K, &alpha, B, (int)ldb, A, (int)lda, &beta, C, (int)ldc);
}
inline cublasStatus_t rgemm(cublasHandle_t h, bool ta, bool tb, size_t M, size_t N, size_t K,
                            float alpha, const float *A, size_t lda, const float *B,
                            size_t ldb, float beta, float *C, size_t ldc) {
  return cublasSgemm(h, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, (int)N,
                     (int)M, (int)K, &alpha, B, (int)ldb, A, (int)lda, &beta, C, (int)ldc);
}
// Strided batched version: batch b uses A + b sa, B + b sb, C + b sc.
inline cublasStatus_t rgemm_batched(cublasHandle_t h, bool ta, bool tb, size_t M, size_t N,
                                    size_t K, double alpha, const double *A, size_t lda,
                                    long long sa, const double *B, size_t ldb, long long sb,
                                    double beta, double *C, size_t ldc, long long sc,
                                    size_t batch) {
  return cublasDgemmStridedBatched(h, tb ? CUBLAS_OP_T : CUBLAS_OP_N,
                                   ta ? CUBLAS_OP_T : CUBLAS_OP_N, (int)N, (int)M, (int)K,
                                   &alpha, B, (int)ldb, sb, A, (int)lda, sa, &beta, C,
                                   (int)ldc, sc, (int)batch);
}
inline cublasStatus_t rgemm_batched(cublasHandle_t h, bool ta, bool tb, size_t M, size_t N,
                                    size_t K, float alpha, const float *A, size_t lda,
                                    long long sa, const float *B, size_t ldb, long long sb,
                                    float beta, float *C, size_t ldc, long long sc,
                                    size_t batch) {
  return cublasSgemmStridedBatched(h, tb ? CUBLAS_OP_T : CUBLAS_OP_N,
                                   ta ? CUBLAS_OP_T : CUBLAS_OP_N, (int)N, (int)M, (int)K,
                                   &alpha, B, (int)ldb, sb, A, (int)lda, sa, &beta, C,
                                   (int)ldc, sc, (int)batch);
}

// Grid size for n elements with `threads` per block (at least 1, at most 2^31 - 1).
inline unsigned grid_for(size_t n, unsigned threads) {
  size_t g = (n + threads - 1) / threads;
  if (g == 0) g = 1;
  if (g > 2147483647u) g = 2147483647u;
  return (unsigned)g;
}

// Device-side helpers.
template <typename T> __device__ inline T dexp(T x);
template <> __device__ inline double dexp<double>(double x) { return exp(x); }
template <> __device__ inline float dexp<float>(float x) { return expf(x); }

template <typename T> __device__ inline T warp_sum(T v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
template <typename T> __device__ inline T warp_max(T v) {
  for (int o = 16; o > 0; o >>= 1) {
    T w = __shfl_xor_sync(0xffffffffu, v, o);
    v = w > v ? w : v;
  }
  return v;
}

} // namespace subq_cu

#endif
