// PolarQuant on the device (Han, Kacham, Karbasi, Mirrokni, Zandieh 2025, arXiv 2502.02617;
// include/subq/quant.h): quantize (preconditioning, recursive polar transform, codebook
// search, bit packing), scores of queries straight from the codes, and the weighted sum of
// values used by decode attention.  The arithmetic is the CPU's (src/quant/polarquant.c,
// precond.c): the Hadamard butterflies in the same order (bit-identical rotated rows), the
// transform in float64 with atan2/hypot (CUDA's differ from glibc's by an ulp or two, so a
// code sitting on a cell boundary may flip), fp16 radii rounded to nearest even, codes
// packed LSB first at the same bit positions (atomicOr on 32-bit words, little endian).
#include <cuda_fp16.h>
#include <math.h>
#include <new>
#include <string.h>

#include "cuda/common.cuh"
#include "cuda/quant_dev.h"

using namespace subq_cu;

namespace {

enum { MAXL = SUBQ_QD_MAXL, SMEM_MAX = 48 * 1024 };
enum { P_HADAMARD = 0, P_DENSE = 1, P_NONE = 2 }; // SUBQ_PRECOND_*
typedef subq_qd_layout_t layout;

// Y = (1/sqrt d) H diag(sg) X row by row (precond.c): one thread block per row, the
// butterflies of the unnormalised Walsh-Hadamard transform in shared memory (d floats).
__global__ void hadamard_rows(const float *__restrict__ X, float *__restrict__ Y, size_t n,
                              int d, const float *__restrict__ sg, float s) {
  extern __shared__ float x[];
  for (size_t i = blockIdx.x; i < n; i += gridDim.x) {
    const float *xi = X + i * (size_t)d;
    for (int j = threadIdx.x; j < d; j += blockDim.x) x[j] = xi[j] * sg[j];
    __syncthreads();
    for (int h = 1; h < d; h *= 2) {
      for (int t = threadIdx.x; t < d / 2; t += blockDim.x) subq_qd_butterfly(x, h, t);
      __syncthreads();
    }
    for (int j = threadIdx.x; j < d; j += blockDim.x) Y[i * (size_t)d + j] = x[j] * s;
    __syncthreads();
  }
}

// One thread per (row, block) of the m rows Y (preconditioned): block t0 + t of the tensor
// writes its codes at bit (t0 + t) bpb (subq_qd_encode_block) and its fp16 radius (round
// to nearest even) at rad[t0 + t].  DM: the largest block size the scratch holds (16 for
// L <= 4, else 256).
template <int DM>
__global__ void polar_encode(layout y, const float *__restrict__ Y, size_t m, size_t t0,
                             const double *__restrict__ cb, unsigned *__restrict__ words,
                             unsigned short *__restrict__ rad) {
  const size_t total = m * (size_t)y.nb;
  for (size_t t = blockIdx.x * (size_t)blockDim.x + threadIdx.x; t < total;
       t += (size_t)gridDim.x * blockDim.x) {
    const float *xb = Y + (t / y.nb) * (size_t)y.d + (size_t)(t % y.nb) * y.D;
    double r[DM / 2];
    const double r0 = subq_qd_encode_block(&y, xb, (t0 + t) * (size_t)y.bpb, cb, words, r);
    rad[t0 + t] = __half_as_ushort(__float2half_rn((float)r0));
  }
}

// Scores of query qbase + blockIdx.y against rows [0, rows), into row blockIdx.y of S: the
// query's level-1 table T[j][c] = q_{2j} cos t_c + q_{2j+1} sin t_c (d/2 x k1) and the
// cos/sin of levels 2..L in shared memory (smem bytes checked at create), then per key
// block subq_qd_score_block times the fp16 radius (scores_ of polarquant.c).  One thread
// per key row.
template <int DM>
__global__ void polar_scores(layout y, const unsigned char *__restrict__ code,
                             const unsigned short *__restrict__ rad, size_t rows,
                             const float *__restrict__ Qr, size_t qbase,
                             float *__restrict__ S, size_t lds, const float *__restrict__ cs,
                             const float *__restrict__ sn) {
  extern __shared__ float sh[];
  const int k1 = y.cbk[0], hd = y.d / 2, nup = y.ncb - k1;
  float *T = sh, *C = sh + (size_t)hd * k1, *Sn = C + nup;
  const float *q = Qr + (qbase + blockIdx.y) * (size_t)y.d;
  for (int t = threadIdx.x; t < hd * k1; t += blockDim.x) {
    const int j = t / k1, c = t % k1;
    T[t] = q[2 * j] * cs[c] + q[2 * j + 1] * sn[c];
  }
  for (int t = threadIdx.x; t < nup; t += blockDim.x) {
    C[t] = cs[k1 + t];
    Sn[t] = sn[k1 + t];
  }
  __syncthreads();
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < rows;
       i += (size_t)gridDim.x * blockDim.x) {
    float acc = 0, s[DM / 2];
    for (int b = 0; b < y.nb; b++) {
      const size_t g = i * (size_t)y.nb + b; // block index in the tensor
      const float s0 = subq_qd_score_block(&y, T + (size_t)b * (y.D / 2) * k1, C, Sn, code,
                                           g * (size_t)y.bpb, s);
      acc += __half2float(__ushort_as_half(rad[g])) * s0;
    }
    S[blockIdx.y * lds + i] = acc;
  }
}

