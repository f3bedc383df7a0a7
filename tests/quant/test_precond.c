/* Preconditioners (PolarQuant, arXiv 2502.02617, Sec. 3.1): the randomized Hadamard and
 * the dense random rotation are orthogonal, shared by equal seeds, and invertible. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "subq/quant.h"

static subq_quant_t *make_(int d, int precond, uint64_t seed) {
  subq_quant_t *q = NULL;
  CHECK_OK(subq_quant_create("turbo", d, &q)); /* any rotating type */
  CHECK_OK(subq_quant_set_precondition(q, precond));
  CHECK_OK(subq_quant_set_seed(q, seed));
  CHECK_OK(subq_quant_setup(q, 0, NULL));
  return q;
}

/* M = rotation applied to the identity rows (row i = Pi e_i, i.e. Pi^T); check M M^T = I,
 * and return M (caller frees). */
static float *matrix_(subq_quant_t *q, int d) {
  float *M = calloc((size_t)d * d, sizeof(float)), *G = malloc((size_t)d * d * sizeof(float));
  for (int i = 0; i < d; i++) M[i * d + i] = 1;
  CHECK_OK(subq_quant_rotate(q, (size_t)d, M, 0));
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d, d, d, 1.0f, M, d, M, d, 0.0f, G, d);
  double err = 0;
  for (int i = 0; i < d; i++)
    for (int j = 0; j < d; j++) err = fmax(err, fabs(G[i * d + j] - (i == j)));
  CHECK(err < 1e-5);
  free(G);
  return M;
}

static void test_(int precond, int d) {
  subq_quant_t *q = make_(d, precond, 5), *q2 = make_(d, precond, 5), *q3 = make_(d, precond, 6);
  float *M = matrix_(q, d), *M2 = matrix_(q2, d), *M3 = matrix_(q3, d);
  CHECK(memcmp(M, M2, (size_t)d * d * sizeof(float)) == 0); /* same seed, same rotation */
  CHECK(memcmp(M, M3, (size_t)d * d * sizeof(float)) != 0);
  if (precond == SUBQ_PRECOND_HADAMARD) {
    /* M[i][j] = Pi_{ji} = H_{ji} s_i / sqrt d with H the Sylvester-Hadamard matrix,
     * H_{ji} = (-1)^popcount(i & j) (independent closed form), s_i = +-1. */
    int ok = 1;
    for (int i = 0; i < d; i++)
      for (int j = 0; j < d; j++) {
        double h = (__builtin_popcount((unsigned)(i & j)) & 1) ? -1.0 : 1.0;
        ok &= fabs((double)M[i * d + j] * M[i * d] * d - h) < 1e-5;
      }
    CHECK(ok);
  }
  /* Norms and inner products of random vectors preserved; inverse undoes. */
  const int n = 20;
  float *X = malloc((size_t)n * d * sizeof(float)), *Y = malloc((size_t)n * d * sizeof(float));
  for (int i = 0; i < n * d; i++) X[i] = subq_rng_gaussf(3, 4, (uint64_t)i);
  memcpy(Y, X, (size_t)n * d * sizeof(float));
  CHECK_OK(subq_quant_rotate(q, (size_t)n, Y, 0));
  for (int i = 0; i + 1 < n; i++) {
    double xx = 0, yy = 0;
    for (int c = 0; c < d; c++) {
      xx += (double)X[i * d + c] * X[(i + 1) * d + c];
      yy += (double)Y[i * d + c] * Y[(i + 1) * d + c];
    }
    CHECK(fabs(xx - yy) < 1e-4 * d);
    double nx = 0, ny = 0;
    for (int c = 0; c < d; c++) {
      nx += (double)X[i * d + c] * X[i * d + c];
      ny += (double)Y[i * d + c] * Y[i * d + c];
    }
    CHECK_CLOSE(ny, nx, 1e-5);
  }
  CHECK_OK(subq_quant_rotate(q, (size_t)n, Y, 1));
  double err = 0;
  for (int i = 0; i < n * d; i++) err = fmax(err, fabs(Y[i] - X[i]));
  CHECK(err < 1e-5);
  free(X), free(Y), free(M), free(M2), free(M3);
  subq_quant_destroy(&q), subq_quant_destroy(&q2), subq_quant_destroy(&q3);
}

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  test_(SUBQ_PRECOND_HADAMARD, 64);
  test_(SUBQ_PRECOND_HADAMARD, 128);
  test_(SUBQ_PRECOND_DENSE, 64);
  test_(SUBQ_PRECOND_DENSE, 48);
  CHECK_FINISH();
}
