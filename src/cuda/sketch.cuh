// Private: device-side sketches shared by sketch.cu and attn_polysketch.cu.
#ifndef SUBQ_CUDA_SKETCH_CUH
#define SUBQ_CUDA_SKETCH_CUH

#include "cuda/common.cuh"

struct subq_cuda_sketch {
  int type = 0, d = 0, r = 0, p = 1, h = 0;
  subq_cu::dbuf<double> S, sign;        // Gaussian S (d x r); SRHT signs (d)
  subq_cu::dbuf<float> Sf;              // Gaussian S in float
  subq_cu::dbuf<int> col, bucket;       // SRHT columns (r); CountSketch buckets (p x d)
  subq_cu::dbuf<signed char> csign;     // CountSketch signs (p x d)
  // TensorSketch: batched D2Z / Z2D plans over tb rows of length r, and their buffers.
  size_t tb = 0;
  cufftHandle fwd = 0, bwd = 0;
  bool plans = false;
  subq_cu::dbuf<double> real;
  subq_cu::dbuf<cufftDoubleComplex> spec, acc;
  // Host-array apply: device copies of X and Y.
  subq_cu::dbuf<char> dx, dy;
  ~subq_cuda_sketch() {
    if (plans) {
      cufftDestroy(fwd);
      cufftDestroy(bwd);
    }
  }
};

struct subq_cuda_polysketch {
  subq_cuda_sketch *s1 = nullptr, *s2 = nullptr; // s2: degree-2 product (Gaussian/SRHT)
  int d = 0, r = 0;
  size_t wrows = 0;               // rows of the s2 workspace
  subq_cu::dbuf<double> w;        // s2 output (wrows x r)
  subq_cu::dbuf<float> wf;
  subq_cu::dbuf<char> dx, dy;     // host-array features: device copies of X and F
  ~subq_cuda_polysketch() {
    delete s1;
    delete s2;
  }
};

namespace subq_cu {
// Y = sketch(X) with device arrays (the contract of subq_sketch_apply), on stream st.
int sketch_apply_dev(subq_cuda_sketch *s, size_t n, const double *X, size_t ldx, double *Y,
                     size_t ldy, cublasHandle_t h, cudaStream_t st);
int sketch_apply_dev(subq_cuda_sketch *s, size_t n, const float *X, size_t ldx, float *Y,
                     size_t ldy, cublasHandle_t h, cudaStream_t st);
// F = phi(X) with device arrays (the contract of subq_polysketch_features).
int features_dev(subq_cuda_polysketch *ps, size_t n, const double *X, size_t ldx, double *F,
                 size_t ldf, cublasHandle_t h, cudaStream_t st);
int features_dev(subq_cuda_polysketch *ps, size_t n, const float *X, size_t ldx, float *F,
                 size_t ldf, cublasHandle_t h, cudaStream_t st);
} // namespace subq_cu

#endif