// Decode rows [i0, i0 + m) into X (m x d, preconditioned coordinates), one thread per
// (row, block): subq_qd_decode_block (top-down from the fp16 radius).
template <int DM>
__global__ void polar_decode(layout y, const unsigned char *__restrict__ code,
                             const unsigned short *__restrict__ rad, size_t i0, size_t m,
                             const float *__restrict__ cs, const float *__restrict__ sn,
                             float *__restrict__ X) {
  const size_t total = m * (size_t)y.nb;
  for (size_t t = blockIdx.x * (size_t)blockDim.x + threadIdx.x; t < total;
       t += (size_t)gridDim.x * blockDim.x) {
    const size_t g = i0 * (size_t)y.nb + t; // block index in the tensor
    unsigned c[DM];
    float r[DM / 2], nr[DM / 2];
    float *x = X + (t / y.nb) * (size_t)y.d + (size_t)(t % y.nb) * y.D;
    subq_qd_decode_block(&y, code, g * (size_t)y.bpb, __half2float(__ushort_as_half(rad[g])),
                         cs, sn, x, c, r, nr);
  }
}

// One thread block (kSoftThreads threads) per query row of S (rows values): the softmax
// weights of attention.c's softmax_, s_j <- expf(scale s_j - mx) with mx = max_j scale s_j
// (float), m[row] = mx and l[row] = sum_j s_j (summed in float64).
const int kSoftThreads = 256;
__global__ void softmax_rows(float *__restrict__ S, size_t rows, float scale,
                             double *__restrict__ m, double *__restrict__ l) {
  __shared__ float smax[kSoftThreads / 32];
  __shared__ double ssum[kSoftThreads / 32];
  float *s = S + blockIdx.x * rows;
  const unsigned lane = threadIdx.x % 32, w = threadIdx.x / 32;
  float mx = -INFINITY;
  for (size_t j = threadIdx.x; j < rows; j += blockDim.x) mx = fmaxf(mx, scale * s[j]);
  mx = warp_max(mx);
  if (lane == 0) smax[w] = mx;
  __syncthreads();
  mx = smax[0];
  for (int k = 1; k < kSoftThreads / 32; k++) mx = fmaxf(mx, smax[k]);
  double sum = 0;
  for (size_t j = threadIdx.x; j < rows; j += blockDim.x) {
    const float e = expf(scale * s[j] - mx);
    s[j] = e;
    sum += e;
  }
  sum = warp_sum(sum);
  if (lane == 0) ssum[w] = sum;
  __syncthreads();
  if (threadIdx.x == 0) {
    double t = 0;
    for (int k = 0; k < kSoftThreads / 32; k++) t += ssum[k];
    m[blockIdx.x] = mx;
    l[blockIdx.x] = t;
  }
}

// Rows per chunk so that the widest per-chunk array holds about 2^24 floats (64 MiB).
size_t chunk_rows(size_t rows, size_t width) {
  size_t c = ((size_t)1 << 24) / (width ? width : 1);
  if (c < 1) c = 1;
  return c < rows ? c : rows;
}

} // namespace

