// Exact softmax and polynomial attention on the device (include/subq/attn.h), the
// baselines of the polysketch comparisons: FlashAttention-style streaming (Dao et al. 2022,
// Alg. 1) over query x key tiles with cuBLAS block products (S = Q K^T, acc += P V) and a
// warp-per-row online-softmax kernel; never an n x n matrix.  The C ring code
// (src/attn/exact_tmpl.h) passes the K, V shards; the running (max, sum, output) simply
// continues across shards, which equals the CPU's log-sum-exp merge up to rounding.
#include <math.h>
#include <new>

#include "cuda/attn.cuh"

using namespace subq_cu;

namespace {

const size_t kBQ = 1024, kBK = 1024; // query rows x keys per tile

__device__ inline size_t visible(int causal, size_t qp, size_t kstart, size_t nkb) {
  if (!causal) return nkb;
  if (qp < kstart) return 0;
  return qp - kstart + 1 < nkb ? qp - kstart + 1 : nkb;
}

template <typename T> __global__ void fill(T *x, size_t n, T v) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
       i += (size_t)gridDim.x * blockDim.x)
    x[i] = v;
}

// One warp per query row of the tile S (nqb x nkb): the online-softmax update of the row's
// running max m, sum l and output acc (scaled by alpha); S becomes P = exp(S - m_new) on
// the visible keys and 0 elsewhere.
template <typename T>
__global__ void softmax_rows(size_t nqb, size_t nkb, T *__restrict__ S, int causal, size_t qp0,
                             size_t kstart, T *__restrict__ m, T *__restrict__ l,
                             T *__restrict__ acc, int dv) {
  const size_t row = blockIdx.x * (size_t)(blockDim.x / 32) + threadIdx.x / 32;
  const unsigned lane = threadIdx.x % 32;
  if (row >= nqb) return;
  T *s = S + row * nkb;
  const size_t vis = visible(causal, qp0 + row, kstart, nkb);
  if (vis == 0) {
    for (size_t j = lane; j < nkb; j += 32) s[j] = 0;
    return;
  }
  T bm = -(T)INFINITY;
  for (size_t j = lane; j < vis; j += 32) bm = s[j] > bm ? s[j] : bm;
  bm = warp_max(bm);
  const T mo = m[row], mn = mo > bm ? mo : bm;
  const T alpha = dexp(mo - mn); // 0 when mo = -inf; mn is finite
  T sum = 0;
  for (size_t j = lane; j < nkb; j += 32) {
    const T e = j < vis ? dexp(s[j] - mn) : (T)0;
    s[j] = e;
    sum += e;
  }
  sum = warp_sum(sum);
  __syncwarp();
  if (lane == 0) {
    l[row] = l[row] * alpha + sum;
    m[row] = mn;
  }
  if (alpha != (T)1)
    for (int c = lane; c < dv; c += 32) acc[row * dv + c] *= alpha;
}

// One warp per query row: S <- <q,k>^p on the visible keys (0 elsewhere), den += row sum.
template <typename T>
__global__ void poly_rows(size_t nqb, size_t nkb, T *__restrict__ S, int causal, size_t qp0,
                          size_t kstart, int half, T *__restrict__ den) {
  const size_t row = blockIdx.x * (size_t)(blockDim.x / 32) + threadIdx.x / 32;
  const unsigned lane = threadIdx.x % 32;
  if (row >= nqb) return;
  T *s = S + row * nkb;
  const size_t vis = visible(causal, qp0 + row, kstart, nkb);
  T sum = 0;
  for (size_t j = lane; j < nkb; j += 32) {
    T w = 0;
    if (j < vis) {
      const T t2 = s[j] * s[j];
      w = t2;
      for (int e = 1; e < half; e++) w *= t2;
    }
    s[j] = w;
    sum += w;
  }
  sum = warp_sum(sum);
  if (lane == 0) den[row] += sum;
}

// O = acc / den, den = l (softmax) or 1 + l (poly); rows with den <= 0 give 0.
template <typename T>
__global__ void finish(size_t n, int dv, const T *__restrict__ acc, const T *__restrict__ l,
                       int soft, T *__restrict__ O) {
  const size_t total = n * (size_t)dv;
  for (size_t t = blockIdx.x * (size_t)blockDim.x + threadIdx.x; t < total;
       t += (size_t)gridDim.x * blockDim.x) {
    const size_t i = t / dv;
    const T den = soft ? l[i] : (T)1 + l[i];
    const T inv = den > 0 ? (T)1 / den : (T)0;
    O[t] = acc[t] * inv;
  }
}

