/* LevAttention theorem on real keys and queries (the committed SmolLM2-135M KV dump,
 * layers 0 and 20, every KV head and its 3 query heads): with U = {j : tau_j >= eps} from
 * the keys sharded by sequence, every non-causal A_ij = (q_i.k_j)^2 / sum_j' (q_i.k_j')^2
 * >= eps has j in U (fraction exactly 1); |U| <= rank/eps; scores match an SVD of the
 * gathered keys. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/test_util.h"
#include "levatt_ref.h"
#include "subq/levatt.h"

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  char dir[4096];
  subq_test_kv_dump_dir(dir, sizeof dir, "..");
  subq_kv_t *kv = NULL;
  CHECK_OK(subq_kv_open(dir, 0, &kv));
  if (!kv) CHECK_FINISH();
  const subq_kv_meta_t *meta = subq_kv_meta(kv);
  const size_t n = meta->tokens, d = (size_t)meta->head_dim;
  size_t r0, nl;
  ref_block(n, size, rank, &r0, &nl);
  double *K = malloc(n * d * sizeof *K), *Q = malloc(nl * d * sizeof *Q),
         *S = malloc(nl * n * sizeof *S), *tref = malloc(n * sizeof *tref),
         *tau = malloc(n * sizeof *tau);
  const int layers[2] = {0, 20};
  const double epss[2] = {0.01, 0.05};
  unsigned long long total_heavy = 0;
  for (int li = 0; li < 2; li++)
    for (int h = 0; h < meta->n_kv_heads; h++) {
      CHECK_OK(subq_kv_load(kv, 'k', layers[li], h, 0, n, K));
      size_t rref = ref_leverage(n, d, K, tref);
      char *inU[2];
      size_t nU[2];
      double errs[2];
      subq_levatt_info_t info[2];
      for (int ei = 0; ei < 2; ei++) {
        subq_levatt_opts_t o;
        subq_levatt_opts_default(&o);
        o.eps = epss[ei];
        int64_t *U = NULL;
        CHECK_OK(subq_levatt_universal(MPI_COMM_WORLD, &o, d, nl, K + r0 * d, r0, 256, tau,
                                       &U, &nU[ei], &info[ei]));
        errs[ei] = 0;
        for (size_t j = 0; j < nl; j++) errs[ei] = fmax(errs[ei], fabs(tau[j] - tref[r0 + j]));
        CHECK(errs[ei] < 1e-8);
        CHECK(info[ei].rank == rref);
        CHECK((double)nU[ei] <= (double)rref / o.eps);
        inU[ei] = calloc(n, 1);
        for (size_t t = 0; t < nU[ei]; t++) inU[ei][U[t]] = 1;
        subq_free(&U);
      }
      /* heavy entries of this rank's queries, for every query head of this KV head */
      unsigned long long hm[4] = {0, 0, 0, 0}, g[4];
      for (int qh = 0; qh < meta->n_q_heads; qh++) {
        if (meta->gqa[qh] != h) continue;
        CHECK_OK(subq_kv_load(kv, 'q', layers[li], qh, r0, r0 + nl, Q));
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nl, (int)n, (int)d, 1.0, Q,
                    (int)d, K, (int)d, 0.0, S, (int)n);
        for (size_t i = 0; i < nl; i++) {
          double sum = 0, *s = S + i * n;
          for (size_t j = 0; j < n; j++) sum += s[j] * s[j];
          for (size_t j = 0; j < n; j++)
            for (int ei = 0; ei < 2; ei++)
              if (s[j] * s[j] >= epss[ei] * sum) {
                hm[2 * ei]++;
                hm[2 * ei + 1] += !inU[ei][j];
              }
        }
      }
      MPI_Allreduce(hm, g, 4, MPI_UNSIGNED_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
      for (int ei = 0; ei < 2; ei++) {
        total_heavy += g[2 * ei];
        CHECK(g[2 * ei + 1] == 0);
        if (rank == 0)
          printf("layer %2d kv head %d eps %.2f: rank %zu, |U| = %4zu (bound %.0f), heavy %llu, "
                 "missed %llu, max |tau - svd| %.1e\n", layers[li], h, epss[ei], info[ei].rank,
                 nU[ei], info[ei].bound, g[2 * ei], g[2 * ei + 1], errs[ei]);
        free(inU[ei]);
      }
    }
  /* the recall check is not vacuous: heavy entries exist at eps = 0.01 */
  CHECK(total_heavy > 0);
  free(K); free(Q); free(S); free(tref); free(tau);
  subq_kv_close(&kv);
  CHECK_FINISH();
}
