// Sketches on the device (include/subq/sketch.h): Gaussian by cuBLAS gemm, SRHT by a
// shared-memory fast Walsh-Hadamard transform (the same butterflies as the CPU), CountSketch
// by atomics, TensorSketch by p CountSketches multiplied in the cuFFT D2Z domain
// (Pham-Pagh), and the PolySketch feature maps built from them.  The sketch itself (matrix,
// signs, hashes) is the CPU object's, copied once: the device draws nothing.
#include <math.h>
#include <new>

#include "cuda/sketch.cuh"

using namespace subq_cu;

namespace {

enum { GAUSSIAN = 0, SRHT = 1, COUNT = 2, TENSOR = 3 }; // subq_sketch_type_t

const size_t kHostChunk = 65536; // rows per host-array apply chunk

// SRHT, one block per row: w = sign .* x padded to h, w <- H w (Sylvester order, the CPU's
// butterflies), y_j = sc w[col_j].
template <typename T>
__global__ void srht_rows(size_t n, const T *__restrict__ X, size_t ldx, int d, int h,
                          const double *__restrict__ sign, const int *__restrict__ col, int r,
                          T sc, T *__restrict__ Y, size_t ldy) {
  extern __shared__ unsigned char smem_[];
  T *w = reinterpret_cast<T *>(smem_);
  for (size_t row = blockIdx.x; row < n; row += gridDim.x) {
    const T *x = X + row * ldx;
    for (int k = threadIdx.x; k < h; k += blockDim.x) w[k] = k < d ? (T)sign[k] * x[k] : (T)0;
    __syncthreads();
    for (int len = 1; len < h; len <<= 1) {
      for (int t = threadIdx.x; t < h / 2; t += blockDim.x) {
        const int i = (t / len) * 2 * len + t % len;
        const T a = w[i], b = w[i + len];
        w[i] = a + b;
        w[i + len] = a - b;
      }
      __syncthreads();
    }
    T *y = Y + row * ldy;
    for (int j = threadIdx.x; j < r; j += blockDim.x) y[j] = sc * w[col[j]];
    __syncthreads();
  }
}

// CountSketch, one block per row: y = 0, y[bucket_k] += sign_k x_k (atomics in global
// memory on the block's own row).  TI input type, TO output/accumulation type.
template <typename TI, typename TO>
__global__ void count_rows(size_t n, const TI *__restrict__ X, size_t ldx, int d,
                           const int *__restrict__ bucket, const signed char *__restrict__ csign,
                           int r, TO *__restrict__ Y, size_t ldy) {
  for (size_t row = blockIdx.x; row < n; row += gridDim.x) {
    const TI *x = X + row * ldx;
    TO *y = Y + row * ldy;
    for (int j = threadIdx.x; j < r; j += blockDim.x) y[j] = 0;
    __syncthreads();
    for (int k = threadIdx.x; k < d; k += blockDim.x)
      atomicAdd(&y[bucket[k]], (TO)csign[k] * (TO)x[k]);
    __syncthreads();
  }
}

__global__ void cmul(cufftDoubleComplex *__restrict__ a, const cufftDoubleComplex *__restrict__ b,
                     size_t n) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
       i += (size_t)gridDim.x * blockDim.x) {
    const double ar = a[i].x, ai = a[i].y, br = b[i].x, bi = b[i].y;
    a[i].x = ar * br - ai * bi;
    a[i].y = ar * bi + ai * br;
  }
}

// Y[i][j] = sc R[i][j] for i < n, j < r (R n x r dense).
template <typename T>
__global__ void scale_copy(size_t n, int r, const double *__restrict__ R, double sc,
                           T *__restrict__ Y, size_t ldy) {
  const size_t total = n * (size_t)r;
  for (size_t t = blockIdx.x * (size_t)blockDim.x + threadIdx.x; t < total;
       t += (size_t)gridDim.x * blockDim.x) {
    const size_t i = t / r, j = t % r;
    Y[i * ldy + j] = (T)(sc * R[t]);
  }
}