struct subq_cuda_polar {
  layout y{};
  int precond = P_NONE;
  float hscale = 1;
  size_t smem = 0; // bytes of polar_scores' shared memory
  dbuf<float> signs, rot, cs, sn;
  dbuf<double> cb;
};

struct subq_cuda_qcodes {
  dbuf<unsigned> words; // the code bit stream (+ 2 words of zero padding)
  dbuf<unsigned short> rad;
};

namespace {

// The device copy of a tensor's codes: dc itself, or a temporary upload of code/radii.
int codes_on_device(const subq_cuda_polar *p, const subq_cuda_qcodes *dc,
                    const unsigned char *code, const unsigned short *radii, size_t rows,
                    subq_cuda_qcodes &tmp, const unsigned char **dcode,
                    const unsigned short **drad, cudaStream_t st) {
  if (dc) {
    *dcode = reinterpret_cast<const unsigned char *>(dc->words.p);
    *drad = dc->rad.p;
    return 0;
  }
  const size_t nblk = rows * (size_t)p->y.nb, nbits = nblk * (size_t)p->y.bpb;
  const size_t nwords = (nbits + 31) / 32 + 2;
  SUBQ_CALL(tmp.words.alloc(nwords));
  SUBQ_CALL(tmp.rad.alloc(nblk));
  CU_CALL(cudaMemsetAsync(tmp.words.p, 0, nwords * sizeof(unsigned), st));
  CU_CALL(cudaMemcpyAsync(tmp.words.p, code, (nbits + 7) / 8, cudaMemcpyHostToDevice, st));
  CU_CALL(cudaMemcpyAsync(tmp.rad.p, radii, nblk * sizeof(unsigned short),
                          cudaMemcpyHostToDevice, st));
  *dcode = reinterpret_cast<const unsigned char *>(tmp.words.p);
  *drad = tmp.rad.p;
  return 0;
}

template <typename T> int upload(dbuf<T> &b, const T *h, size_t n, cudaStream_t st) {
  SUBQ_CALL(b.alloc(n));
  CU_CALL(cudaMemcpyAsync(b.p, h, n * sizeof(T), cudaMemcpyHostToDevice, st));
  return 0;
}

// Queries per group of the score kernels: G x rows floats of scores fit in about 2^26
// floats, G <= 65535 (grid.y) and G <= nq.
size_t query_group(size_t rows, size_t nq) {
  size_t G = ((size_t)1 << 26) / rows;
  G = G < 1 ? 1 : G > 65535 ? 65535 : G;
  return G > nq ? nq : G;
}

// Scores of the g queries q0.. of dQ against rows [0, rows) into dS (g x rows).
int launch_scores(const subq_cuda_polar *p, const unsigned char *code,
                  const unsigned short *rad, size_t rows, const float *dQ, size_t q0,
                  size_t g, float *dS, cudaStream_t st) {
  unsigned gx = grid_for(rows, 256);
  if (gx > 4096) gx = 4096; // grid-stride over the rows
  const dim3 grid(gx, (unsigned)g);
  if (p->y.D <= 16)
    polar_scores<16><<<grid, 256, p->smem, st>>>(p->y, code, rad, rows, dQ, q0, dS, rows,
                                                 p->cs.p, p->sn.p);
  else
    polar_scores<256><<<grid, 256, p->smem, st>>>(p->y, code, rad, rows, dQ, q0, dS, rows,
                                                  p->cs.p, p->sn.p);
  CU_LAUNCHED();
  return 0;
}

} // namespace