template <typename T> int begin(subq_cuda_attn *a, size_t nq, size_t q0, const T *Q) {
  cublasHandle_t h = nullptr;
  cudaStream_t st = nullptr;
  SUBQ_CALL(handle(&h, &st));
  const int d = a->o.d, dv = a->o.dv;
  a->nq = nq;
  a->q0 = q0;
  a->flops = a->seconds = 0;
  CU_CALL(cudaEventRecord(a->ev0, st));
  SUBQ_CALL(alloc_as<T>(a->Q, nq * d));
  SUBQ_CALL(alloc_as<T>(a->m, nq));
  SUBQ_CALL(alloc_as<T>(a->l, nq));
  SUBQ_CALL(alloc_as<T>(a->acc, nq * dv));
  SUBQ_CALL(alloc_as<T>(a->S, kBQ * kBK));
  if (nq == 0) return 0;
  CU_CALL(cudaMemcpyAsync(a->Q.p, Q, nq * d * sizeof(T), cudaMemcpyHostToDevice, st));
  fill<T><<<grid_for(nq, 256), 256, 0, st>>>(as<T>(a->m), nq, -(T)INFINITY);
  CU_LAUNCHED();
  CU_CALL(cudaMemsetAsync(a->l.p, 0, nq * sizeof(T), st));
  CU_CALL(cudaMemsetAsync(a->acc.p, 0, nq * dv * sizeof(T), st));
  return 0;
}

template <typename T> int shard(subq_cuda_attn *a, size_t nk, size_t k0, const T *K, const T *V) {
  cublasHandle_t h = nullptr;
  cudaStream_t st = nullptr;
  SUBQ_CALL(handle(&h, &st));
  const int d = a->o.d, dv = a->o.dv, causal = a->o.causal;
  const int soft = a->o.type == SUBQ_CU_SOFTMAX;
  const size_t nq = a->nq, q0 = a->q0;
  if (nq == 0 || nk == 0) return 0;
  SUBQ_CALL(alloc_as<T>(a->K, nk * d));
  SUBQ_CALL(alloc_as<T>(a->V, nk * dv));
  CU_CALL(cudaMemcpyAsync(a->K.p, K, nk * d * sizeof(T), cudaMemcpyHostToDevice, st));
  CU_CALL(cudaMemcpyAsync(a->V.p, V, nk * dv * sizeof(T), cudaMemcpyHostToDevice, st));
  CU_CALL(cudaEventRecord(a->evc, st));
  const T *dQ = as<T>(a->Q), *dK = as<T>(a->K), *dV = as<T>(a->V);
  T *S = as<T>(a->S), *m = as<T>(a->m), *l = as<T>(a->l), *acc = as<T>(a->acc);
  const T sc = soft ? (T)a->o.scale : (T)1;
  for (size_t i0 = 0; i0 < nq; i0 += kBQ) {
    const size_t nqb = nq - i0 < kBQ ? nq - i0 : kBQ;
    const size_t qlast = q0 + i0 + nqb - 1;
    for (size_t j0 = 0; j0 < nk; j0 += kBK) {
      const size_t nkb = nk - j0 < kBK ? nk - j0 : kBK;
      if (causal && k0 + j0 > qlast) break;
      CUBLAS_CALL(rgemm(h, false, true, nqb, nkb, (size_t)d, sc, dQ + i0 * d, (size_t)d,
                        dK + j0 * d, (size_t)d, (T)0, S, nkb));
      if (soft)
        softmax_rows<T><<<grid_for(nqb, 8), 256, 0, st>>>(nqb, nkb, S, causal, q0 + i0, k0 + j0,
                                                          m + i0, l + i0, acc + i0 * dv, dv);
      else
        poly_rows<T><<<grid_for(nqb, 8), 256, 0, st>>>(nqb, nkb, S, causal, q0 + i0, k0 + j0,
                                                       a->o.p / 2, l + i0);
      CU_LAUNCHED();
      CUBLAS_CALL(rgemm(h, false, false, nqb, (size_t)dv, nkb, (T)1, S, nkb, dV + j0 * dv,
                        (size_t)dv, (T)1, acc + i0 * dv, (size_t)dv));
      a->flops += 2.0 * (double)nqb * (double)nkb * (double)(d + dv);
    }
  }
  // K, V are the caller's pinned ring buffers, overwritten by the next exchange: wait for
  // their upload (the tiles above keep running while the ranks exchange shards).
  CU_CALL(cudaEventSynchronize(a->evc));
  return 0;
}

