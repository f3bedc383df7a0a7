// Polysketch attention on the device (include/subq/attn.h; PolySketchFormer, arXiv
// 2310.01655, Sec. 3.3).  The CPU sweeps the blocks one after another; here a chunk of C
// blocks is done at once with strided-batched cuBLAS products:
//   Zb_c = t(B_c)^T [V_c 1]                 per-block states         (batched gemm)
//   Zb_c <- Z + sum_{c' < c} Zb_c'           exclusive prefix + carry (scan kernel)
//   OUT_c = t(A_c) Zb_c + tril(P_c) [V_c 1]  P_c = (A_c B_c^T)^2, or (Qn_c Kn_c^T)^p mixed
// with t() the r(r+1)/2 self-tensored features (tensor2 kernel).  Tokens are laid out
// padded so that block edges fall at global multiples of b as on the CPU: token s of this
// rank sits at padded row off + s, off = g0 mod b, and pad rows are zero (zero features
// and a zero ones-column contribute nothing).  The C code (src/attn/polysketch_tmpl.h) does
// the MPI scan of the states on host buffers between ps_state and ps_output.
#include <math.h>

#include "cuda/attn.cuh"

using namespace subq_cu;

namespace {

const size_t kChunkTokens = 8192; // tokens per batched chunk (C = max(1, kChunkTokens / b))

// X2 row i = t(A row i): a_c^2, sqrt(2) a_c a_e (c < e), the CPU's order.
template <typename T>
__global__ void tensor2(size_t n, int r, const T *__restrict__ A, T *__restrict__ X2) {
  const size_t rr = (size_t)r * (r + 1) / 2;
  const T s2 = (T)M_SQRT2;
  for (size_t i = blockIdx.x; i < n; i += gridDim.x) {
    const T *a = A + i * r;
    T *x = X2 + i * rr;
    size_t base = 0;
    for (int c = 0; c < r; c++) {
      const T ac = a[c], bc = s2 * a[c];
      for (int e = c + threadIdx.x; e < r; e += blockDim.x)
        x[base + (e - c)] = e == c ? ac * ac : bc * a[e];
      base += (size_t)(r - c);
    }
  }
}

// Column dv of Vp = 1 on the rows of real tokens [off, off + nl).
template <typename T> __global__ void ones_col(size_t off, size_t nl, int dv1, T *Vp) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < nl;
       i += (size_t)gridDim.x * blockDim.x)
    Vp[(off + i) * dv1 + dv1 - 1] = 1;
}

// Per element e of the state: Zb[c][e] <- Z[e] + sum_{c' < c} Zb[c'][e], Z[e] += sum_c.
template <typename T> __global__ void scan_states(size_t ne, size_t C, T *Zb, T *Z) {
  for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < ne;
       e += (size_t)gridDim.x * blockDim.x) {
    T run = Z[e];
    for (size_t c = 0; c < C; c++) {
      const T t = Zb[c * ne + e];
      Zb[c * ne + e] = run;
      run += t;
    }
    Z[e] = run;
  }
}

// P (C blocks of b x b): lower triangle p -> (p^2)^reps, strict upper -> 0.
template <typename T> __global__ void tril_power(size_t total, size_t b, int reps, T *P) {
  for (size_t t = blockIdx.x * (size_t)blockDim.x + threadIdx.x; t < total;
       t += (size_t)gridDim.x * blockDim.x) {
    const size_t i = (t / b) % b, j = t % b;
    if (j > i) {
      P[t] = 0;
      continue;
    }
    const T t2 = P[t] * P[t];
    T v = t2;
    for (int k = 1; k < reps; k++) v *= t2;
    P[t] = v;
  }
}

