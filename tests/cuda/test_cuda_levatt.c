/* LevAttention's restricted attention on the GPU against the CPU on the same inputs
 * (src/cuda/levatt.cu): f = |x|^p (p = 2, 3) and softmax, causal and not, keys at scattered
 * global positions (a universal set), more queries than one device tile (1024) and more
 * keys than one (4096); then the sharded pipeline (U rows gathered, subq_levatt_attend_
 * sharded) and the split-K merge (subq_levatt_attend_merge) at np = 1, 2, 3 with a leverage
 * universal set.  Tolerances: float64 GPU vs CPU relative Frobenius error <= 1e-12 (sums
 * in other tiles); empty-query counts equal; independent check: three queries computed
 * directly (float64 loops) <= 1e-12.  Skips (exit 77) without a CUDA device. */
#include <stdlib.h>
#include <string.h>

#include "cuda_check.h"
#include "subq/levatt.h"

static double gauss_(uint64_t s, uint64_t i) { return subq_rng_gauss(13, s, i); }

/* Direct o_i for one query: sum f v / sum f over admissible keys (0 when none). */
static void direct_(const subq_levatt_attn_t *a, size_t d, size_t dv, const double *q,
                    int64_t qpos, size_t nk, const double *K, const double *V,
                    const int64_t *kidx, double *o) {
  const double scale = a->scale != 0 ? a->scale : 1 / sqrt((double)d);
  double mx = -INFINITY, l = 0;
  double *w = malloc((nk + 1) * sizeof(double));
  for (size_t j = 0; j < nk; j++) {
    double s = 0;
    for (size_t t = 0; t < d; t++) s += q[t] * K[j * d + t];
    w[j] = (a->causal && kidx[j] > qpos) ? NAN : s;
    if (!isnan(w[j]) && scale * s > mx) mx = scale * s;
  }
  for (size_t c = 0; c < dv; c++) o[c] = 0;
  for (size_t j = 0; j < nk; j++) {
    double f = isnan(w[j]) ? 0
               : a->fn == SUBQ_LEVATT_SOFTMAX ? exp(scale * w[j] - mx)
                                              : pow(fabs(w[j]), a->p);
    l += f;
    for (size_t c = 0; c < dv; c++) o[c] += f * V[j * dv + c];
  }
  for (size_t c = 0; c < dv; c++) o[c] = l > 0 ? o[c] / l : 0;
  free(w);
}

static void local_(subq_levatt_fn_t fn, int p, int causal, size_t nq, size_t nk, size_t d,
                   size_t dv) {
  double *Q = malloc(nq * d * sizeof(double)), *K = malloc(nk * d * sizeof(double));
  double *V = malloc(nk * dv * sizeof(double)), *oc = malloc(nq * dv * sizeof(double));
  double *og = malloc(nq * dv * sizeof(double)), o[64];
  int64_t *kidx = malloc(nk * sizeof(int64_t));
  for (size_t i = 0; i < nq * d; i++) Q[i] = gauss_(1, i) * 0.5;
  for (size_t i = 0; i < nk * d; i++) K[i] = gauss_(2, i) * 0.5;
  for (size_t i = 0; i < nk * dv; i++) V[i] = gauss_(3, i);
  for (size_t j = 0; j < nk; j++) kidx[j] = (int64_t)(j * 3 + j % 2); /* sorted, scattered */
  subq_levatt_attn_t a = {fn, p, 0, causal, SUBQ_DEVICE_CPU};
  size_t ec = 0, eg = 0;
  CHECK_OK(subq_levatt_attend(&a, d, dv, nq, Q, 500, nk, K, V, kidx, oc, &ec));
  a.device = SUBQ_DEVICE_CUDA;
  CHECK_OK(subq_levatt_attend(&a, d, dv, nq, Q, 500, nk, K, V, kidx, og, &eg));
  CHECK(ec == eg);
  CHECK_REL(rel_err_(og, oc, nq * dv), 1e-12, "attend %s p=%d causal=%d nq=%zu nk=%zu",
            fn == SUBQ_LEVATT_SOFTMAX ? "softmax" : "poly", p, causal, nq, nk);
  double e = 0;
  for (size_t t = 0; t < 3; t++) {
    const size_t i = t * (nq - 1) / 2;
    direct_(&a, d, dv, Q + i * d, (int64_t)(500 + i), nk, K, V, kidx, o);
    e = fmax(e, rel_err_(og + i * dv, o, dv));
  }
  CHECK_REL(e, 1e-12, "  gpu vs direct (3 queries, worst)");
  free(Q), free(K), free(V), free(oc), free(og), free(kidx);
}

