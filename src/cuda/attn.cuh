// Private: the device attention context shared by attn_exact.cu and attn_polysketch.cu.
#ifndef SUBQ_CUDA_ATTN_CUH
#define SUBQ_CUDA_ATTN_CUH

#include "cuda/sketch.cuh"

enum { SUBQ_CU_SOFTMAX = 0, SUBQ_CU_POLY = 1, SUBQ_CU_POLYSKETCH = 2 }; // subq_attn_type_t

struct subq_cuda_attn {
  subq_cuda_attn_desc_t o{};
  int f32 = 0;
  double flops = 0, seconds = 0; // last apply
  cudaEvent_t ev0 = nullptr, ev1 = nullptr; // apply start, end (device time)
  cudaEvent_t evc = nullptr;                 // uploads of a shard done (pinned sources)
  // Exact attention: this rank's queries and the running (max, sum, output).
  size_t nq = 0, q0 = 0;
  subq_cu::dbuf<char> Q, K, V, S, m, l, acc;
  // Polysketch: padded token layout (token s of this rank at padded row off + s; block
  // edges at padded multiples of b), features, values with the ones column, work.
  size_t nl = 0, g0 = 0, off = 0, npad = 0;
  subq_cu::dbuf<char> Qn, Kn, A, B, Vp, X2, Zb, P, OUT, Z, O;
  ~subq_cuda_attn() {
    if (ev0) cudaEventDestroy(ev0);
    if (ev1) cudaEventDestroy(ev1);
    if (evc) cudaEventDestroy(evc);
  }
};

namespace subq_cu {
// Typed view of a byte buffer.
template <typename T> inline T *as(const dbuf<char> &b) { return reinterpret_cast<T *>(b.p); }
// Allocate a byte buffer for n elements of T.
template <typename T> inline int alloc_as(dbuf<char> &b, size_t n) {
  return b.alloc((n ? n : 1) * sizeof(T));
}
// Seconds between the context's two events (after ev1 completed).
int attn_elapsed(subq_cuda_attn *a);
} // namespace subq_cu

#endif