extern "C" int subq_cuda_polar_create(const subq_cuda_polar_desc_t *desc, subq_cuda_polar_t **out) {
  cublasHandle_t h = nullptr;
  cudaStream_t st = nullptr;
  *out = nullptr;
  SUBQ_CALL(handle(&h, &st));
  const int L = desc->levels, D = 1 << L, d = desc->dim;
  SUBQ_CHECK(L >= 1 && L <= MAXL && d % D == 0, SUBQ_ERR_INTERNAL,
             "device polarquant: levels %d, dim %d", L, d);
  const layout y = subq_qd_layout(d, L, desc->bits);
  for (int l = 0; l < L; l++)
    SUBQ_CHECK(desc->cbk[l] == y.cbk[l], SUBQ_ERR_INTERNAL,
               "device polarquant: level %d has %d centroids for %d bits", l + 1, desc->cbk[l],
               y.bits[l]);
  const size_t smem = ((size_t)(d / 2) * (size_t)y.cbk[0] + 2 * (size_t)(y.ncb - y.cbk[0])) *
                      sizeof(float);
  SUBQ_CHECK(smem <= SMEM_MAX, SUBQ_ERR_UNSUPPORTED,
             "polarquant on cuda: the per-query score tables need %zu bytes of shared memory "
             "((dim/2) x 2^bits[0] = %d x %d floats plus the level 2..%d cos/sin), more than "
             "%d; use fewer level-1 bits or --device=cpu",
             smem, d / 2, y.cbk[0], L, (int)SMEM_MAX);
  subq_cuda_polar *p = new (std::nothrow) subq_cuda_polar;
  SUBQ_CHECK(p, SUBQ_ERR_MEM, "out of memory (device polarquant)");
  p->y = y;
  p->smem = smem;
  p->precond = desc->precond;
  p->hscale = 1.0f / sqrtf((float)d); // the CPU's float scale (precond.c)
  int err = 0;
  double *cb = nullptr;
  float *cs = nullptr, *sn = nullptr;
  err = subq_malloc((size_t)y.ncb, sizeof(double), &cb);
  if (!err) err = subq_malloc((size_t)y.ncb, sizeof(float), &cs);
  if (!err) err = subq_malloc((size_t)y.ncb, sizeof(float), &sn);
  for (int l = 0; !err && l < L; l++) {
    memcpy(cb + y.cboff[l], desc->cb[l], (size_t)y.cbk[l] * sizeof(double));
    memcpy(cs + y.cboff[l], desc->cbcos[l], (size_t)y.cbk[l] * sizeof(float));
    memcpy(sn + y.cboff[l], desc->cbsin[l], (size_t)y.cbk[l] * sizeof(float));
  }
  if (!err) err = upload(p->cb, cb, (size_t)y.ncb, st);
  if (!err) err = upload(p->cs, cs, (size_t)y.ncb, st);
  if (!err) err = upload(p->sn, sn, (size_t)y.ncb, st);
  if (!err && desc->precond == P_HADAMARD) err = upload(p->signs, desc->signs, (size_t)d, st);
  if (!err && desc->precond == P_DENSE) err = upload(p->rot, desc->rot, (size_t)d * d, st);
  if (!err) {
    cudaError_t e = cudaStreamSynchronize(st); // the host staging arrays are freed below
    if (e != cudaSuccess) err = cuda_fail(e, "cudaStreamSynchronize", __FILE__, __LINE__, __func__);
  }
  subq_free(&cb);
  subq_free(&cs);
  subq_free(&sn);
  if (err) {
    delete p;
    return subq_error_trace(err, __FILE__, __LINE__, __func__);
  }
  *out = p;
  return SUBQ_OK;
}

extern "C" void subq_cuda_polar_destroy(subq_cuda_polar_t **p) {
  if (!p || !*p) return;
  delete *p;
  *p = nullptr;
}

extern "C" void subq_cuda_qcodes_destroy(subq_cuda_qcodes_t **dc) {
  if (!dc || !*dc) return;
  delete *dc;
  *dc = nullptr;
}

