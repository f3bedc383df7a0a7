// Devices: count and names, binding a rank's device (local rank mod count, chosen by
// subq_device_select), the library's cuBLAS handle and stream, pinned host buffers for MPI
// staging, and the cuBLAS gemm rate for benchmark ratios.
#include <stdio.h>
#include <string.h>

#include "cuda/common.cuh"

namespace subq_cu {

int cuda_fail(cudaError_t e, const char *what, const char *file, int line, const char *func) {
  (void)cudaGetLastError(); // clear a non-sticky error
  int code = e == cudaErrorMemoryAllocation ? SUBQ_ERR_MEM : SUBQ_ERR_DEVICE;
  return subq_error_set(code, file, line, func, "CUDA: %s failed: %s (%s)", what,
                        cudaGetErrorString(e), cudaGetErrorName(e));
}

int cublas_fail(cublasStatus_t s, const char *what, const char *file, int line,
                const char *func) {
  int code = s == CUBLAS_STATUS_ALLOC_FAILED ? SUBQ_ERR_MEM : SUBQ_ERR_DEVICE;
  return subq_error_set(code, file, line, func, "cuBLAS: %s failed: %s", what,
                        cublasGetStatusString(s));
}

int cufft_fail(cufftResult r, const char *what, const char *file, int line, const char *func) {
  int code = r == CUFFT_ALLOC_FAILED ? SUBQ_ERR_MEM : SUBQ_ERR_DEVICE;
  return subq_error_set(code, file, line, func, "cuFFT: %s failed: error %d", what, (int)r);
}

// The one-time device state of this process (design.md allows the library's init state).
static int bound_ = -1;
static cublasHandle_t handle_ = nullptr;
static cudaStream_t stream_ = nullptr;

int handle(cublasHandle_t *h, cudaStream_t *s) {
  SUBQ_CHECK(handle_ != nullptr, SUBQ_ERR_DEVICE,
             "no CUDA device bound on this rank (select one with --device=cuda, "
             "subq_device_select)");
  *h = handle_;
  *s = stream_;
  return 0;
}

} // namespace subq_cu

using namespace subq_cu;

extern "C" int subq_cuda_device_count(int *count, char *desc, size_t cap) {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    *count = 0;
    snprintf(desc, cap, "no device (%s)", cudaGetErrorString(e));
    return SUBQ_OK;
  }
  *count = n;
  if (n == 0) {
    snprintf(desc, cap, "no device");
    return SUBQ_OK;
  }
  char name[256];
  SUBQ_CALL(subq_cuda_device_name(0, name, sizeof name));
  snprintf(desc, cap, "%d x %s", n, name);
  return SUBQ_OK;
}

extern "C" int subq_cuda_device_name(int device, char *name, size_t cap) {
  cudaDeviceProp p;
  CU_CALL(cudaGetDeviceProperties(&p, device));
  snprintf(name, cap, "%s, %.0f GiB, sm_%d%d", p.name, (double)p.totalGlobalMem / (1u << 30),
           p.major, p.minor);
  return SUBQ_OK;
}

extern "C" int subq_cuda_bind(int device) {
  if (bound_ == device && handle_) return SUBQ_OK;
  subq_cuda_release();
  CU_CALL(cudaSetDevice(device));
  CU_CALL(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  CUBLAS_CALL(cublasCreate(&handle_));
  CUBLAS_CALL(cublasSetStream(handle_, stream_));
  // Plain fp64/fp32 arithmetic (no TF32), so the GPU agrees with the CPU to rounding.
  CUBLAS_CALL(cublasSetMathMode(handle_, CUBLAS_DEFAULT_MATH));
  bound_ = device;
  return SUBQ_OK;
}

extern "C" int subq_cuda_bound(void) { return handle_ ? bound_ : -1; }

extern "C" void subq_cuda_release(void) {
  if (handle_) cublasDestroy(handle_);
  if (stream_) cudaStreamDestroy(stream_);
  handle_ = nullptr;
  stream_ = nullptr;
  bound_ = -1;
}

extern "C" int subq_cuda_host_alloc(size_t n, size_t size, void *out_ptr) {
  void **out = (void **)out_ptr;
  *out = nullptr;
  size_t bytes;
  SUBQ_CALL(subq_size_mul(n ? n : 1, size ? size : 1, &bytes));
  cudaError_t e = cudaMallocHost(out, bytes);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    *out = nullptr;
    return SUBQ_FAIL(SUBQ_ERR_MEM, "pinned host allocation of %zu bytes failed: %s", bytes,
                     cudaGetErrorString(e));
  }
  return SUBQ_OK;
}

extern "C" void subq_cuda_host_free(void *pp) {
  void **p = (void **)pp;
  if (!p || !*p) return;
  cudaFreeHost(*p);
  *p = nullptr;
}

namespace {
template <typename T> __global__ void fill_kernel(T *x, size_t n, T v) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
       i += (size_t)gridDim.x * blockDim.x)
    x[i] = v * (T)((i * 2654435761u) % 1000) * (T)1e-3;
}

template <typename T> int gemm_rate(double *gflops) {
  cublasHandle_t h = nullptr;
  cudaStream_t s = nullptr;
  SUBQ_CALL(handle(&h, &s));
  const size_t n = 4096;
  dbuf<T> a, c;
  SUBQ_CALL(a.alloc(n * n));
  SUBQ_CALL(c.alloc(n * n));
  fill_kernel<<<1024, 256, 0, s>>>(a.p, n * n, (T)1);
  CU_LAUNCHED();
  cudaEvent_t e0, e1;
  CU_CALL(cudaEventCreate(&e0));
  CU_CALL(cudaEventCreate(&e1));
  float best = 1e30f;
  for (int rep = 0; rep < 5; rep++) {
    CU_CALL(cudaEventRecord(e0, s));
    CUBLAS_CALL(rgemm(h, false, true, n, n, n, (T)1, a.p, n, a.p, n, (T)0, c.p, n));
    CU_CALL(cudaEventRecord(e1, s));
    CU_CALL(cudaEventSynchronize(e1));
    float ms = 0;
    CU_CALL(cudaEventElapsedTime(&ms, e0, e1));
    if (rep > 0 && ms < best) best = ms; // rep 0 warms up
  }
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  *gflops = 2.0 * (double)n * n * n / (best * 1e-3) * 1e-9;
  return SUBQ_OK;
}
} // namespace

extern "C" int subq_cuda_gemm_rate(int single, double *gflops) {
  return single ? gemm_rate<float>(gflops) : gemm_rate<double>(gflops);
}
