/* Random-walk local clustering against brute force on a small graph of three clusters:
 * the reported conductance equals the conductance of the returned set computed here from
 * the dense kernel matrix, it is no worse than 1.5x that of the planted cluster, the
 * cluster is mostly the seed's planted cluster, and the result does not depend on the
 * rank count; bad seed vertex. */
#include "graph_test.h"

static double conductance_(const double *K, size_t n, const size_t *S, size_t s) {
  char *in = calloc(n, 1);
  for (size_t k = 0; k < s; k++) in[S[k]] = 1;
  double cut = 0, vol = 0, volV = 0;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) {
      if (i == j) continue;
      volV += K[i * n + j];
      if (in[i]) vol += K[i * n + j];
      if (in[i] && !in[j]) cut += K[i * n + j];
    }
  free(in);
  return cut / fmin(vol, volV - vol);
}

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  const size_t n = 90, d = 3, cap = 60;
  subq_kernel_t ker = {SUBQ_KERNEL_GAUSSIAN, 0.6};
  subq_dmat_t *X = kt_points(MPI_COMM_WORLD, n, d, 5), *Xs = kt_points(MPI_COMM_SELF, n, d, 5);
  double *A = kt_all_points(n, d, 5), *K = kt_dense_kernel(&ker, A, n, d);
  size_t planted[30], mem[60], mems[60];
  for (size_t k = 0; k < 30; k++) planted[k] = 3 * k;
  double phi0 = conductance_(K, n, planted, 30);
  subq_cluster_stats_t st, sts;
  for (int pass = 0; pass < 2; pass++) {
    subq_dmat_t *P = pass ? Xs : X;
    subq_kde_t *o = NULL;
    double deg[90];
    subq_kde_tree_t *T = gt_tree(P, ker, SUBQ_KDE_EXACT, 0, 0, 4, deg, &o);
    CHECK_OK(subq_local_cluster(T, P, &ker, deg, 0, 400, 3, 9, cap, pass ? mems : mem, pass ? &sts : &st));
    if (!pass)
      CHECK_ERR(subq_local_cluster(T, P, &ker, deg, n, 10, 3, 9, cap, mem, &st), SUBQ_ERR_ARG,
                "seed vertex 90 out of range");
    subq_kde_tree_destroy(&T);
    subq_kde_destroy(&o);
  }
  size_t pure = 0;
  for (size_t k = 0; k < st.size; k++) pure += mem[k] % 3 == 0;
  double phi = conductance_(K, n, mem, st.size);
  if (rank == 0)
    printf("cluster of %zu (support %zu): conductance %.4f (brute force %.4f, planted %.4f), "
           "purity %.3f\n", st.size, st.support, st.conductance, phi, phi0,
           (double)pure / (double)st.size);
  CHECK_CLOSE(st.conductance, phi, 1e-10);
  CHECK(st.conductance <= 1.5 * phi0);
  CHECK(pure >= 0.8 * (double)st.size && st.size >= 10);
  CHECK(sts.size == st.size && fabs(sts.conductance - st.conductance) <= 1e-12);
  for (size_t k = 0; k < st.size && k < sts.size; k++) CHECK(mems[k] == mem[k]);
  free(A), free(K);
  subq_dmat_destroy(&X);
  subq_dmat_destroy(&Xs);
  CHECK_FINISH();
}
