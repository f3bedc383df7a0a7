/* PolarQuant on the GPU against the CPU on the same inputs (src/cuda/quant.cu): encode,
 * scores from the codes and sharded decode attention over the compressed cache, for the
 * paper's layout (L = 4, bits 4,2,2,2) with Hadamard and dense preconditioning, online
 * codebooks with an fp16 residual window, no preconditioning with the generic layout
 * (L = 3, bits 3,3,2), blocks of 32 (L = 5: the device's wide-block kernels), and rows
 * past one device chunk (encode and value sums in two chunks).
 *
 * Tolerances (stated by what can differ):
 *   codes    Hadamard and no rotation give the device bit-identical rotated rows (the same
 *            butterflies), but its atan2/hypot differ from glibc's by an ulp or two, so an
 *            angle on a cell boundary or a radius on an fp16 rounding boundary may flip:
 *            at most 0.1% of the blocks may decode differently (expected: none).  The
 *            dense rotation is another sgemm (rows differ by ~3e-7 relative), so a block's
 *            fp16 radius (spacing 2^-11 relative) flips with probability ~1e-3: at most 2%
 *            there.  The GPU-coded tensor's reconstruction error against the input may
 *            differ from the CPU-coded one's by at most 0.5% (relative);
 *   scores   the same tensor scored on both devices: relative Frobenius error <= 1e-5
 *            (float sums in another order); and against decode-then-dot in float64 (an
 *            independent computation) <= 1e-5;
 *   attention  sharded over the ranks (uneven, np = 3: one rank empty) on the same
 *            tensors: <= 1e-5 (all on the device without a residual window; the case with
 *            one forms the weights on the host and sums the values on the device).
 * A quantizer whose score tables cannot fit in shared memory is refused at setup.
 * Skips (exit 77) without a CUDA device. */
#include <stdlib.h>
#include <string.h>

#include "cuda_check.h"
#include "subq/quant.h"

typedef struct {
  const char *what;
  int d, levels, bits[8], precond, codebook;
  size_t residual, n, nq;
} case_t;

/* Gaussian rows keyed by global index, channels 0..3 four times larger (like real keys). */
static void rows_(size_t r0, size_t n, int d, uint64_t stream, float *X) {
  for (size_t i = 0; i < n; i++)
    for (int c = 0; c < d; c++)
      X[i * d + c] = subq_rng_gaussf(5, stream, (r0 + i) * (size_t)d + (size_t)c) * (c < 4 ? 4.0f : 1.0f);
}

static int make_(const case_t *c, int role, subq_device_t dev, size_t ntr, const float *Xtr,
                 subq_quant_t **q) {
  int e = subq_quant_create("polarquant", c->d, q);
  if (!e) e = subq_quant_set_levels(*q, c->levels);
  if (!e) e = subq_quant_set_bits(*q, c->bits, c->levels);
  if (!e) e = subq_quant_set_precondition(*q, c->precond);
  if (!e) e = subq_quant_set_codebook(*q, c->codebook);
  if (!e) e = subq_quant_set_residual(*q, c->residual);
  if (!e) e = subq_quant_set_role(*q, role);
  if (!e) e = subq_quant_set_device(*q, dev);
  if (!e) e = subq_quant_setup(*q, ntr, Xtr);
  return e;
}