/* Sharded and merged attention on a real universal set (p = 2 leverage, eps 0.002). */
static void distributed_(subq_levatt_fn_t fn, int causal) {
  int rank, np;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &np);
  const size_t n = 6000, d = 16, dv = 16;
  const size_t k0 = n * (size_t)rank / (size_t)np, nk = n * (size_t)(rank + 1) / (size_t)np - k0;
  double *K = malloc((nk + 1) * d * sizeof(double)), *V = malloc((nk + 1) * dv * sizeof(double));
  double *Q = malloc((nk + 1) * d * sizeof(double));
  double *oc = malloc((nk + 1) * dv * sizeof(double)), *og = malloc((nk + 1) * dv * sizeof(double));
  for (size_t i = 0; i < nk * d; i++) {
    K[i] = gauss_(4, k0 * d + i) * (i % d < 2 ? 3.0 : 1.0);
    Q[i] = gauss_(5, k0 * d + i);
  }
  for (size_t i = 0; i < nk * dv; i++) V[i] = gauss_(6, k0 * dv + i);
  subq_levatt_opts_t o;
  subq_levatt_opts_default(&o);
  o.eps = 0.002;
  int64_t *U = NULL;
  size_t nU = 0, ec = 0, eg = 0;
  CHECK_OK(subq_levatt_universal(MPI_COMM_WORLD, &o, d, nk, K, k0, 1000, NULL, &U, &nU, NULL));
  subq_levatt_attn_t a = {fn, 2, 0, causal, SUBQ_DEVICE_CPU};
  CHECK_OK(subq_levatt_attend_sharded(MPI_COMM_WORLD, &a, d, dv, nk, Q, k0, nk, K, V, k0, nU, U, oc, &ec));
  a.device = SUBQ_DEVICE_CUDA;
  CHECK_OK(subq_levatt_attend_sharded(MPI_COMM_WORLD, &a, d, dv, nk, Q, k0, nk, K, V, k0, nU, U, og, &eg));
  double e[2] = {0, 0}, g[2];
  for (size_t i = 0; i < nk * dv; i++) e[0] += (og[i] - oc[i]) * (og[i] - oc[i]), e[1] += oc[i] * oc[i];
  MPI_Allreduce(e, g, 2, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  CHECK(ec == eg);
  CHECK_REL(sqrt(g[0] / fmax(g[1], 1e-300)), 1e-12, "sharded %s causal=%d |U|=%zu",
            fn == SUBQ_LEVATT_SOFTMAX ? "softmax" : "p=2", causal, nU);
  /* Split-K: 40 replicated queries (global positions 3000..), keys sharded. */
  const size_t nq = 40;
  double *Qr = malloc(nq * d * sizeof(double)), *mc = malloc(nq * dv * sizeof(double));
  double *mg = malloc(nq * dv * sizeof(double));
  for (size_t i = 0; i < nq * d; i++) Qr[i] = gauss_(7, i);
  a.device = SUBQ_DEVICE_CPU;
  CHECK_OK(subq_levatt_attend_merge(MPI_COMM_WORLD, &a, d, dv, nq, Qr, 3000, nk, K, V, k0, nU, U, mc, &ec));
  a.device = SUBQ_DEVICE_CUDA;
  CHECK_OK(subq_levatt_attend_merge(MPI_COMM_WORLD, &a, d, dv, nq, Qr, 3000, nk, K, V, k0, nU, U, mg, &eg));
  CHECK(ec == eg);
  CHECK_REL(rel_err_(mg, mc, nq * dv), 1e-12, "merge %s causal=%d", fn == SUBQ_LEVATT_SOFTMAX ? "softmax" : "p=2", causal);
  subq_free(&U);
  free(K), free(V), free(Q), free(oc), free(og), free(Qr), free(mc), free(mg);
}

int main(int argc, char **argv) {
  if (subq_init(&argc, &argv)) return 1;
  CUDA_TEST_BEGIN();
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0) { /* not collective: rank 0 only */
    local_(SUBQ_LEVATT_SOFTMAX, 0, 1, 2100, 9000, 24, 20);
    local_(SUBQ_LEVATT_SOFTMAX, 0, 0, 300, 5000, 64, 64);
    local_(SUBQ_LEVATT_POLY, 2, 1, 1500, 4200, 16, 8);
    local_(SUBQ_LEVATT_POLY, 3, 0, 70, 100, 8, 8);
  }
  for (int c = 0; c < 2; c++) {
    distributed_(SUBQ_LEVATT_SOFTMAX, c);
    distributed_(SUBQ_LEVATT_POLY, c);
  }
  CHECK_FINISH();
}
