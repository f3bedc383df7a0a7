/* bench_polarquant: PolarQuant throughput on one rank (issue 4, "Benchmark").
 *
 *   quantize   subq_quant_encode of an n x d fp32 key matrix, GB/s of fp32 input;
 *   decode     single-query decode attention o = softmax(q K^T / sqrt d) V over n cached
 *              tokens, three ways, timed in the same run:
 *                fp32        exact: one pass over K (scores), softmax, one pass over V,
 *                            AVX2/FMA (OpenBLAS sgemv when the CPU lacks AVX2: this
 *                            build of OpenBLAS picks SSE3 kernels on an unknown CPU);
 *                fp16        K, V stored as IEEE half, the same loop with F16C loads
 *                            (scalar conversion when the CPU lacks F16C);
 *                polarquant  subq_quant_attention on the compressed cache (keys and values
 *                            3.875 bits/coordinate): scores from the codes, values
 *                            accumulated from the codes, one inverse rotation at the end;
 *              reported as time, ratio fp32/x, bytes read, the rate those bytes were read at
 *              and that rate as a fraction of the measured memory bandwidth;
 *   GQA        (--gqa=G, default 4, 0: off) one decode step of G query heads sharing the KV
 *              head (as in Llama-3: 32 query / 8 KV heads): fp32_gqa = OpenBLAS sgemm for
 *              the G x n scores and for P V (K and V read once), pq_gqa =
 *              subq_quant_attention with G queries (codes unpacked once for all G);
 *              ratio against fp32_gqa, and pq_gqa's time against one single-query call.
 *   bandwidth  measured in the same process on a buffer larger than the last-level cache:
 *              a read (sum) kernel and the STREAM triad a = b + s c (STREAM byte
 *              convention: 12 bytes per element, non-temporal stores).  Fractions are given
 *              of both; the read kernel has the decode kernels' access pattern (one
 *              sequential read stream), the triad (three streams) reads faster here.
 *
 * Every decode call is timed cold: the bandwidth buffer is read in full before each call,
 * which evicts the cache, so each method reads its bytes from memory as a decode step over
 * many layers and heads would.  Times are the best of `reps` calls.
 *
 * --device=cuda (docs/gpu.md): the PolarQuant quantizers run on the rank's GPU
 * (subq_quant_set_device): "quantize" is the device encode (upload, rotation, transform,
 * codes back to the host) and "polarquant" the decode attention with scores and value sums
 * from the device-resident codes (src/cuda/quant.cu); fp32 and fp16 stay the CPU loops of
 * this process, so "x fp32" is then CPU fp32 / GPU polarquant.  Use --clock=wall with it
 * (the thread CPU clock does not see the device).
 *
 * Usage: subq_bench_polarquant [--reps=R] [--flush-mib=M] [--csv=FILE] [--n=8192,32768,...]
 *        [--d=64,128] [--clock=cpu|wall] [--gqa=G] [--device=cpu|cuda|auto]
 *        (OMP_NUM_THREADS threads; results/ uses 1; set OPENBLAS_CORETYPE=SkylakeX where
 *        OpenBLAS does not name the CPU).
 * --clock=cpu (default) times with the thread's CPU clock, which on a shared machine leaves
 * out the time the scheduler gives to other processes (stalls on memory still count);
 * --clock=wall uses the wall clock (meaningful on an idle machine). */
#include <cblas.h>
#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "subq.h"
#include "subq/quant.h"


static volatile float sink_;

/* CPU time of this thread (s): on a shared, oversubscribed machine the wall clock also
 * counts time the scheduler gave to other processes. */
static double cpu_(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
static int wall_;
static double now_(void) { return wall_ ? subq_wtime() : cpu_(); }

/* ---- bandwidth ------------------------------------------------------------------- */

__attribute__((target("avx2"))) static float read_avx2_(const float *a, size_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm256_add_ps(s0, _mm256_load_ps(a + i));
    s1 = _mm256_add_ps(s1, _mm256_load_ps(a + i + 8));
    s2 = _mm256_add_ps(s2, _mm256_load_ps(a + i + 16));
    s3 = _mm256_add_ps(s3, _mm256_load_ps(a + i + 24));
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
  float t[8], r = 0;
  _mm256_storeu_ps(t, s);
  for (int k = 0; k < 8; k++) r += t[k];
  for (; i < n; i++) r += a[i];
  return r;
}

static float read_scalar_(const float *a, size_t n) {
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) s0 += a[i], s1 += a[i + 1], s2 += a[i + 2], s3 += a[i + 3];
  for (; i < n; i++) s0 += a[i];
  return s0 + s1 + s2 + s3;
}