// F[i][j] = sr F[i][j] W[i][j] (the degree-2 PolySketch product).
template <typename T>
__global__ void hadamard_rows(size_t n, int r, T sr, T *__restrict__ F, size_t ldf,
                              const T *__restrict__ W) {
  const size_t total = n * (size_t)r;
  for (size_t t = blockIdx.x * (size_t)blockDim.x + threadIdx.x; t < total;
       t += (size_t)gridDim.x * blockDim.x) {
    const size_t i = t / r, j = t % r;
    F[i * ldf + j] = sr * F[i * ldf + j] * W[t];
  }
}

unsigned row_grid(size_t n) { return (unsigned)(n < 65535 * 16 ? (n ? n : 1) : 65535 * 16); }

template <typename T>
int tensor_apply(subq_cuda_sketch *s, size_t n, const T *X, size_t ldx, T *Y, size_t ldy,
                 cudaStream_t st) {
  const int r = s->r, d = s->d, nc = r / 2 + 1;
  if (s->p == 1) { // degree 1: the CountSketch itself, in T
    count_rows<T, T><<<row_grid(n), 128, 0, st>>>(n, X, ldx, d, s->bucket, s->csign, r, Y, ldy);
    CU_LAUNCHED();
    return 0;
  }
  CUFFT_CALL(cufftSetStream(s->fwd, st));
  CUFFT_CALL(cufftSetStream(s->bwd, st));
  for (size_t i0 = 0; i0 < n; i0 += s->tb) {
    const size_t nb = n - i0 < s->tb ? n - i0 : s->tb;
    for (int k = 0; k < s->p; k++) {
      count_rows<T, double><<<row_grid(nb), 128, 0, st>>>(
          nb, X + i0 * ldx, ldx, d, s->bucket + (size_t)k * d, s->csign + (size_t)k * d, r,
          s->real.p, (size_t)r);
      CU_LAUNCHED();
      // Rows nb..tb-1 of the buffers are stale; their outputs are ignored.
      CUFFT_CALL(cufftExecD2Z(s->fwd, s->real.p, k == 0 ? s->acc.p : s->spec.p));
      if (k > 0) {
        cmul<<<grid_for(nb * nc, 256), 256, 0, st>>>(s->acc.p, s->spec.p, nb * (size_t)nc);
        CU_LAUNCHED();
      }
    }
    CUFFT_CALL(cufftExecZ2D(s->bwd, s->acc.p, s->real.p));
    scale_copy<T><<<grid_for(nb * r, 256), 256, 0, st>>>(nb, r, s->real.p, 1.0 / r,
                                                          Y + i0 * ldy, ldy);
    CU_LAUNCHED();
  }
  return 0;
}

const double *gauss_matrix(const subq_cuda_sketch *s, double) { return s->S.p; }
const float *gauss_matrix(const subq_cuda_sketch *s, float) { return s->Sf.p; }

template <typename T>
int apply_dev(subq_cuda_sketch *s, size_t n, const T *X, size_t ldx, T *Y, size_t ldy,
              cublasHandle_t h, cudaStream_t st) {
  if (n == 0) return 0;
  switch (s->type) {
  case GAUSSIAN:
    CUBLAS_CALL(rgemm(h, false, false, n, (size_t)s->r, (size_t)s->d, (T)1, X, ldx,
                      gauss_matrix(s, (T)0), (size_t)s->r, (T)0, Y, ldy));
    break;
  case SRHT: {
    const size_t shm = (size_t)s->h * sizeof(T);
    if (shm > 48 * 1024)
      CU_CALL(cudaFuncSetAttribute(srht_rows<T>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                   (int)shm));
    const T sc = (T)(1.0 / sqrt((double)s->r));
    srht_rows<T><<<row_grid(n), 256, shm, st>>>(n, X, ldx, s->d, s->h, s->sign, s->col, s->r,
                                                sc, Y, ldy);
    CU_LAUNCHED();
    break;
  }
  case COUNT:
    count_rows<T, T><<<row_grid(n), 128, 0, st>>>(n, X, ldx, s->d, s->bucket, s->csign, s->r,
                                                  Y, ldy);
    CU_LAUNCHED();
    break;
  case TENSOR:
    SUBQ_CALL(tensor_apply(s, n, X, ldx, Y, ldy, st));
    break;
  default:
    return SUBQ_FAIL(SUBQ_ERR_INTERNAL, "device sketch type %d unknown", s->type);
  }
  return 0;
}

