// Exact KDE blocks on the device (include/subq/kde.h, the exact oracle of src/kde/kde_exact.c
// and the exact fallback of the sampling/HBE oracles): sum_j k(x_j, y_i) over this rank's
// points for a batch of queries, in tiles of kQB queries x kXB points.  Gaussian and
// exponential kernels take the squared distance from one cublasDgemm,
// ||y||^2 + ||x||^2 - 2 Y X^T (clamped at 0), as subq_kernel_block does; the Laplacian
// (L1) kernel has no product form and is a direct kernel.  A warp per query row applies the
// kernel and sums the tile's row; tiles are added in a fixed order, so the result does not
// depend on scheduling.  The points stay on the device for the oracle's lifetime.
#include <math.h>
#include <new>

#include "cuda/common.cuh"

using namespace subq_cu;

namespace {

const size_t kQB = 1024, kXB = 8192; // queries x points per tile (64 MiB of float64)
enum { K_GAUSS = 0, K_EXP = 1, K_LAP = 2 }; // subq_kernel_type_t

// out[i] = ||A_i||^2, one warp per row (subq_kde_norms2_).
__global__ void row_norms2(const double *__restrict__ A, size_t m, size_t d,
                           double *__restrict__ out) {
  const size_t row = blockIdx.x * (size_t)(blockDim.x / 32) + threadIdx.x / 32;
  const unsigned lane = threadIdx.x % 32;
  if (row >= m) return;
  double s = 0;
  for (size_t t = lane; t < d; t += 32) s += A[row * d + t] * A[row * d + t];
  s = warp_sum(s);
  if (lane == 0) out[row] = s;
}

// S[i][j] = ||y_i - x_j||_1 for a tile (qb x xb): a 16 x 16 thread block per 16 x 16
// entries, the coordinates staged through shared memory 32 at a time.
__global__ void l1_tile(const double *__restrict__ Y, size_t qb, const double *__restrict__ X,
                        size_t xb, size_t d, double *__restrict__ S) {
  __shared__ double ys[16][33], xs[16][33];
  const size_t i = blockIdx.y * (size_t)16 + threadIdx.y, j = blockIdx.x * (size_t)16 + threadIdx.x;
  double s = 0;
  for (size_t t0 = 0; t0 < d; t0 += 32) {
    for (unsigned c = threadIdx.x; c < 32; c += 16) {
      const size_t t = t0 + c;
      const size_t yi = blockIdx.y * (size_t)16 + threadIdx.y, xj = blockIdx.x * (size_t)16 + threadIdx.y;
      ys[threadIdx.y][c] = yi < qb && t < d ? Y[yi * d + t] : 0.0;
      xs[threadIdx.y][c] = xj < xb && t < d ? X[xj * d + t] : 0.0;
    }
    __syncthreads();
    for (int c = 0; c < 32; c++) s += fabs(ys[threadIdx.y][c] - xs[threadIdx.x][c]);
    __syncthreads();
  }
  if (i < qb && j < xb) S[i * xb + j] = s;
}

// One warp per query row of the tile: w_ij = k from S (Gaussian/exponential: S = -2 y.x,
// squared distance S + |y|^2 + |x|^2 clamped at 0; Laplacian: S = L1 distance), then
// part[i] += sum_j w_ij.
__global__ void kernel_rows(size_t qb, size_t xb, const double *__restrict__ S, int type,
                            double c, const double *__restrict__ yn2,
                            const double *__restrict__ xn2, const double *__restrict__ Y,
                            const double *__restrict__ X, size_t d,
                            double *__restrict__ part) {
  const size_t row = blockIdx.x * (size_t)(blockDim.x / 32) + threadIdx.x / 32;
  const unsigned lane = threadIdx.x % 32;
  if (row >= qb) return;
  const double *s = S + row * xb;
  double sum = 0;
  for (size_t j = lane; j < xb; j += 32) {
    double w;
    if (type == K_LAP) {
      w = exp(-s[j] * c);
    } else {
      double q = s[j] + yn2[row] + xn2[j];
      // cancellation near zero distance: recompute directly (as subq_kernel_block does)
      if (q <= 1e-12 * (yn2[row] + xn2[j])) {
        q = 0;
        for (size_t t = 0; t < d; t++) {
          const double z = Y[row * d + t] - X[j * d + t];
          q += z * z;
        }
      }
      w = type == K_GAUSS ? exp(-q * c) : exp(-sqrt(q) * c);
    }
    sum += w;
  }
  sum = warp_sum(sum);
  if (lane == 0) part[row] += sum;
}

} // namespace

struct subq_cuda_kde {
  int type = K_GAUSS;
  double c = 1; // 1/(2h^2) (Gaussian) or 1/h
  size_t nloc = 0, d = 0;
  dbuf<double> X, xn2, Y, yn2, S, part;
};