static int avx2_;
static float read_(const float *a, size_t n) { return avx2_ ? read_avx2_(a, n) : read_scalar_(a, n); }

__attribute__((target("avx2,fma"))) static void triad_avx2_(float *a, const float *b,
                                                           const float *c, float s, size_t n) {
  __m256 vs = _mm256_set1_ps(s);
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_stream_ps(a + i, _mm256_fmadd_ps(vs, _mm256_load_ps(c + i), _mm256_load_ps(b + i)));
  for (; i < n; i++) a[i] = b[i] + s * c[i];
  _mm_sfence();
}

static void triad_(float *a, const float *b, const float *c, float s, size_t n) {
  if (avx2_) {
    triad_avx2_(a, b, c, s, n);
    return;
  }
  for (size_t i = 0; i < n; i++) a[i] = b[i] + s * c[i];
}

/* ---- fp16 decode attention --------------------------------------------------------- */

/* One fused pass over K (scores), softmax, one pass over V; LOAD8(p) loads 8 coordinates
 * as floats (fp32 or fp16 storage). */
#define ATTN_AVX2(NAME, T, LOAD8)                                                          \
  __attribute__((target("avx2,fma,f16c"))) static void NAME(                              \
      size_t n, int d, const T *K, const T *V, const float *q, float scale, float *S,      \
      float *o) {                                                                          \
    float mx = -INFINITY;                                                                  \
    for (size_t j = 0; j < n; j++) {                                                       \
      const T *k = K + j * (size_t)d;                                                      \
      __m256 a0 = _mm256_setzero_ps(), a1 = a0;                                            \
      for (int c = 0; c < d; c += 16) {                                                    \
        a0 = _mm256_fmadd_ps(LOAD8(k + c), _mm256_loadu_ps(q + c), a0);                    \
        a1 = _mm256_fmadd_ps(LOAD8(k + c + 8), _mm256_loadu_ps(q + c + 8), a1);            \
      }                                                                                    \
      a0 = _mm256_add_ps(a0, a1);                                                          \
      __m128 h = _mm_add_ps(_mm256_castps256_ps128(a0), _mm256_extractf128_ps(a0, 1));     \
      h = _mm_add_ps(h, _mm_movehl_ps(h, h));                                              \
      h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));                                          \
      float s = scale * _mm_cvtss_f32(h);                                                  \
      S[j] = s;                                                                            \
      mx = s > mx ? s : mx;                                                                \
    }                                                                                      \
    float l = EXP_SUM8(n, S, mx);                                                          \
    __m256 acc[16];                                                                        \
    for (int c = 0; c < d / 8; c++) acc[c] = _mm256_setzero_ps();                          \
    for (size_t j = 0; j < n; j++) {                                                       \
      const T *v = V + j * (size_t)d;                                                      \
      __m256 p = _mm256_set1_ps(S[j]);                                                     \
      for (int c = 0; c < d / 8; c++) acc[c] = _mm256_fmadd_ps(p, LOAD8(v + 8 * c), acc[c]); \
    }                                                                                      \
    for (int c = 0; c < d / 8; c++)                                                        \
      _mm256_storeu_ps(o + 8 * c, _mm256_mul_ps(acc[c], _mm256_set1_ps(1 / l)));           \
  }
static float exp_sum_(size_t n, float *S, float mx) {
  float l = 0;
  for (size_t j = 0; j < n; j++) l += (S[j] = expf(S[j] - mx));
  return l;
}
/* l = sum_j (S[j] <- exp(S[j] - mx)): 8 lanes with glibc libmvec's expf when linked (the
 * same exp as the library's softmax), else scalar expf. */