extern "C" int subq_cuda_polar_encode(subq_cuda_polar_t *p, size_t n, const float *X,
                                      unsigned char *code, unsigned short *radii,
                                      subq_cuda_qcodes_t **dcp) {
  cublasHandle_t h = nullptr;
  cudaStream_t st = nullptr;
  if (dcp) *dcp = nullptr;
  SUBQ_CALL(handle(&h, &st));
  const layout &y = p->y;
  const size_t d = (size_t)y.d, nblk = n * (size_t)y.nb, nbits = nblk * (size_t)y.bpb;
  const size_t nwords = (nbits + 31) / 32 + 2;
  subq_cuda_qcodes *dc = new (std::nothrow) subq_cuda_qcodes;
  SUBQ_CHECK(dc, SUBQ_ERR_MEM, "out of memory (device codes)");
  int err = 0;
  dbuf<float> Xd, Yd;
  const size_t c = chunk_rows(n, d);
  err = dc->words.alloc(nwords);
  if (!err) err = dc->rad.alloc(nblk);
  if (!err) err = Xd.alloc(c * d);
  if (!err && p->precond != P_NONE) err = Yd.alloc(c * d);
  cudaError_t ce = cudaSuccess;
  cublasStatus_t cs = CUBLAS_STATUS_SUCCESS;
  const char *what = "";
  if (!err) {
    ce = cudaMemsetAsync(dc->words.p, 0, nwords * sizeof(unsigned), st);
    what = "cudaMemsetAsync(codes)";
  }
  for (size_t i0 = 0; !err && ce == cudaSuccess && cs == CUBLAS_STATUS_SUCCESS && i0 < n; i0 += c) {
    const size_t m = n - i0 < c ? n - i0 : c;
    ce = cudaMemcpyAsync(Xd.p, X + i0 * d, m * d * sizeof(float), cudaMemcpyHostToDevice, st);
    what = "cudaMemcpyAsync(rows)";
    const float *Y = Xd.p;
    if (ce == cudaSuccess && p->precond == P_HADAMARD) {
      const unsigned th = d >= 256 ? 256 : d >= 64 ? (unsigned)d / 2 : 32;
      const unsigned g = m < 65535 ? (unsigned)m : 65535u;
      hadamard_rows<<<g, th, d * sizeof(float), st>>>(Xd.p, Yd.p, m, (int)d, p->signs.p, p->hscale);
      ce = cudaGetLastError();
      what = "hadamard_rows launch";
      Y = Yd.p;
    } else if (ce == cudaSuccess && p->precond == P_DENSE) {
      // rows y = rot x  <=>  Y = X rot^T (precond.c)
      cs = rgemm(h, false, true, m, d, d, 1.0f, Xd.p, d, p->rot.p, d, 0.0f, Yd.p, d);
      what = "cublasSgemm(rotation)";
      Y = Yd.p;
    }
    if (ce == cudaSuccess && cs == CUBLAS_STATUS_SUCCESS) {
      const unsigned g = grid_for(m * (size_t)y.nb, 256);
      if (y.D <= 16)
        polar_encode<16><<<g, 256, 0, st>>>(y, Y, m, i0 * (size_t)y.nb, p->cb.p, dc->words.p, dc->rad.p);
      else
        polar_encode<256><<<g, 256, 0, st>>>(y, Y, m, i0 * (size_t)y.nb, p->cb.p, dc->words.p, dc->rad.p);
      ce = cudaGetLastError();
      what = "polar_encode launch";
    }
    // Xd/Yd are reused by the next chunk: the stream orders it after this chunk's kernels.
  }
  if (!err && ce == cudaSuccess && cs == CUBLAS_STATUS_SUCCESS && nbits) {
    ce = cudaMemcpyAsync(code, dc->words.p, (nbits + 7) / 8, cudaMemcpyDeviceToHost, st);
    what = "cudaMemcpyAsync(codes to host)";
  }
  if (!err && ce == cudaSuccess && cs == CUBLAS_STATUS_SUCCESS && nblk) {
    ce = cudaMemcpyAsync(radii, dc->rad.p, nblk * sizeof(unsigned short), cudaMemcpyDeviceToHost, st);
    what = "cudaMemcpyAsync(radii to host)";
  }
  if (!err && ce == cudaSuccess && cs == CUBLAS_STATUS_SUCCESS) {
    ce = cudaStreamSynchronize(st);
    what = "cudaStreamSynchronize(encode)";
  }
  if (!err && ce != cudaSuccess) err = cuda_fail(ce, what, __FILE__, __LINE__, __func__);
  if (!err && cs != CUBLAS_STATUS_SUCCESS) err = cublas_fail(cs, what, __FILE__, __LINE__, __func__);
  if (err || !dcp) delete dc;
  else *dcp = dc;
  return err ? subq_error_trace(err, __FILE__, __LINE__, __func__) : SUBQ_OK;
}