template <typename T>
int features(subq_cuda_polysketch *ps, size_t n, const T *X, size_t ldx, T *F, size_t ldf,
             cublasHandle_t h, cudaStream_t st);

template <typename T> T *work(subq_cuda_polysketch *ps);
template <> double *work<double>(subq_cuda_polysketch *ps) { return ps->w.p; }
template <> float *work<float>(subq_cuda_polysketch *ps) { return ps->wf.p; }

template <typename T>
int features(subq_cuda_polysketch *ps, size_t n, const T *X, size_t ldx, T *F, size_t ldf,
             cublasHandle_t h, cudaStream_t st) {
  if (!ps->s2) return apply_dev(ps->s1, n, X, ldx, F, ldf, h, st);
  const int r = ps->r;
  const T sr = (T)sqrt((double)r);
  if (!work<T>(ps)) {
    if (sizeof(T) == sizeof(double)) SUBQ_CALL(ps->w.alloc(ps->wrows * r));
    else SUBQ_CALL(ps->wf.alloc(ps->wrows * r));
  }
  T *W = work<T>(ps);
  for (size_t i0 = 0; i0 < n; i0 += ps->wrows) {
    const size_t nb = n - i0 < ps->wrows ? n - i0 : ps->wrows;
    SUBQ_CALL(apply_dev(ps->s1, nb, X + i0 * ldx, ldx, F + i0 * ldf, ldf, h, st));
    SUBQ_CALL(apply_dev(ps->s2, nb, X + i0 * ldx, ldx, W, (size_t)r, h, st));
    hadamard_rows<T><<<grid_for(nb * r, 256), 256, 0, st>>>(nb, r, sr, F + i0 * ldf, ldf, W);
    CU_LAUNCHED();
  }
  return 0;
}

// Host arrays in and out, in chunks of rows: X (n x ldx) -> device (m x din), f on the
// device into (m x dout), -> Y (n x ldy).
template <typename T, typename F>
int host_apply(dbuf<char> &dx, dbuf<char> &dy, size_t n, int din, int dout, const T *X,
               size_t ldx, T *Y, size_t ldy, F &&f) {
  cublasHandle_t h = nullptr;
  cudaStream_t st = nullptr;
  SUBQ_CALL(handle(&h, &st));
  if (n == 0) return 0;
  const size_t c = n < kHostChunk ? n : kHostChunk;
  SUBQ_CALL(dx.alloc(c * din * sizeof(T)));
  SUBQ_CALL(dy.alloc(c * dout * sizeof(T)));
  T *x = reinterpret_cast<T *>(dx.p), *y = reinterpret_cast<T *>(dy.p);
  for (size_t i0 = 0; i0 < n; i0 += c) {
    const size_t m = n - i0 < c ? n - i0 : c;
    CU_CALL(cudaMemcpy2DAsync(x, din * sizeof(T), X + i0 * ldx, ldx * sizeof(T),
                              din * sizeof(T), m, cudaMemcpyHostToDevice, st));
    SUBQ_CALL(f(m, x, (size_t)din, y, (size_t)dout, h, st));
    CU_CALL(cudaMemcpy2DAsync(Y + i0 * ldy, ldy * sizeof(T), y, dout * sizeof(T),
                              dout * sizeof(T), m, cudaMemcpyDeviceToHost, st));
  }
  CU_CALL(cudaStreamSynchronize(st));
  return 0;
}

// Synchronous upload (the library's stream is non-blocking: cudaMemcpy on the legacy
// stream would not order it, so the copy goes on that stream and is waited for).
template <typename T> int upload(dbuf<T> &dst, const T *src, size_t n) {
  cublasHandle_t h = nullptr;
  cudaStream_t st = nullptr;
  SUBQ_CALL(handle(&h, &st));
  SUBQ_CALL(dst.alloc(n));
  CU_CALL(cudaMemcpyAsync(dst.p, src, n * sizeof(T), cudaMemcpyHostToDevice, st));
  CU_CALL(cudaStreamSynchronize(st));
  return 0;
}