#ifdef SUBQ_HAVE_MVEC
extern __m256 _ZGVdN8v_expf(__m256);
__attribute__((target("avx2,fma"))) static float exp_sum8_(size_t n, float *S, float mx) {
  const __m256 vm = _mm256_set1_ps(mx);
  __m256 a = _mm256_setzero_ps();
  size_t j = 0;
  for (; j + 8 <= n; j += 8) {
    __m256 e = _ZGVdN8v_expf(_mm256_sub_ps(_mm256_loadu_ps(S + j), vm));
    _mm256_storeu_ps(S + j, e);
    a = _mm256_add_ps(a, e);
  }
  float t[8], l = 0;
  _mm256_storeu_ps(t, a);
  for (int k = 0; k < 8; k++) l += t[k];
  for (; j < n; j++) l += (S[j] = expf(S[j] - mx));
  return l;
}
#define EXP_SUM8(n, S, mx) exp_sum8_(n, S, mx)
#else
#define EXP_SUM8(n, S, mx) exp_sum_(n, S, mx)
#endif
#define LOAD_H(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))
#define LOAD_F(p) _mm256_loadu_ps(p)
ATTN_AVX2(fp16_attn_avx2_, uint16_t, LOAD_H)
ATTN_AVX2(fp32_attn_avx2_, float, LOAD_F)

static float h2f_(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ffu, x;
  float f;
  if (e == 0) return (sign ? -1.0f : 1.0f) * ldexpf((float)m, -24);
  x = e == 31 ? (sign | 0x7f800000u | (m << 13)) : (sign | ((e + 112) << 23) | (m << 13));
  memcpy(&f, &x, 4);
  return f;
}

static void fp16_attn_scalar_(size_t n, int d, const uint16_t *K, const uint16_t *V,
                              const float *q, float scale, float *S, float *o) {
  float mx = -INFINITY, l = 0;
  for (size_t j = 0; j < n; j++) {
    float s = 0;
    for (int c = 0; c < d; c++) s += h2f_(K[j * d + c]) * q[c];
    S[j] = scale * s;
    mx = S[j] > mx ? S[j] : mx;
  }
  for (size_t j = 0; j < n; j++) l += (S[j] = expf(S[j] - mx));
  for (int c = 0; c < d; c++) o[c] = 0;
  for (size_t j = 0; j < n; j++)
    for (int c = 0; c < d; c++) o[c] += S[j] * h2f_(V[j * d + c]);
  for (int c = 0; c < d; c++) o[c] /= l;
}

/* ---- fp32 decode attention (OpenBLAS sgemv) ----------------------------------------- */

static void fp32_attn_(size_t n, int d, const float *K, const float *V, const float *q,
                       float scale, float *S, float *o) {
  cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)n, d, scale, K, d, q, 1, 0.0f, S, 1);
  float mx = -INFINITY, l = 0;
  for (size_t j = 0; j < n; j++) mx = S[j] > mx ? S[j] : mx;
  for (size_t j = 0; j < n; j++) l += (S[j] = expf(S[j] - mx));
  cblas_sgemv(CblasRowMajor, CblasTrans, (int)n, d, 1.0f / l, V, d, S, 1, 0.0f, o, 1);
}

/* GQA decode step in fp32: nq query heads sharing one KV head (K, V read once): OpenBLAS
 * sgemm for S = scale Q K^T (nq x n) and O = P V, softmax per row in between. */
static void fp32_gqa_(size_t n, int d, int nq, const float *K, const float *V, const float *Q,
                      float scale, float *S, float *O) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, (int)n, d, scale, Q, d, K, d, 0.0f,
              S, (int)n);
  float l[16];
  for (int i = 0; i < nq; i++) {
    float *s = S + (size_t)i * n, mx = -INFINITY;
    for (size_t j = 0; j < n; j++) mx = s[j] > mx ? s[j] : mx;
    l[i] = avx2_ ? EXP_SUM8(n, s, mx) : exp_sum_(n, s, mx);
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, d, (int)n, 1.0f, S, (int)n, V, d,
              0.0f, O, d);
  for (int i = 0; i < nq; i++)
    for (int c = 0; c < d; c++) O[i * d + c] /= l[i];
}

/* ---- driver ----------------------------------------------------------------------- */

static long opt_list_(int argc, char **argv, const char *name, long *v, int max, int *cnt) {
  size_t ln = strlen(name);
  for (int i = 1; i < argc; i++)
    if (strncmp(argv[i], name, ln) == 0 && argv[i][ln] == '=') {
      char *p = argv[i] + ln + 1;
      *cnt = 0;
      while (*p && *cnt < max) {
        v[(*cnt)++] = strtol(p, &p, 10);
        if (*p == ',') p++;
      }
      return 1;
    }
  return 0;
}

static const char *opt_str_(int argc, char **argv, const char *name) {
  size_t ln = strlen(name);
  for (int i = 1; i < argc; i++)
    if (strncmp(argv[i], name, ln) == 0 && argv[i][ln] == '=') return argv[i] + ln + 1;
  return NULL;
}

