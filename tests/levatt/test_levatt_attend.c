/* Attention restricted to a key set U (LevAttention, Kannan et al. 2024, Section 3) against
 * a dense masked computation written here with plain loops: |x|^p (p = 2, 4) and softmax,
 * causal and not, queries and keys sharded by sequence (U rows gathered) and queries
 * replicated with keys sharded (log-sum-exp merge); np = 1, 2, 3; several key blocks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "levatt_ref.h"
#include "subq/levatt.h"

static int rank_, size_;

/* out_i over j in U (inU mask), j <= q0 + i when causal; 0 when no admissible key. */
static void ref_attend(const subq_levatt_attn_t *a, size_t d, size_t dv, size_t nq,
                       const double *Q, size_t q0, size_t n, const double *K, const double *V,
                       const char *inU, double *out, size_t *empty) {
  double scale = a->scale != 0 ? a->scale : 1 / sqrt((double)d);
  double *w = malloc(n * sizeof *w);
  *empty = 0;
  for (size_t i = 0; i < nq; i++) {
    double mx = -INFINITY, sum = 0;
    for (size_t j = 0; j < n; j++) {
      double s = 0;
      for (size_t c = 0; c < d; c++) s += Q[i * d + c] * K[j * d + c];
      int ok = inU[j] && (!a->causal || j <= q0 + i);
      w[j] = ok ? (a->fn == SUBQ_LEVATT_SOFTMAX ? scale * s : ref_pow(s, a->p)) : NAN;
      if (ok && w[j] > mx) mx = w[j];
    }
    for (size_t j = 0; j < n; j++) {
      if (isnan(w[j])) w[j] = 0;
      else if (a->fn == SUBQ_LEVATT_SOFTMAX) w[j] = exp(w[j] - mx);
      sum += w[j];
    }
    for (size_t c = 0; c < dv; c++) {
      double o = 0;
      for (size_t j = 0; j < n; j++) o += w[j] * V[j * dv + c];
      out[i * dv + c] = sum > 0 ? o / sum : 0;
    }
    if (!(sum > 0)) (*empty)++;
  }
  free(w);
}

static double maxdiff(size_t m, const double *a, const double *b) {
  double e = 0;
  for (size_t i = 0; i < m; i++) e = fmax(e, fabs(a[i] - b[i]) / fmax(1, fabs(b[i])));
  return e;
}

static void run(const char *name, const subq_levatt_attn_t *a, size_t n, size_t d, size_t dv,
                size_t nqrep, int keep_every, size_t skip_first) {
  double *K = malloc(n * d * sizeof *K), *V = malloc(n * dv * sizeof *V),
         *Q = malloc(n * d * sizeof *Q);
  for (size_t i = 0; i < n * d; i++) {
    K[i] = 2 * subq_rng_gauss(5, 1, i);
    Q[i] = 2 * subq_rng_gauss(5, 2, i);
  }
  for (size_t i = 0; i < n * dv; i++) V[i] = subq_rng_gauss(5, 3, i);
  char *inU = calloc(n, 1);
  int64_t *U = malloc(n * sizeof *U);
  size_t nU = 0;
  for (size_t j = skip_first; j < n; j++)
    if (j % (size_t)keep_every == 0 || subq_rng_uniform(5, 4, j) < 0.1) {
      inU[j] = 1;
      U[nU++] = (int64_t)j;
    }
  size_t r0, nl, e_ref, e_lib = 99;
  ref_block(n, size_, rank_, &r0, &nl);
  /* sharded queries and keys */
  double *ref = malloc(n * dv * sizeof *ref), *out = malloc(n * dv * sizeof *out);
  ref_attend(a, d, dv, nl, Q + r0 * d, r0, n, K, V, inU, ref, &e_ref);
  unsigned long long el = e_ref, eg = 0;
  MPI_Allreduce(&el, &eg, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
  e_ref = (size_t)eg;
  CHECK_OK(subq_levatt_attend_sharded(MPI_COMM_WORLD, a, d, dv, nl, Q + r0 * d, r0, nl,
                                      K + r0 * d, V + r0 * dv, r0, nU, U, out, &e_lib));
  double e1 = maxdiff(nl * dv, out, ref);
  CHECK(e1 < 1e-12);
  CHECK(e_lib == e_ref);
  CHECK(!a->causal || e_ref >= skip_first);
  size_t e_sharded = e_ref;
  /* replicated queries (the last nqrep positions), keys sharded, merged across ranks */
  size_t q0 = n - nqrep;
  ref_attend(a, d, dv, nqrep, Q + q0 * d, q0, n, K, V, inU, ref, &e_ref);
  CHECK_OK(subq_levatt_attend_merge(MPI_COMM_WORLD, a, d, dv, nqrep, Q + q0 * d, q0, nl,
                                    K + r0 * d, V + r0 * dv, r0, nU, U, out, &e_lib));
  double e2 = maxdiff(nqrep * dv, out, ref);
  CHECK(e2 < 1e-12);
  CHECK(e_lib == e_ref);
  if (rank_ == 0)
    printf("%-16s n=%zu |U|=%zu causal=%d: sharded %.1e, merged %.1e, empty rows %zu\n", name,
           n, nU, a->causal, e1, e2, e_sharded);
  free(K); free(V); free(Q); free(inU); free(U); free(ref); free(out);
}

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  subq_levatt_attn_t a = {SUBQ_LEVATT_POLY, 2, 0, 0, SUBQ_DEVICE_CPU};
  for (int causal = 0; causal <= 1; causal++) {
    a.causal = causal;
    a.fn = SUBQ_LEVATT_POLY;
    a.p = 2;
    run("poly p=2", &a, 150, 5, 3, 40, 4, 3);
    a.p = 4;
    run("poly p=4", &a, 150, 5, 3, 40, 4, 3);
    a.fn = SUBQ_LEVATT_SOFTMAX;
    run("softmax", &a, 150, 5, 3, 40, 4, 3);
    a.scale = 3; /* large logits: the running max must keep exp finite */
    run("softmax x3", &a, 150, 5, 3, 40, 4, 3);
    a.scale = 0;
    run("softmax U=all", &a, 150, 5, 3, 40, 1, 0);
    /* several key blocks of 2048 and query blocks of 256 */
    run("softmax blocks", &a, 4500, 4, 2, 300, 3, 0);
    a.fn = SUBQ_LEVATT_POLY;
    a.p = 2;
    run("poly blocks", &a, 4500, 4, 2, 300, 3, 0);
  }
  /* bad input */
  double x = 1;
  int64_t Ub[2] = {1, 1};
  a.p = 0;
  CHECK_ERR(subq_levatt_attend(&a, 1, 1, 1, &x, 0, 1, &x, &x, NULL, &x, NULL), SUBQ_ERR_ARG, "p must be >= 1");
  a.p = 2;
  CHECK_ERR(subq_levatt_attend_sharded(MPI_COMM_WORLD, &a, 1, 1, 1, &x, 0, 1, &x, &x, 0, 2, Ub, &x, NULL),
            SUBQ_ERR_ARG, "sorted");
  CHECK_FINISH();
}
