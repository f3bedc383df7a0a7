// LevAttention's restricted attention on the device (Kannan, Bhattacharyya, Kacham, Woodruff
// 2024, arXiv 2410.05462, Section 3; include/subq/levatt.h): the running partials
// (max m, sum l, numerators O) of o_i = sum_{j in U} f(q_i.k_j) v_j / sum_{j in U} f(q_i.k_j)
// over the given keys, f = |x|^p or exp(scale x), with the causal mask on global key
// positions kidx.  The arithmetic of partial_ in src/lev/levatt_attend.c, on tiles of
// kQB queries x kKB keys: cublasDgemm S = Q K^T, a warp-per-row kernel (mask, f, running
// max and rescale of the row's numerators), cublasDgemm O += S V.  float64 throughout.
#include <math.h>
#include <stdint.h>

#include "cuda/common.cuh"
#include "lev/levatt_pow.h"

using namespace subq_cu;

namespace {

const size_t kQB = 1024, kKB = 4096; // queries x keys per tile (32 MiB of float64)

// One warp per query row of the tile S (bq x bk): S becomes the weights of the visible keys
// (0 for masked ones); m, l and the row of O are updated as partial_ does.
__global__ void levatt_rows(size_t bq, size_t bk, double *__restrict__ S, int soft, int p,
                            double scale, int causal, long long qpos0,
                            const long long *__restrict__ kpos, size_t j0,
                            double *__restrict__ m, double *__restrict__ l,
                            double *__restrict__ O, size_t dv) {
  const size_t row = blockIdx.x * (size_t)(blockDim.x / 32) + threadIdx.x / 32;
  const unsigned lane = threadIdx.x % 32;
  if (row >= bq) return;
  double *s = S + row * bk;
  const long long qpos = qpos0 + (long long)row;
  // Key j is admissible unless causal and its position is after the query's.
#define ADMIT(j) (!causal || (kpos ? kpos[j0 + (j)] : (long long)(j0 + (j))) <= qpos)
  if (!soft) {
    double sum = 0;
    for (size_t j = lane; j < bk; j += 32) {
      const double w = ADMIT(j) ? subq_levatt_ipow_abs(s[j], p) : 0.0;
      s[j] = w;
      sum += w;
    }
    sum = warp_sum(sum);
    if (lane == 0) l[row] += sum;
    return;
  }
  double mx = -INFINITY;
  for (size_t j = lane; j < bk; j += 32)
    if (ADMIT(j) && scale * s[j] > mx) mx = scale * s[j];
  mx = warp_max(mx);
  if (mx == -INFINITY) { // no admissible key in this tile
    for (size_t j = lane; j < bk; j += 32) s[j] = 0;
    return;
  }
  const double mold = m[row], mnew = mold > mx ? mold : mx;
  const double alpha = mold == -INFINITY ? 0.0 : exp(mold - mnew);
  double sum = 0;
  for (size_t j = lane; j < bk; j += 32) {
    const double w = ADMIT(j) ? exp(scale * s[j] - mnew) : 0.0;
    s[j] = w;
    sum += w;
  }
#undef ADMIT
  sum = warp_sum(sum);
  __syncwarp();
  if (lane == 0) {
    l[row] = l[row] * alpha + sum;
    m[row] = mnew;
  }
  if (alpha != 1.0)
    for (size_t c = lane; c < dv; c += 32) O[row * dv + c] *= alpha;
}

} // namespace

extern "C" int subq_cuda_levatt_partial(int fn, int p, double scale, int causal, size_t d,
                                        size_t dv, size_t nq, const double *Q, size_t q0,
                                        size_t nk, const double *K, const double *V,
                                        const int64_t *kidx, double *m, double *l, double *O) {
  cublasHandle_t h = nullptr;
  cudaStream_t st = nullptr;
  SUBQ_CALL(handle(&h, &st));
  if (nq == 0 || nk == 0) return SUBQ_OK;
  static_assert(sizeof(long long) == sizeof(int64_t), "int64_t is long long");
  const int soft = fn == 1;
  const size_t qt = nq < kQB ? nq : kQB, kt = nk < kKB ? nk : kKB;
  dbuf<double> dQ, dK, dV, dS, dm, dl, dO;
  dbuf<long long> dkp;
  SUBQ_CALL(dQ.alloc(nq * d));
  SUBQ_CALL(dK.alloc(nk * d));
  SUBQ_CALL(dV.alloc(nk * dv));
  SUBQ_CALL(dS.alloc(qt * kt));
  SUBQ_CALL(dm.alloc(nq));
  SUBQ_CALL(dl.alloc(nq));
  SUBQ_CALL(dO.alloc(nq * dv));
  if (kidx) SUBQ_CALL(dkp.alloc(nk));
  CU_CALL(cudaMemcpyAsync(dQ.p, Q, nq * d * sizeof(double), cudaMemcpyHostToDevice, st));
  CU_CALL(cudaMemcpyAsync(dK.p, K, nk * d * sizeof(double), cudaMemcpyHostToDevice, st));
  CU_CALL(cudaMemcpyAsync(dV.p, V, nk * dv * sizeof(double), cudaMemcpyHostToDevice, st));
  CU_CALL(cudaMemcpyAsync(dm.p, m, nq * sizeof(double), cudaMemcpyHostToDevice, st));
  CU_CALL(cudaMemcpyAsync(dl.p, l, nq * sizeof(double), cudaMemcpyHostToDevice, st));
  CU_CALL(cudaMemcpyAsync(dO.p, O, nq * dv * sizeof(double), cudaMemcpyHostToDevice, st));
  if (kidx)
    CU_CALL(cudaMemcpyAsync(dkp.p, kidx, nk * sizeof(long long), cudaMemcpyHostToDevice, st));
  for (size_t i0 = 0; i0 < nq; i0 += kQB) {
    const size_t bq = nq - i0 < kQB ? nq - i0 : kQB;
    for (size_t j0 = 0; j0 < nk; j0 += kKB) {
      const size_t bk = nk - j0 < kKB ? nk - j0 : kKB;
      CUBLAS_CALL(rgemm(h, false, true, bq, bk, d, 1.0, dQ.p + i0 * d, d, dK.p + j0 * d, d, 0.0,
                        dS.p, bk));
      levatt_rows<<<grid_for(bq, 8), 256, 0, st>>>(bq, bk, dS.p, soft, p, scale, causal,
                                                   (long long)(q0 + i0), kidx ? dkp.p : nullptr,
                                                   j0, dm.p + i0, dl.p + i0, dO.p + i0 * dv, dv);
      CU_LAUNCHED();
      CUBLAS_CALL(rgemm(h, false, false, bq, dv, bk, 1.0, dS.p, bk, dV.p + j0 * dv, dv, 1.0,
                        dO.p + i0 * dv, dv));
    }
  }
  CU_CALL(cudaMemcpyAsync(m, dm.p, nq * sizeof(double), cudaMemcpyDeviceToHost, st));
  CU_CALL(cudaMemcpyAsync(l, dl.p, nq * sizeof(double), cudaMemcpyDeviceToHost, st));
  CU_CALL(cudaMemcpyAsync(O, dO.p, nq * dv * sizeof(double), cudaMemcpyDeviceToHost, st));
  CU_CALL(cudaStreamSynchronize(st));
  return SUBQ_OK;
}