// O[s] = OUT[q - q0][:dv] / (1 + OUT[q - q0][dv]) for the padded rows q in [q0, q0 + len)
// that hold real tokens s = q - off in [0, nl).
template <typename T>
__global__ void normalize(size_t q0, size_t len, size_t off, size_t nl, int dv,
                          const T *__restrict__ OUT, T *__restrict__ O) {
  const size_t total = len * (size_t)dv;
  for (size_t t = blockIdx.x * (size_t)blockDim.x + threadIdx.x; t < total;
       t += (size_t)gridDim.x * blockDim.x) {
    const size_t i = t / dv, c = t % dv, q = q0 + i;
    if (q < off || q >= off + nl) continue;
    const T *o = OUT + i * (size_t)(dv + 1);
    const T inv = (T)1 / ((T)1 + o[dv]);
    O[(q - off) * dv + c] = o[c] * inv;
  }
}

unsigned row_grid(size_t n) { return (unsigned)(n < 65535 * 16 ? (n ? n : 1) : 65535 * 16); }

size_t rr_of(int r) { return (size_t)r * (size_t)(r + 1) / 2; }

// Blocks per chunk for the current layout.
size_t chunk_blocks(const subq_cuda_attn *a) {
  const size_t b = (size_t)a->o.block, nblk = a->npad / b;
  const size_t C = kChunkTokens / b > 1 ? kChunkTokens / b : 1;
  return C < nblk ? C : nblk;
}

template <typename T>
int ps_begin(subq_cuda_attn *a, size_t nl, size_t g0, const T *Qn, const T *Kn, const T *V) {
  cublasHandle_t h = nullptr;
  cudaStream_t st = nullptr;
  SUBQ_CALL(handle(&h, &st));
  const size_t b = (size_t)a->o.block, d = (size_t)a->o.d, r = (size_t)a->o.r;
  const size_t dv = (size_t)a->o.dv, dv1 = dv + 1;
  a->flops = a->seconds = 0;
  a->nl = nl;
  a->g0 = g0;
  a->off = g0 % b;
  a->npad = (a->off + nl + b - 1) / b * b;
  const size_t np = a->npad;
  CU_CALL(cudaEventRecord(a->ev0, st));
  SUBQ_CALL(alloc_as<T>(a->Qn, np * d));
  SUBQ_CALL(alloc_as<T>(a->Kn, np * d));
  SUBQ_CALL(alloc_as<T>(a->A, np * r));
  SUBQ_CALL(alloc_as<T>(a->B, np * r));
  SUBQ_CALL(alloc_as<T>(a->Vp, np * dv1));
  SUBQ_CALL(alloc_as<T>(a->Z, rr_of(a->o.r) * dv1));
  SUBQ_CALL(alloc_as<T>(a->O, nl * dv));
  if (nl == 0) return 0;
  CU_CALL(cudaMemsetAsync(a->Qn.p, 0, np * d * sizeof(T), st));
  CU_CALL(cudaMemsetAsync(a->Kn.p, 0, np * d * sizeof(T), st));
  CU_CALL(cudaMemsetAsync(a->A.p, 0, np * r * sizeof(T), st));
  CU_CALL(cudaMemsetAsync(a->B.p, 0, np * r * sizeof(T), st));
  CU_CALL(cudaMemsetAsync(a->Vp.p, 0, np * dv1 * sizeof(T), st));
  T *dQ = as<T>(a->Qn) + a->off * d, *dK = as<T>(a->Kn) + a->off * d;
  CU_CALL(cudaMemcpyAsync(dQ, Qn, nl * d * sizeof(T), cudaMemcpyHostToDevice, st));
  CU_CALL(cudaMemcpyAsync(dK, Kn, nl * d * sizeof(T), cudaMemcpyHostToDevice, st));
  CU_CALL(cudaMemcpy2DAsync(as<T>(a->Vp) + a->off * dv1, dv1 * sizeof(T), V, dv * sizeof(T),
                            dv * sizeof(T), nl, cudaMemcpyHostToDevice, st));
  ones_col<T><<<grid_for(nl, 256), 256, 0, st>>>(a->off, nl, (int)dv1, as<T>(a->Vp));
  CU_LAUNCHED();
  SUBQ_CALL(features_dev(a->o.phi, nl, dQ, d, as<T>(a->A) + a->off * r, r, h, st));
  SUBQ_CALL(features_dev(a->o.phi, nl, dK, d, as<T>(a->B) + a->off * r, r, h, st));
  // Chunk work buffers.
  const size_t C = chunk_blocks(a);
  const size_t rr = rr_of(a->o.r);
  SUBQ_CALL(alloc_as<T>(a->X2, C * b * rr));
  SUBQ_CALL(alloc_as<T>(a->OUT, C * b * dv1));
  if (a->o.causal) {
    SUBQ_CALL(alloc_as<T>(a->Zb, C * rr * dv1));
    SUBQ_CALL(alloc_as<T>(a->P, C * b * b));
  }
  return 0;
}