extern "C" int subq_cuda_kde_create(int type, double h, size_t nloc, size_t d, const double *X,
                                    subq_cuda_kde_t **out) {
  cublasHandle_t hd = nullptr;
  cudaStream_t st = nullptr;
  *out = nullptr;
  SUBQ_CALL(handle(&hd, &st));
  SUBQ_CHECK(type >= K_GAUSS && type <= K_LAP && h > 0, SUBQ_ERR_INTERNAL,
             "device KDE: kernel type %d, bandwidth %g", type, h);
  subq_cuda_kde *k = new (std::nothrow) subq_cuda_kde;
  SUBQ_CHECK(k, SUBQ_ERR_MEM, "out of memory (device KDE)");
  k->type = type;
  k->c = type == K_GAUSS ? 1.0 / (2 * h * h) : 1.0 / h;
  k->nloc = nloc;
  k->d = d;
  int err = k->X.alloc(nloc * d);
  if (!err) err = k->xn2.alloc(nloc);
  cudaError_t e = cudaSuccess;
  if (!err && nloc > 0 && d > 0)
    e = cudaMemcpyAsync(k->X.p, X, nloc * d * sizeof(double), cudaMemcpyHostToDevice, st);
  if (!err && e == cudaSuccess && nloc) {
    row_norms2<<<grid_for(nloc, 8), 256, 0, st>>>(k->X.p, nloc, d, k->xn2.p);
    e = cudaGetLastError();
  }
  if (!err && e == cudaSuccess) e = cudaStreamSynchronize(st);
  if (!err && e != cudaSuccess) err = cuda_fail(e, "device KDE setup (upload, norms)", __FILE__, __LINE__, __func__);
  if (err) {
    delete k;
    return subq_error_trace(err, __FILE__, __LINE__, __func__);
  }
  *out = k;
  return SUBQ_OK;
}

extern "C" void subq_cuda_kde_destroy(subq_cuda_kde_t **k) {
  if (!k || !*k) return;
  delete *k;
  *k = nullptr;
}

extern "C" int subq_cuda_kde_sums(subq_cuda_kde_t *k, size_t q, const double *Y, double *part) {
  cublasHandle_t h = nullptr;
  cudaStream_t st = nullptr;
  SUBQ_CALL(handle(&h, &st));
  const size_t d = k->d, nloc = k->nloc;
  if (q == 0 || nloc == 0) return SUBQ_OK;
  const size_t qt = q < kQB ? q : kQB, xt = nloc < kXB ? nloc : kXB;
  SUBQ_CALL(k->Y.alloc(qt * d));
  SUBQ_CALL(k->yn2.alloc(qt));
  SUBQ_CALL(k->S.alloc(qt * xt));
  SUBQ_CALL(k->part.alloc(qt));
  for (size_t a = 0; a < q; a += kQB) {
    const size_t qb = q - a < kQB ? q - a : kQB;
    CU_CALL(cudaMemcpyAsync(k->Y.p, Y + a * d, qb * d * sizeof(double), cudaMemcpyHostToDevice, st));
    CU_CALL(cudaMemcpyAsync(k->part.p, part + a, qb * sizeof(double), cudaMemcpyHostToDevice, st));
    if (k->type != K_LAP) {
      row_norms2<<<grid_for(qb, 8), 256, 0, st>>>(k->Y.p, qb, d, k->yn2.p);
      CU_LAUNCHED();
    }
    for (size_t r = 0; r < nloc; r += kXB) {
      const size_t xb = nloc - r < kXB ? nloc - r : kXB;
      if (k->type == K_LAP) {
        dim3 grid((unsigned)((xb + 15) / 16), (unsigned)((qb + 15) / 16)), block(16, 16);
        l1_tile<<<grid, block, 0, st>>>(k->Y.p, qb, k->X.p + r * d, xb, d, k->S.p);
        CU_LAUNCHED();
      } else {
        CUBLAS_CALL(rgemm(h, false, true, qb, xb, d, -2.0, k->Y.p, d, k->X.p + r * d, d, 0.0,
                          k->S.p, xb));
      }
      kernel_rows<<<grid_for(qb, 8), 256, 0, st>>>(qb, xb, k->S.p, k->type, k->c, k->yn2.p,
                                                   k->xn2.p + r, k->Y.p, k->X.p + r * d, d,
                                                   k->part.p);
      CU_LAUNCHED();
    }
    CU_CALL(cudaMemcpyAsync(part + a, k->part.p, qb * sizeof(double), cudaMemcpyDeviceToHost, st));
    CU_CALL(cudaStreamSynchronize(st)); // Y and part are reused by the next query tile
  }
  return SUBQ_OK;
}