int make_sketch(const subq_cuda_sketch_desc_t *desc, subq_cuda_sketch **out) {
  *out = nullptr;
  subq_cuda_sketch *s = new (std::nothrow) subq_cuda_sketch;
  SUBQ_CHECK(s, SUBQ_ERR_MEM, "out of memory (device sketch)");
  s->type = desc->type;
  s->d = desc->d;
  s->r = desc->r;
  s->p = desc->p;
  s->h = desc->h;
  const size_t d = (size_t)s->d, r = (size_t)s->r;
  int e = 0;
  switch (s->type) {
  case GAUSSIAN: {
    e = upload(s->S, desc->S, d * r);
    if (!e) {
      float *tmp = nullptr;
      e = subq_malloc(d * r, sizeof(float), &tmp);
      if (!e) {
        for (size_t i = 0; i < d * r; i++) tmp[i] = (float)desc->S[i];
        e = upload(s->Sf, (const float *)tmp, d * r);
      }
      subq_free(&tmp);
    }
    break;
  }
  case SRHT:
    if ((size_t)s->h * sizeof(double) > 200 * 1024)
      e = SUBQ_FAIL(SUBQ_ERR_UNSUPPORTED,
                    "device SRHT supports padded lengths h <= 25600 (shared memory), got %d",
                    s->h);
    if (!e) e = upload(s->sign, desc->sign, d);
    if (!e) e = upload(s->col, desc->col, r);
    break;
  case COUNT:
  case TENSOR: {
    const size_t pd = (size_t)s->p * d;
    e = upload(s->bucket, desc->bucket, pd);
    if (!e) e = upload(s->csign, desc->csign, pd);
    if (!e && s->type == TENSOR && s->p > 1) {
      const size_t nc = r / 2 + 1;
      s->tb = ((size_t)1 << 22) / r;
      s->tb = s->tb < 1 ? 1 : s->tb > 4096 ? 4096 : s->tb;
      e = s->real.alloc(s->tb * r);
      if (!e) e = s->spec.alloc(s->tb * nc);
      if (!e) e = s->acc.alloc(s->tb * nc);
      int len[1] = {s->r};
      cufftResult r1 = CUFFT_SUCCESS, r2 = CUFFT_SUCCESS;
      if (!e) r1 = cufftPlanMany(&s->fwd, 1, len, nullptr, 1, s->r, nullptr, 1, (int)nc,
                                 CUFFT_D2Z, (int)s->tb);
      if (!e && r1 == CUFFT_SUCCESS)
        r2 = cufftPlanMany(&s->bwd, 1, len, nullptr, 1, (int)nc, nullptr, 1, s->r, CUFFT_Z2D,
                           (int)s->tb);
      if (!e && r1 == CUFFT_SUCCESS && r2 == CUFFT_SUCCESS) s->plans = true;
      else if (!e) {
        if (r1 == CUFFT_SUCCESS) cufftDestroy(s->fwd);
        e = cufft_fail(r1 != CUFFT_SUCCESS ? r1 : r2, "cufftPlanMany (tensorsketch)", __FILE__,
                       __LINE__, __func__);
      }
    }
    break;
  }
  default:
    e = SUBQ_FAIL(SUBQ_ERR_INTERNAL, "device sketch type %d unknown", s->type);
  }
  if (e) {
    delete s;
    return subq_error_trace(e, __FILE__, __LINE__, __func__);
  }
  *out = s;
  return 0;
}

} // namespace

namespace subq_cu {
int sketch_apply_dev(subq_cuda_sketch *s, size_t n, const double *X, size_t ldx, double *Y,
                     size_t ldy, cublasHandle_t h, cudaStream_t st) {
  return apply_dev(s, n, X, ldx, Y, ldy, h, st);
}
int sketch_apply_dev(subq_cuda_sketch *s, size_t n, const float *X, size_t ldx, float *Y,
                     size_t ldy, cublasHandle_t h, cudaStream_t st) {
  return apply_dev(s, n, X, ldx, Y, ldy, h, st);
}
int features_dev(subq_cuda_polysketch *ps, size_t n, const double *X, size_t ldx, double *F,
                 size_t ldf, cublasHandle_t h, cudaStream_t st) {
  return features(ps, n, X, ldx, F, ldf, h, st);
}
int features_dev(subq_cuda_polysketch *ps, size_t n, const float *X, size_t ldx, float *F,
                 size_t ldf, cublasHandle_t h, cudaStream_t st) {
  return features(ps, n, X, ldx, F, ldf, h, st);
}
} // namespace subq_cu

