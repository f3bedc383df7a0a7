/* Sequence-parallel decode attention over a PolarQuant-compressed cache: tokens sharded
 * over the ranks, partial (max, sum, weighted values) merged by log-sum-exp, equal to the
 * single-rank softmax(scale q K^T) V computed here in double from the dequantized cache
 * (to 1e-5 relative), for balanced shards and for shards where some ranks hold nothing. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "subq/quant.h"

enum { D = 64, N = 301, NQ = 5 };

static void run_(subq_quant_t *qk, subq_quant_t *qv, const float *K, const float *V,
                 const float *Q, size_t t0, size_t t1) {
  const float scale = 1.0f / 8.0f;
  /* Reference: whole cache on this rank, double precision softmax. */
  subq_qtensor_t *Kt = NULL, *Vt = NULL;
  float *Kh = malloc(N * D * sizeof(float)), *Vh = malloc(N * D * sizeof(float));
  CHECK_OK(subq_quant_encode(qk, N, K, &Kt));
  CHECK_OK(subq_quant_encode(qv, N, V, &Vt));
  CHECK_OK(subq_quant_decode(qk, Kt, Kh));
  CHECK_OK(subq_quant_decode(qv, Vt, Vh));
  subq_qtensor_destroy(&Kt);
  subq_qtensor_destroy(&Vt);
  double ref[NQ][D];
  for (int i = 0; i < NQ; i++) {
    double s[N], mx = -INFINITY, l = 0;
    for (int j = 0; j < N; j++) {
      s[j] = 0;
      for (int c = 0; c < D; c++) s[j] += (double)Q[i * D + c] * Kh[j * D + c];
      s[j] *= scale;
      mx = fmax(mx, s[j]);
    }
    for (int c = 0; c < D; c++) ref[i][c] = 0;
    for (int j = 0; j < N; j++) {
      double w = exp(s[j] - mx);
      l += w;
      for (int c = 0; c < D; c++) ref[i][c] += w * Vh[j * D + c];
    }
    for (int c = 0; c < D; c++) ref[i][c] /= l;
  }
  /* Distributed: this rank encodes only its shard [t0, t1). */
  CHECK_OK(subq_quant_encode(qk, t1 - t0, K + t0 * D, &Kt));
  CHECK_OK(subq_quant_encode(qv, t1 - t0, V + t0 * D, &Vt));
  float O[NQ * D];
  CHECK_OK(subq_quant_attention(qk, Kt, qv, Vt, NQ, Q, scale, O, MPI_COMM_WORLD));
  double err = 0, nrm = 0;
  for (int i = 0; i < NQ; i++)
    for (int c = 0; c < D; c++) {
      err = fmax(err, fabs(O[i * D + c] - ref[i][c]));
      nrm = fmax(nrm, fabs(ref[i][c]));
    }
  CHECK(err <= 1e-5 * nrm);
  CHECK(isfinite(err));
  subq_qtensor_destroy(&Kt);
  subq_qtensor_destroy(&Vt);
  free(Kh), free(Vh);
}

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  int rank, np;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &np);
  float *K = malloc(N * D * sizeof(float)), *V = malloc(N * D * sizeof(float));
  float Q[NQ * D];
  for (int i = 0; i < N * D; i++) {
    K[i] = 2 * subq_rng_gaussf(1, 1, (uint64_t)i);
    V[i] = subq_rng_gaussf(1, 2, (uint64_t)i);
  }
  for (int i = 0; i < NQ * D; i++) Q[i] = subq_rng_gaussf(1, 3, (uint64_t)i);
  subq_quant_t *qk = NULL, *qv = NULL;
  CHECK_OK(subq_quant_create("polarquant", D, &qk));
  CHECK_OK(subq_quant_create("polarquant", D, &qv));
  CHECK_OK(subq_quant_setup(qk, 0, NULL));
  CHECK_OK(subq_quant_setup(qv, 0, NULL));
  /* Balanced shards. */
  run_(qk, qv, K, V, Q, (size_t)N * rank / np, (size_t)N * (rank + 1) / np);
  /* Uneven: everything on the last rank, the others empty. */
  run_(qk, qv, K, V, Q, rank == np - 1 ? 0 : N, N);
  /* Bad input on one rank only: every rank returns the same error, no hang. */
  subq_qtensor_t *Kt = NULL, *Vt = NULL;
  CHECK_OK(subq_quant_encode(qk, 3, K, &Kt));
  CHECK_OK(subq_quant_encode(qv, rank == 0 ? 2 : 3, V, &Vt));
  float O[NQ * D];
  int e = subq_quant_attention(qk, Kt, qv, Vt, NQ, Q, 0.125f, O, MPI_COMM_WORLD);
  CHECK(e == SUBQ_ERR_ARG || e == SUBQ_ERR_PEER);
  CHECK(e != 0);
  subq_qtensor_destroy(&Kt);
  subq_qtensor_destroy(&Vt);
  subq_quant_destroy(&qk);
  subq_quant_destroy(&qv);
  /* Values on the generic from-codes path (6 level-1 bits: no node tables) with balanced
   * shards; then with a residual fp16 window of 40 tokens, all tokens on the last rank (the
   * window is per tensor, so only that split matches the single-tensor reference). */
  const int b6[4] = {6, 2, 2, 2};
  CHECK_OK(subq_quant_create("polarquant", D, &qk));
  CHECK_OK(subq_quant_create("polarquant", D, &qv));
  CHECK_OK(subq_quant_set_bits(qv, b6, 4));
  CHECK_OK(subq_quant_setup(qk, 0, NULL));
  CHECK_OK(subq_quant_setup(qv, 0, NULL));
  run_(qk, qv, K, V, Q, (size_t)N * rank / np, (size_t)N * (rank + 1) / np);
  subq_quant_destroy(&qk);
  subq_quant_destroy(&qv);
  for (int v = 0; v < 2; v++) {
    CHECK_OK(subq_quant_create("polarquant", D, &qk));
    CHECK_OK(subq_quant_create("polarquant", D, &qv));
    if (v) CHECK_OK(subq_quant_set_bits(qv, b6, 4));
    CHECK_OK(subq_quant_set_residual(qk, 40));
    CHECK_OK(subq_quant_set_residual(qv, 40));
    CHECK_OK(subq_quant_setup(qk, 0, NULL));
    CHECK_OK(subq_quant_setup(qv, 0, NULL));
    run_(qk, qv, K, V, Q, rank == np - 1 ? 0 : N, N);
    subq_quant_destroy(&qk);
    subq_quant_destroy(&qv);
  }
  free(K), free(V);
  CHECK_FINISH();
}