template <typename T> int ps_state(subq_cuda_attn *a, T *Z) {
  cublasHandle_t h = nullptr;
  cudaStream_t st = nullptr;
  SUBQ_CALL(handle(&h, &st));
  const size_t b = (size_t)a->o.block, r = (size_t)a->o.r, rr = rr_of(a->o.r);
  const size_t dv1 = (size_t)a->o.dv + 1, nz = rr * dv1;
  T *dZ = as<T>(a->Z), *X2 = as<T>(a->X2);
  CU_CALL(cudaMemsetAsync(dZ, 0, nz * sizeof(T), st));
  const size_t C = chunk_blocks(a);
  for (size_t q0 = 0; q0 < a->npad && a->nl > 0; q0 += C * b) {
    const size_t len = a->npad - q0 < C * b ? a->npad - q0 : C * b;
    tensor2<T><<<row_grid(len), 64, 0, st>>>(len, a->o.r, as<T>(a->B) + q0 * r, X2);
    CU_LAUNCHED();
    CUBLAS_CALL(rgemm(h, true, false, rr, dv1, len, (T)1, X2, rr, as<T>(a->Vp) + q0 * dv1, dv1,
                      (T)1, dZ, dv1));
    a->flops += 2.0 * (double)rr * (double)dv1 * (double)len;
  }
  CU_CALL(cudaMemcpyAsync(Z, dZ, nz * sizeof(T), cudaMemcpyDeviceToHost, st));
  CU_CALL(cudaStreamSynchronize(st));
  return 0;
}