template <typename T> int end(subq_cuda_attn *a, T *O) {
  cublasHandle_t h = nullptr;
  cudaStream_t st = nullptr;
  SUBQ_CALL(handle(&h, &st));
  const size_t nq = a->nq, dv = (size_t)a->o.dv;
  if (nq > 0) {
    // The output goes into the (no longer needed) query buffer when it is large enough.
    SUBQ_CALL(alloc_as<T>(a->K, nq * dv));
    finish<T><<<grid_for(nq * dv, 256), 256, 0, st>>>(nq, (int)dv, as<T>(a->acc), as<T>(a->l),
                                                      a->o.type == SUBQ_CU_SOFTMAX, as<T>(a->K));
    CU_LAUNCHED();
    CU_CALL(cudaMemcpyAsync(O, a->K.p, nq * dv * sizeof(T), cudaMemcpyDeviceToHost, st));
  }
  CU_CALL(cudaEventRecord(a->ev1, st));
  CU_CALL(cudaStreamSynchronize(st));
  SUBQ_CALL(attn_elapsed(a));
  return 0;
}

} // namespace

namespace subq_cu {
int attn_elapsed(subq_cuda_attn *a) {
  float ms = 0;
  CU_CALL(cudaEventElapsedTime(&ms, a->ev0, a->ev1));
  a->seconds = ms * 1e-3;
  return 0;
}
} // namespace subq_cu

extern "C" int subq_cuda_attn_create(const subq_cuda_attn_desc_t *desc, subq_cuda_attn_t **a) {
  cublasHandle_t h = nullptr;
  cudaStream_t st = nullptr;
  *a = nullptr;
  SUBQ_CALL(handle(&h, &st));
  SUBQ_CHECK(desc->type != SUBQ_CU_POLYSKETCH || desc->phi, SUBQ_ERR_INTERNAL,
             "device polysketch attention without a device feature map");
  subq_cuda_attn *o = new (std::nothrow) subq_cuda_attn;
  SUBQ_CHECK(o, SUBQ_ERR_MEM, "out of memory (device attention)");
  o->o = *desc;
  cudaError_t e = cudaEventCreate(&o->ev0);
  if (e == cudaSuccess) e = cudaEventCreate(&o->ev1);
  if (e == cudaSuccess) e = cudaEventCreateWithFlags(&o->evc, cudaEventDisableTiming);
  if (e != cudaSuccess) {
    delete o;
    return cuda_fail(e, "cudaEventCreate", __FILE__, __LINE__, __func__);
  }
  *a = o;
  return SUBQ_OK;
}

extern "C" void subq_cuda_attn_destroy(subq_cuda_attn_t **a) {
  if (!a || !*a) return;
  delete *a;
  *a = nullptr;
}

extern "C" void subq_cuda_attn_stats(const subq_cuda_attn_t *a, double *flops, double *seconds) {
  *flops = a ? a->flops : 0;
  *seconds = a ? a->seconds : 0;
}

extern "C" int subq_cuda_attn_exact_begin(subq_cuda_attn_t *a, int f32, size_t nq, size_t q0,
                                          const void *Q) {
  a->f32 = f32;
  SUBQ_CALL(f32 ? begin(a, nq, q0, (const float *)Q) : begin(a, nq, q0, (const double *)Q));
  return SUBQ_OK;
}

extern "C" int subq_cuda_attn_exact_shard(subq_cuda_attn_t *a, size_t nk, size_t k0,
                                          const void *K, const void *V) {
  SUBQ_CALL(a->f32 ? shard(a, nk, k0, (const float *)K, (const float *)V)
                   : shard(a, nk, k0, (const double *)K, (const double *)V));
  return SUBQ_OK;
}

extern "C" int subq_cuda_attn_exact_end(subq_cuda_attn_t *a, void *O) {
  SUBQ_CALL(a->f32 ? end(a, (float *)O) : end(a, (double *)O));
  return SUBQ_OK;
}