static double rel_err_(int d, const float *a, const float *ref) {
  double e = 0, s = 0;
  for (int c = 0; c < d; c++) e += (double)(a[c] - ref[c]) * (a[c] - ref[c]), s += (double)ref[c] * ref[c];
  return sqrt(e / s);
}

int main(int argc, char **argv) {
  if (subq_init(&argc, &argv)) return 1;
  int rc = 1, nn = 3, nd = 2, cnt, gqa = 4;
  long ns[8] = {8192, 32768, 131072}, ds[8] = {64, 128}, v[8];
  long reps = 5, flush_mib = 512;
  if (opt_list_(argc, argv, "--n", ns, 8, &cnt)) nn = cnt;
  if (opt_list_(argc, argv, "--d", ds, 8, &cnt)) nd = cnt;
  if (opt_list_(argc, argv, "--reps", v, 1, &cnt)) reps = v[0];
  if (opt_list_(argc, argv, "--gqa", v, 1, &cnt)) gqa = (int)(v[0] < 0 ? 0 : v[0] > 16 ? 16 : v[0]);
  if (opt_list_(argc, argv, "--flush-mib", v, 1, &cnt)) flush_mib = v[0];
  const char *csvpath = opt_str_(argc, argv, "--csv"), *clk = opt_str_(argc, argv, "--clock");
  const char *devopt = opt_str_(argc, argv, "--device");
  wall_ = clk && strcmp(clk, "wall") == 0;
  subq_device_t device = SUBQ_DEVICE_CPU;
  int local = 0;
  if (devopt && (subq_device_local_rank(MPI_COMM_WORLD, &local) ||
                 subq_device_select(devopt, local, &device))) {
    fprintf(stderr, "bench_polarquant: %s\n", subq_error_message());
    subq_finalize();
    return 1;
  }
#if defined(__x86_64__)
  __builtin_cpu_init();
  avx2_ = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
          __builtin_cpu_supports("f16c");
#endif
  const size_t nf = (size_t)flush_mib << 18; /* floats */
  float *B = aligned_alloc(64, nf * sizeof(float));
  FILE *csv = NULL;
  if (!B) {
    fprintf(stderr, "bench_polarquant: cannot allocate %ld MiB\n", flush_mib);
    goto out;
  }
  for (size_t i = 0; i < nf; i++) B[i] = (float)(i & 1023) * 1e-3f;
  /* Bandwidth: read the whole buffer; triad over three thirds of it. */
  double bw_read = 0, bw_triad = 0;
  for (int r = 0; r < 5; r++) {
    double t0 = now_();
    sink_ += read_(B, nf);
    double t = now_() - t0;
    bw_read = fmax(bw_read, (double)nf * 4 / t);
    const size_t m = nf / 3 & ~(size_t)15;
    t0 = now_();
    triad_(B, B + m, B + 2 * m, 0.5f, m);
    t = now_() - t0;
    bw_triad = fmax(bw_triad, (double)m * 12 / t);
  }
  printf("polarquant bench: %s time, 1 rank x %d threads, %s kernels, polarquant on %s; "
         "bandwidth (%ld MiB buffer): read %.2f GB/s, triad %.2f GB/s\n",
         wall_ ? "wall" : "thread CPU", omp_get_max_threads(), avx2_ ? "AVX2/F16C" : "scalar",
         subq_device_name(device), flush_mib, bw_read * 1e-9, bw_triad * 1e-9);
  if (csvpath && !(csv = fopen(csvpath, "w"))) {
    fprintf(stderr, "bench_polarquant: cannot write %s\n", csvpath);
    goto out;
  }
  if (csv)
    fprintf(csv, "d,n,method,bits_per_coord,seconds,speedup_vs_fp32,bytes_read,read_GBps,"
                 "frac_read_bw,frac_triad_bw,out_rel_err_vs_fp32,read_bw_GBps,triad_bw_GBps,"
                 "polarquant_device\n");
  printf("%4s %7s %-10s %6s %10s %7s %9s %7s %7s %7s %9s\n", "d", "n", "method", "bits",
         "seconds", "x fp32", "MiB read", "GB/s", "% read", "% triad", "out err");
  for (int id = 0; id < nd; id++)
    for (int in = 0; in < nn; in++) {
      const int d = (int)ds[id];
      const size_t n = (size_t)ns[in], nd_ = n * (size_t)d;
      const float scale = 1.0f / sqrtf((float)d);
      float *K = NULL, *V = NULL, *S = NULL, *q = NULL, *o[3] = {NULL, NULL, NULL};
      float *Qg = NULL, *Sg = NULL, *og[2] = {NULL, NULL};
      uint16_t *K16 = NULL, *V16 = NULL;
      double *tmp = NULL;
      subq_quant_t *qk = NULL, *qv = NULL;
      subq_qtensor_t *Kt = NULL, *Vt = NULL;
      int err = subq_malloc(nd_, sizeof(float), &K) || subq_malloc(nd_, sizeof(float), &V) ||
                subq_malloc(n, sizeof(float), &S) || subq_malloc((size_t)d, sizeof(float), &q) ||
                subq_malloc(nd_, sizeof(uint16_t), &K16) ||
                subq_malloc(nd_, sizeof(uint16_t), &V16) ||
                subq_malloc((size_t)1 << 20, sizeof(double), &tmp);
      for (int m = 0; !err && m < 3; m++) err = subq_malloc((size_t)d, sizeof(float), &o[m]);
      if (!err && gqa)
        err = subq_malloc((size_t)gqa * (size_t)d, sizeof(float), &Qg) ||
              subq_malloc((size_t)gqa * n, sizeof(float), &Sg) ||
              subq_malloc((size_t)gqa * (size_t)d, sizeof(float), &og[0]) ||
              subq_malloc((size_t)gqa * (size_t)d, sizeof(float), &og[1]);
      for (int c = 0; !err && c < gqa * d; c++) Qg[c] = subq_rng_gaussf(7, 98, (uint64_t)c);
      /* Keys: Gaussian with a few heavy channels (like real keys); values Gaussian. */
      for (size_t i0 = 0; !err && i0 < 2 * nd_; i0 += (size_t)1 << 20) {
        size_t m = 2 * nd_ - i0 < ((size_t)1 << 20) ? 2 * nd_ - i0 : (size_t)1 << 20;
        subq_rng_fill_gauss(7, (uint64_t)d, i0, m, tmp);
        for (size_t i = 0; i < m; i++) {
          size_t g = i0 + i;
          float x = (float)tmp[i] * (g < nd_ && g % (size_t)d < 4 ? 4.0f : 1.0f);
          if (g < nd_) K[g] = x;
          else V[g - nd_] = x;
        }
      }
      for (int c = 0; c < d; c++) q[c] = subq_rng_gaussf(7, 99, (uint64_t)c);
      if (!err) {
        /* IEEE binary16, round to nearest even (gcc _Float16). */
        for (size_t i = 0; i < nd_; i++) {
          _Float16 a = (_Float16)K[i], b = (_Float16)V[i];
          memcpy(K16 + i, &a, 2);
          memcpy(V16 + i, &b, 2);
        }
      }
      if (!err) err = subq_quant_create("polarquant", d, &qk) ||
                      subq_quant_set_device(qk, device) || subq_quant_setup(qk, 0, NULL);
      if (!err) err = subq_quant_create("polarquant", d, &qv) ||
                      subq_quant_set_role(qv, SUBQ_QUANT_VALUES) ||
                      subq_quant_set_device(qv, device) || subq_quant_setup(qv, 0, NULL);
      double tq = 1e300;
      for (int r = 0; !err && r < 3; r++) {
        subq_qtensor_destroy(&Kt);
        sink_ += read_(B, nf);
        double t0 = now_();
        err = subq_quant_encode(qk, n, K, &Kt);
        tq = fmin(tq, now_() - t0);
      }
      if (!err) err = subq_quant_encode(qv, n, V, &Vt);
      if (err) {
        fprintf(stderr, "bench_polarquant: %s\n", subq_error_message());
        goto next;
      }
      double best[5] = {1e300, 1e300, 1e300, 1e300, 1e300};
      for (int r = 0; !err && r < reps; r++)
        for (int m = 0; !err && m < (gqa ? 5 : 3); m++) {
          sink_ += read_(B, nf);
          double t0 = now_();
          if (m == 0 && avx2_ && d % 16 == 0 && d <= 128)
            fp32_attn_avx2_(n, d, K, V, q, scale, S, o[0]);
          else if (m == 0) fp32_attn_(n, d, K, V, q, scale, S, o[0]);
          else if (m == 1 && avx2_ && d % 16 == 0 && d <= 128)
            fp16_attn_avx2_(n, d, K16, V16, q, scale, S, o[1]);
          else if (m == 1) fp16_attn_scalar_(n, d, K16, V16, q, scale, S, o[1]);
          else if (m == 2) err = subq_quant_attention(qk, Kt, qv, Vt, 1, q, scale, o[2], MPI_COMM_SELF);
          else if (m == 3) fp32_gqa_(n, d, gqa, K, V, Qg, scale, Sg, og[0]);
          else err = subq_quant_attention(qk, Kt, qv, Vt, (size_t)gqa, Qg, scale, og[1], MPI_COMM_SELF);
          best[m] = fmin(best[m], now_() - t0);
        }
      if (err) {
        fprintf(stderr, "bench_polarquant: %s\n", subq_error_message());
        goto next;
      }
      const double pq_bits = subq_qtensor_bits(Kt) + subq_qtensor_bits(Vt);
      const double bytes[5] = {8.0 * nd_, 4.0 * nd_, pq_bits / 8, 8.0 * nd_, pq_bits / 8};
      const double bpc[5] = {32, 16, pq_bits / (2.0 * nd_), 32, pq_bits / (2.0 * nd_)};
      const char *names[5] = {"fp32", "fp16", "polarquant", "fp32_gqa", "pq_gqa"};
      const double qgbs = 4.0 * nd_ / tq * 1e-9;
      for (int m = 0; m < (gqa ? 5 : 3); m++) {
        /* GQA rows: ratio against the fp32 GQA step, error against its first head. */
        const int base = m < 3 ? 0 : 3;
        double rate = bytes[m] / best[m];
        double err_m = m == 1 || m == 2 ? rel_err_(d, o[m], o[0]) : m == 4 ? rel_err_(d, og[1], og[0]) : 0;
        printf("%4d %7zu %-10s %6.3f %10.3e %7.2f %9.2f %7.2f %6.1f%% %6.1f%% %9.2e\n", d, n,
               names[m], bpc[m], best[m], best[base] / best[m], bytes[m] / 1048576, rate * 1e-9,
               100 * rate / bw_read, 100 * rate / bw_triad, err_m);
        if (csv)
          fprintf(csv, "%d,%zu,%s,%.4f,%.6e,%.4f,%.0f,%.4f,%.4f,%.4f,%.3e,%.4f,%.4f,%s\n", d, n,
                  names[m], bpc[m], best[m], best[base] / best[m], bytes[m], rate * 1e-9,
                  rate / bw_read, rate / bw_triad, err_m, bw_read * 1e-9, bw_triad * 1e-9,
                  m == 2 || m == 4 ? subq_device_name(device) : "cpu");
      }
      if (gqa)
        printf("%4d %7zu %-10s %d heads: polarquant %.2fx the time of one head (%.2fx fewer "
               "per head than %d single-query calls)\n", d, n, "pq_gqa", gqa, best[4] / best[2],
               gqa * best[2] / best[4], gqa);
      printf("%4d %7zu %-10s %6.3f %10.3e %7s %9.2f %7.2f   (GB/s of fp32 input)\n", d, n,
             "quantize", 3.875, tq, "", 4.0 * nd_ / 1048576, qgbs);
      if (csv)
        fprintf(csv, "%d,%zu,quantize,3.875,%.6e,,%.0f,%.4f,%.4f,%.4f,,%.4f,%.4f,%s\n", d, n, tq,
                4.0 * nd_, qgbs, 4.0 * nd_ / tq / bw_read, 4.0 * nd_ / tq / bw_triad,
                bw_read * 1e-9, bw_triad * 1e-9, subq_device_name(device));
    next:
      subq_qtensor_destroy(&Kt);
      subq_qtensor_destroy(&Vt);
      subq_quant_destroy(&qk);
      subq_quant_destroy(&qv);
      subq_free(&K), subq_free(&V), subq_free(&S), subq_free(&q), subq_free(&K16);
      subq_free(&V16), subq_free(&tmp);
      for (int m = 0; m < 3; m++) subq_free(&o[m]);
      subq_free(&Qg), subq_free(&Sg), subq_free(&og[0]), subq_free(&og[1]);
      if (err) goto out;
    }
  rc = 0;
out:
  if (csv) fclose(csv);
  free(B);
  subq_finalize();
  return rc;
}