template <typename T> int ps_output(subq_cuda_attn *a, const T *Z, T *O) {
  cublasHandle_t h = nullptr;
  cudaStream_t st = nullptr;
  SUBQ_CALL(handle(&h, &st));
  const size_t b = (size_t)a->o.block, r = (size_t)a->o.r, d = (size_t)a->o.d;
  const size_t rr = rr_of(a->o.r), dv = (size_t)a->o.dv, dv1 = dv + 1, nz = rr * dv1;
  const int causal = a->o.causal, mixed = a->o.mixed;
  T *dZ = as<T>(a->Z), *X2 = as<T>(a->X2), *OUT = as<T>(a->OUT), *dO = as<T>(a->O);
  const T *A = as<T>(a->A), *B = as<T>(a->B), *Vp = as<T>(a->Vp);
  CU_CALL(cudaMemcpyAsync(dZ, Z, nz * sizeof(T), cudaMemcpyHostToDevice, st));
  const size_t C = chunk_blocks(a);
  for (size_t q0 = 0; q0 < a->npad && a->nl > 0; q0 += C * b) {
    const size_t len = a->npad - q0 < C * b ? a->npad - q0 : C * b, nb = len / b;
    if (causal) {
      T *Zb = as<T>(a->Zb), *P = as<T>(a->P);
      tensor2<T><<<row_grid(len), 64, 0, st>>>(len, a->o.r, B + q0 * r, X2);
      CU_LAUNCHED();
      CUBLAS_CALL(rgemm_batched(h, true, false, rr, dv1, b, (T)1, X2, rr, (long long)(b * rr),
                                Vp + q0 * dv1, dv1, (long long)(b * dv1), (T)0, Zb, dv1,
                                (long long)nz, nb));
      scan_states<T><<<grid_for(nz, 256), 256, 0, st>>>(nz, nb, Zb, dZ);
      CU_LAUNCHED();
      tensor2<T><<<row_grid(len), 64, 0, st>>>(len, a->o.r, A + q0 * r, X2);
      CU_LAUNCHED();
      CUBLAS_CALL(rgemm_batched(h, false, false, b, dv1, rr, (T)1, X2, rr, (long long)(b * rr),
                                Zb, dv1, (long long)nz, (T)0, OUT, dv1, (long long)(b * dv1),
                                nb));
      if (mixed)
        CUBLAS_CALL(rgemm_batched(h, false, true, b, b, d, (T)1, as<T>(a->Qn) + q0 * d, d,
                                  (long long)(b * d), as<T>(a->Kn) + q0 * d, d,
                                  (long long)(b * d), (T)0, P, b, (long long)(b * b), nb));
      else
        CUBLAS_CALL(rgemm_batched(h, false, true, b, b, r, (T)1, A + q0 * r, r,
                                  (long long)(b * r), B + q0 * r, r, (long long)(b * r), (T)0,
                                  P, b, (long long)(b * b), nb));
      tril_power<T><<<grid_for(nb * b * b, 256), 256, 0, st>>>(nb * b * b, b,
                                                               mixed ? a->o.p / 2 : 1, P);
      CU_LAUNCHED();
      CUBLAS_CALL(rgemm_batched(h, false, false, b, dv1, b, (T)1, P, b, (long long)(b * b),
                                Vp + q0 * dv1, dv1, (long long)(b * dv1), (T)1, OUT, dv1,
                                (long long)(b * dv1), nb));
      a->flops += 2.0 * (double)len *
                  ((double)rr * dv1 * 2 + (double)b * (mixed ? d : r) + (double)b * dv1);
    } else {
      tensor2<T><<<row_grid(len), 64, 0, st>>>(len, a->o.r, A + q0 * r, X2);
      CU_LAUNCHED();
      CUBLAS_CALL(rgemm(h, false, false, len, dv1, rr, (T)1, X2, rr, dZ, dv1, (T)0, OUT, dv1));
      a->flops += 2.0 * (double)len * (double)rr * (double)dv1;
    }
    normalize<T><<<grid_for(len * dv, 256), 256, 0, st>>>(q0, len, a->off, a->nl, (int)dv, OUT,
                                                          dO);
    CU_LAUNCHED();
  }
  if (a->nl > 0)
    CU_CALL(cudaMemcpyAsync(O, dO, a->nl * dv * sizeof(T), cudaMemcpyDeviceToHost, st));
  CU_CALL(cudaEventRecord(a->ev1, st));
  CU_CALL(cudaStreamSynchronize(st));
  SUBQ_CALL(attn_elapsed(a));
  return 0;
}

} // namespace

extern "C" int subq_cuda_attn_ps_begin(subq_cuda_attn_t *a, int f32, size_t nl, size_t g0,
                                       const void *Qn, const void *Kn, const void *V) {
  a->f32 = f32;
  SUBQ_CALL(f32 ? ps_begin(a, nl, g0, (const float *)Qn, (const float *)Kn, (const float *)V)
                : ps_begin(a, nl, g0, (const double *)Qn, (const double *)Kn,
                           (const double *)V));
  return SUBQ_OK;
}

extern "C" int subq_cuda_attn_ps_state(subq_cuda_attn_t *a, void *Z) {
  SUBQ_CALL(a->f32 ? ps_state(a, (float *)Z) : ps_state(a, (double *)Z));
  return SUBQ_OK;
}

extern "C" int subq_cuda_attn_ps_output(subq_cuda_attn_t *a, const void *Z, void *O) {
  SUBQ_CALL(a->f32 ? ps_output(a, (const float *)Z, (float *)O)
                   : ps_output(a, (const double *)Z, (double *)O));
  return SUBQ_OK;
}

extern "C" void subq_cuda_attn_ps_end(subq_cuda_attn_t *a) {
  if (!a) return;
  // Keep the buffers for the next apply of the same size; free the largest ones.
  a->X2.release();
  a->P.release();
}