/* Sum over ranks of a and b (two doubles). */
static void sum2_(double *a, double *b) {
  double v[2] = {*a, *b}, g[2];
  MPI_Allreduce(v, g, 2, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  *a = g[0];
  *b = g[1];
}

static void run_case_(const case_t *c) {
  const int d = c->d, D = 1 << c->levels;
  size_t t0, t1;
  cuda_shard_(c->n, &t0, &t1);
  const size_t nl = t1 - t0, nq = c->nq, nb = (size_t)(d / D);
  float *K = malloc((nl + 1) * d * sizeof(float)), *V = malloc((nl + 1) * d * sizeof(float));
  float *Q = malloc(nq * d * sizeof(float)), *Kc = malloc((nl + 1) * d * sizeof(float));
  float *Kg = malloc((nl + 1) * d * sizeof(float));
  float *Sc = malloc((nl + 1) * nq * sizeof(float)), *Sg = malloc((nl + 1) * nq * sizeof(float));
  double *Sr = malloc((nl + 1) * nq * sizeof(double));
  float *Oc = malloc(nq * d * sizeof(float)), *Og = malloc(nq * d * sizeof(float));
  rows_(t0, nl, d, 1, K);
  rows_(t0, nl, d, 2, V);
  rows_(0, nq, d, 3, Q);
  /* Online codebooks train on the first 2000 rows of the whole cache (the same everywhere). */
  const size_t ntr = c->codebook == SUBQ_CODEBOOK_ONLINE ? 2000 : 0;
  float *Ktr = malloc((ntr + 1) * d * sizeof(float)), *Vtr = malloc((ntr + 1) * d * sizeof(float));
  rows_(0, ntr, d, 1, Ktr);
  rows_(0, ntr, d, 2, Vtr);
  subq_quant_t *kc = NULL, *kg = NULL, *vc = NULL, *vg = NULL;
  subq_qtensor_t *Ktc = NULL, *Ktg = NULL, *Vtg = NULL;
  CHECK_OK(make_(c, SUBQ_QUANT_KEYS, SUBQ_DEVICE_CPU, ntr, Ktr, &kc));
  CHECK_OK(make_(c, SUBQ_QUANT_KEYS, SUBQ_DEVICE_CUDA, ntr, Ktr, &kg));
  CHECK_OK(make_(c, SUBQ_QUANT_VALUES, SUBQ_DEVICE_CPU, ntr, Vtr, &vc));
  CHECK_OK(make_(c, SUBQ_QUANT_VALUES, SUBQ_DEVICE_CUDA, ntr, Vtr, &vg));
  if (!kc || !kg || !vc || !vg) goto done;

  /* Encode on both devices; decode both on the CPU and compare block by block. */
  CHECK_OK(subq_quant_encode(kc, nl, K, &Ktc));
  CHECK_OK(subq_quant_encode(kg, nl, K, &Ktg));
  CHECK_OK(subq_quant_encode(vg, nl, V, &Vtg));
  if (!Ktc || !Ktg || !Vtg) goto done;
  CHECK_OK(subq_quant_decode(kc, Ktc, Kc));
  CHECK_OK(subq_quant_decode(kc, Ktg, Kg));
  double diff = 0, blocks = (double)(nl * nb), ec = 0, eg = 0;
  for (size_t b = 0; b < nl * nb; b++)
    diff += memcmp(Kc + b * D, Kg + b * D, (size_t)D * sizeof(float)) != 0;
  for (size_t i = 0; i < nl * (size_t)d; i++) {
    ec += ((double)Kc[i] - K[i]) * ((double)Kc[i] - K[i]);
    eg += ((double)Kg[i] - K[i]) * ((double)Kg[i] - K[i]);
  }
  sum2_(&diff, &blocks);
  sum2_(&ec, &eg);
  if (check_rank_() == 0)
    printf("  %-30s n=%zu: %.0f of %.0f blocks decode differently; rel. MSE cpu %.4e gpu %.4e\n",
           c->what, c->n, diff, blocks, ec, eg);
  CHECK(diff <= (c->precond == SUBQ_PRECOND_DENSE ? 2e-2 : 1e-3) * blocks);
  CHECK_REL(fabs(eg - ec) / fmax(ec, 1e-300), 5e-3, "%s: reconstruction error gpu vs cpu", c->what);

  /* Scores of the GPU-coded tensor on both devices, and of the CPU-coded one (uploaded). */
  if (nl) {
    CHECK_OK(subq_quant_scores(kc, Ktg, nq, Q, Sc));
    CHECK_OK(subq_quant_scores(kg, Ktg, nq, Q, Sg));
  }
  double e = 0, s = 0;
  for (size_t i = 0; i < nq * nl; i++) e += ((double)Sg[i] - Sc[i]) * ((double)Sg[i] - Sc[i]), s += (double)Sc[i] * Sc[i];
  sum2_(&e, &s);
  CHECK_REL(sqrt(e / fmax(s, 1e-300)), 1e-5, "%s: scores gpu vs cpu (device codes)", c->what);
  /* Independent: decode-then-dot in float64. */
  for (size_t i = 0; i < nq; i++)
    for (size_t j = 0; j < nl; j++) {
      double t = 0;
      for (int k = 0; k < d; k++) t += (double)Q[i * d + k] * Kg[j * d + k];
      Sr[i * nl + j] = t;
    }
  e = s = 0;
  for (size_t i = 0; i < nq * nl; i++) e += (Sg[i] - Sr[i]) * (Sg[i] - Sr[i]), s += Sr[i] * Sr[i];
  sum2_(&e, &s);
  CHECK_REL(sqrt(e / fmax(s, 1e-300)), 1e-5, "%s: scores gpu vs decode-then-dot", c->what);
  if (nl) {
    CHECK_OK(subq_quant_scores(kc, Ktc, nq, Q, Sc));
    CHECK_OK(subq_quant_scores(kg, Ktc, nq, Q, Sg)); /* codes uploaded per call */
  }
  e = s = 0;
  for (size_t i = 0; i < nq * nl; i++) e += ((double)Sg[i] - Sc[i]) * ((double)Sg[i] - Sc[i]), s += (double)Sc[i] * Sc[i];
  sum2_(&e, &s);
  CHECK_REL(sqrt(e / fmax(s, 1e-300)), 1e-5, "%s: scores gpu vs cpu (uploaded codes)", c->what);

  /* Sharded decode attention over the GPU-coded cache, on both devices. */
  const float scale = 1.0f / sqrtf((float)d);
  CHECK_OK(subq_quant_attention(kc, Ktg, vc, Vtg, nq, Q, scale, Oc, MPI_COMM_WORLD));
  CHECK_OK(subq_quant_attention(kg, Ktg, vg, Vtg, nq, Q, scale, Og, MPI_COMM_WORLD));
  CHECK_REL(rel_err_f_(Og, Oc, nq * (size_t)d), 1e-5, "%s: attention gpu vs cpu", c->what);
done:
  subq_qtensor_destroy(&Ktc);
  subq_qtensor_destroy(&Ktg);
  subq_qtensor_destroy(&Vtg);
  subq_quant_destroy(&kc);
  subq_quant_destroy(&kg);
  subq_quant_destroy(&vc);
  subq_quant_destroy(&vg);
  free(K), free(V), free(Q), free(Kc), free(Kg), free(Sc), free(Sg), free(Sr), free(Oc);
  free(Og), free(Ktr), free(Vtr);
}

int main(int argc, char **argv) {
  if (subq_init(&argc, &argv)) return 1;
  CUDA_TEST_BEGIN();
  const case_t cases[] = {
      {"d=128 L=4 4,2,2,2 hadamard", 128, 4, {4, 2, 2, 2}, SUBQ_PRECOND_HADAMARD, SUBQ_CODEBOOK_OFFLINE, 0, 5003, 37},
      {"d=64 dense online resid 16", 64, 4, {4, 2, 2, 2}, SUBQ_PRECOND_DENSE, SUBQ_CODEBOOK_ONLINE, 16, 4001, 9},
      {"d=64 L=3 3,3,2 none", 64, 3, {3, 3, 2}, SUBQ_PRECOND_NONE, SUBQ_CODEBOOK_OFFLINE, 0, 3001, 5},
      {"d=64 L=5 4,3,2,2,1 hadamard", 64, 5, {4, 3, 2, 2, 1}, SUBQ_PRECOND_HADAMARD, SUBQ_CODEBOOK_OFFLINE, 0, 2001, 7},
      /* 2^24 / 64 = 262144 rows per device chunk: encode and the value sums take two. */
      {"d=64 two device chunks", 64, 4, {4, 2, 2, 2}, SUBQ_PRECOND_HADAMARD, SUBQ_CODEBOOK_OFFLINE, 0, 300007, 2},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case_(&cases[i]);
  /* Score tables of (128/2) x 2^12 floats = 1 MiB do not fit in shared memory. */
  subq_quant_t *q = NULL;
  const int big[4] = {12, 2, 2, 2};
  CHECK_OK(subq_quant_create("polarquant", 128, &q));
  CHECK_OK(subq_quant_set_bits(q, big, 4));
  CHECK_OK(subq_quant_set_device(q, SUBQ_DEVICE_CUDA));
  CHECK_ERR(subq_quant_setup(q, 0, NULL), SUBQ_ERR_UNSUPPORTED, "shared memory");
  subq_quant_destroy(&q);
  /* Only polarquant has a device path. */
  CHECK_OK(subq_quant_create("kivi", 64, &q));
  CHECK_ERR(subq_quant_set_device(q, SUBQ_DEVICE_CUDA), SUBQ_ERR_UNSUPPORTED, "polarquant only");
  subq_quant_destroy(&q);
  CHECK_FINISH();
}