extern "C" int subq_cuda_polar_scores(subq_cuda_polar_t *p, const subq_cuda_qcodes_t *dc,
                                      const unsigned char *code, const unsigned short *radii,
                                      size_t rows, size_t nqry, const float *Qr, float *S,
                                      size_t lds) {
  cublasHandle_t h = nullptr;
  cudaStream_t st = nullptr;
  SUBQ_CALL(handle(&h, &st));
  if (rows == 0 || nqry == 0) return SUBQ_OK;
  const layout &y = p->y;
  subq_cuda_qcodes tmp;
  const unsigned char *dcode = nullptr;
  const unsigned short *drad = nullptr;
  SUBQ_CALL(codes_on_device(p, dc, code, radii, rows, tmp, &dcode, &drad, st));
  const size_t G = query_group(rows, nqry);
  dbuf<float> dQ, dS;
  SUBQ_CALL(dQ.alloc(nqry * (size_t)y.d));
  SUBQ_CALL(dS.alloc(G * rows));
  CU_CALL(cudaMemcpyAsync(dQ.p, Qr, nqry * (size_t)y.d * sizeof(float), cudaMemcpyHostToDevice, st));
  for (size_t q0 = 0; q0 < nqry; q0 += G) {
    const size_t g = nqry - q0 < G ? nqry - q0 : G;
    SUBQ_CALL(launch_scores(p, dcode, drad, rows, dQ.p, q0, g, dS.p, st));
    CU_CALL(cudaMemcpy2DAsync(S + q0 * lds, lds * sizeof(float), dS.p, rows * sizeof(float),
                              rows * sizeof(float), g, cudaMemcpyDeviceToHost, st));
    CU_CALL(cudaStreamSynchronize(st)); // dS is reused by the next group
  }
  return SUBQ_OK;
}

extern "C" int subq_cuda_polar_wsum(subq_cuda_polar_t *p, const subq_cuda_qcodes_t *dc,
                                    const unsigned char *code, const unsigned short *radii,
                                    size_t rows, size_t nqry, const float *P, size_t ldp,
                                    float *O) {
  cublasHandle_t h = nullptr;
  cudaStream_t st = nullptr;
  SUBQ_CALL(handle(&h, &st));
  const layout &y = p->y;
  const size_t d = (size_t)y.d;
  if (nqry == 0) return SUBQ_OK;
  if (rows == 0) {
    memset(O, 0, nqry * d * sizeof(float));
    return SUBQ_OK;
  }
  subq_cuda_qcodes tmp;
  const unsigned char *dcode = nullptr;
  const unsigned short *drad = nullptr;
  SUBQ_CALL(codes_on_device(p, dc, code, radii, rows, tmp, &dcode, &drad, st));
  const size_t c = chunk_rows(rows, d > nqry ? d : nqry);
  dbuf<float> dX, dP, dO;
  SUBQ_CALL(dX.alloc(c * d));
  SUBQ_CALL(dP.alloc(nqry * c));
  SUBQ_CALL(dO.alloc(nqry * d));
  for (size_t i0 = 0; i0 < rows; i0 += c) {
    const size_t m = rows - i0 < c ? rows - i0 : c;
    // P[:, i0:i0+m] (nqry x m, host pitch ldp) -> dP (pitch m).
    CU_CALL(cudaMemcpy2DAsync(dP.p, m * sizeof(float), P + i0, ldp * sizeof(float),
                              m * sizeof(float), nqry, cudaMemcpyHostToDevice, st));
    const unsigned g = grid_for(m * (size_t)y.nb, 256);
    if (y.D <= 16)
      polar_decode<16><<<g, 256, 0, st>>>(y, dcode, drad, i0, m, p->cs.p, p->sn.p, dX.p);
    else
      polar_decode<256><<<g, 256, 0, st>>>(y, dcode, drad, i0, m, p->cs.p, p->sn.p, dX.p);
    CU_LAUNCHED();
    // O (nqry x d) (+)= P_chunk (nqry x m) Xhat_chunk (m x d)
    CUBLAS_CALL(rgemm(h, false, false, nqry, d, m, 1.0f, dP.p, m, dX.p, d, i0 ? 1.0f : 0.0f,
                      dO.p, d));
    // dP is pageable-sourced and dX reused: the stream orders the next chunk after this one.
  }
  CU_CALL(cudaMemcpyAsync(O, dO.p, nqry * d * sizeof(float), cudaMemcpyDeviceToHost, st));
  CU_CALL(cudaStreamSynchronize(st));
  return SUBQ_OK;
}