extern "C" int subq_cuda_sketch_create(const subq_cuda_sketch_desc_t *desc,
                                       subq_cuda_sketch_t **s) {
  cublasHandle_t h = nullptr;
  cudaStream_t st = nullptr;
  *s = nullptr;
  SUBQ_CALL(handle(&h, &st)); // a device must be bound
  SUBQ_CALL(make_sketch(desc, s));
  return SUBQ_OK;
}

extern "C" void subq_cuda_sketch_destroy(subq_cuda_sketch_t **s) {
  if (!s || !*s) return;
  delete *s;
  *s = nullptr;
}

extern "C" int subq_cuda_sketch_apply(subq_cuda_sketch_t *s, int f32, size_t n, const void *X,
                                      size_t ldx, void *Y, size_t ldy) {
  if (f32) {
    auto f = [s](size_t m, const float *x, size_t lx, float *y, size_t ly, cublasHandle_t h,
                 cudaStream_t st) { return apply_dev(s, m, x, lx, y, ly, h, st); };
    SUBQ_CALL(host_apply(s->dx, s->dy, n, s->d, s->r, (const float *)X, ldx, (float *)Y, ldy, f));
  } else {
    auto f = [s](size_t m, const double *x, size_t lx, double *y, size_t ly, cublasHandle_t h,
                 cudaStream_t st) { return apply_dev(s, m, x, lx, y, ly, h, st); };
    SUBQ_CALL(host_apply(s->dx, s->dy, n, s->d, s->r, (const double *)X, ldx, (double *)Y, ldy,
                         f));
  }
  return SUBQ_OK;
}

extern "C" int subq_cuda_polysketch_create(const subq_cuda_sketch_desc_t *s1,
                                           const subq_cuda_sketch_desc_t *s2,
                                           subq_cuda_polysketch_t **ps) {
  cublasHandle_t h = nullptr;
  cudaStream_t st = nullptr;
  *ps = nullptr;
  SUBQ_CALL(handle(&h, &st));
  subq_cuda_polysketch *o = new (std::nothrow) subq_cuda_polysketch;
  SUBQ_CHECK(o, SUBQ_ERR_MEM, "out of memory (device polysketch)");
  o->d = s1->d;
  o->r = s1->r;
  o->wrows = 8192;
  int e = make_sketch(s1, &o->s1);
  if (!e && s2) e = make_sketch(s2, &o->s2);
  if (e) {
    delete o;
    return subq_error_trace(e, __FILE__, __LINE__, __func__);
  }
  *ps = o;
  return SUBQ_OK;
}

extern "C" void subq_cuda_polysketch_destroy(subq_cuda_polysketch_t **ps) {
  if (!ps || !*ps) return;
  delete *ps;
  *ps = nullptr;
}

extern "C" int subq_cuda_polysketch_features(subq_cuda_polysketch_t *ps, int f32, size_t n,
                                             const void *X, size_t ldx, void *F, size_t ldf) {
  if (f32) {
    auto f = [ps](size_t m, const float *x, size_t lx, float *y, size_t ly, cublasHandle_t h,
                  cudaStream_t st) { return features(ps, m, x, lx, y, ly, h, st); };
    SUBQ_CALL(host_apply(ps->dx, ps->dy, n, ps->d, ps->r, (const float *)X, ldx, (float *)F,
                         ldf, f));
  } else {
    auto f = [ps](size_t m, const double *x, size_t lx, double *y, size_t ly,
                  cublasHandle_t h, cudaStream_t st) {
      return features(ps, m, x, lx, y, ly, h, st);
    };
    SUBQ_CALL(host_apply(ps->dx, ps->dy, n, ps->d, ps->r, (const double *)X, ldx, (double *)F,
                         ldf, f));
  }
  return SUBQ_OK;
}