extern "C" int subq_cuda_polar_attention(subq_cuda_polar_t *pk, const subq_cuda_qcodes_t *dk,
                                         const unsigned char *kcode, const unsigned short *krad,
                                         subq_cuda_polar_t *pv, const subq_cuda_qcodes_t *dv,
                                         const unsigned char *vcode, const unsigned short *vrad,
                                         size_t rows, size_t nq, const float *Qr, float scale,
                                         double *m, double *l, float *O) {
  cublasHandle_t h = nullptr;
  cudaStream_t st = nullptr;
  SUBQ_CALL(handle(&h, &st));
  if (rows == 0 || nq == 0) return SUBQ_OK;
  const layout &yk = pk->y, &yv = pv->y;
  const size_t d = (size_t)yk.d;
  SUBQ_CHECK(yv.d == yk.d, SUBQ_ERR_INTERNAL, "key dim %d != value dim %d", yk.d, yv.d);
  subq_cuda_qcodes tk, tv;
  const unsigned char *kc = nullptr, *vc = nullptr;
  const unsigned short *kr = nullptr, *vr = nullptr;
  SUBQ_CALL(codes_on_device(pk, dk, kcode, krad, rows, tk, &kc, &kr, st));
  SUBQ_CALL(codes_on_device(pv, dv, vcode, vrad, rows, tv, &vc, &vr, st));
  const size_t G = query_group(rows, nq), c = chunk_rows(rows, d);
  dbuf<float> dQ, dS, dX, dO;
  dbuf<double> dm, dl;
  SUBQ_CALL(dQ.alloc(nq * d));
  SUBQ_CALL(dS.alloc(G * rows));
  SUBQ_CALL(dX.alloc(c * d));
  SUBQ_CALL(dO.alloc(G * d));
  SUBQ_CALL(dm.alloc(G));
  SUBQ_CALL(dl.alloc(G));
  CU_CALL(cudaMemcpyAsync(dQ.p, Qr, nq * d * sizeof(float), cudaMemcpyHostToDevice, st));
  for (size_t q0 = 0; q0 < nq; q0 += G) {
    const size_t g = nq - q0 < G ? nq - q0 : G;
    SUBQ_CALL(launch_scores(pk, kc, kr, rows, dQ.p, q0, g, dS.p, st));
    softmax_rows<<<(unsigned)g, kSoftThreads, 0, st>>>(dS.p, rows, scale, dm.p, dl.p);
    CU_LAUNCHED();
    // O_g (g x d) = P_g (g x rows, pitch rows) Vhat (rows x d), V decoded in chunks.
    for (size_t i0 = 0; i0 < rows; i0 += c) {
      const size_t mr = rows - i0 < c ? rows - i0 : c;
      const unsigned gd = grid_for(mr * (size_t)yv.nb, 256);
      if (yv.D <= 16)
        polar_decode<16><<<gd, 256, 0, st>>>(yv, vc, vr, i0, mr, pv->cs.p, pv->sn.p, dX.p);
      else
        polar_decode<256><<<gd, 256, 0, st>>>(yv, vc, vr, i0, mr, pv->cs.p, pv->sn.p, dX.p);
      CU_LAUNCHED();
      CUBLAS_CALL(rgemm(h, false, false, g, d, mr, 1.0f, dS.p + i0, rows, dX.p, d,
                        i0 ? 1.0f : 0.0f, dO.p, d));
    }
    CU_CALL(cudaMemcpyAsync(m + q0, dm.p, g * sizeof(double), cudaMemcpyDeviceToHost, st));
    CU_CALL(cudaMemcpyAsync(l + q0, dl.p, g * sizeof(double), cudaMemcpyDeviceToHost, st));
    CU_CALL(cudaMemcpyAsync(O + q0 * d, dO.p, g * d * sizeof(float), cudaMemcpyDeviceToHost, st));
    CU_CALL(cudaStreamSynchronize(st)); // dS, dO, dm, dl are reused by the next group
  }
  return SUBQ_OK;
}
