/* subq dist: Gram matrix A^T A of a row-distributed matrix (local syrk + Allreduce). */
#include <cblas.h>
#include <string.h>

#include "dist_impl.h"
#include "subq/dist.h"

/* Local G = A_loc^T A_loc (full symmetric, float64). */
static int gram_local(const subq_dmat_t *A, double *G) {
  size_t d = A->d;
  int m = (int)A->nloc, dd = (int)d;
  memset(G, 0, d * d * sizeof(double));
  if (m == 0 || d == 0) return 0;
  if (A->dtype == SUBQ_F64) {
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, dd, m, 1.0, subq_dmat_f64_(A), dd, 0.0,
                G, dd);
  } else {
    /* float32 storage: convert row chunks to float64 and accumulate in float64. */
    const size_t chunk = 1024;
    double *X = NULL;
    SUBQ_CALL(SUBQ_ALLOC(X, (A->nloc < chunk ? A->nloc : chunk) * d));
    for (size_t i0 = 0; i0 < A->nloc; i0 += chunk) {
      size_t mc = A->nloc - i0 < chunk ? A->nloc - i0 : chunk;
      subq_dmat_rows_f64_(A, i0, mc, X);
      cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, dd, (int)mc, 1.0, X, dd, 1.0, G, dd);
    }
    subq_free(&X);
  }
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j < i; j++) G[i * d + j] = G[j * d + i];
  return 0;
}

int subq_dmat_gram(const subq_dmat_t *A, double *G) {
  SUBQ_CHECK(A != NULL && G != NULL, SUBQ_ERR_ARG, "NULL argument (A %p, G %p)",
             (const void *)A, (void *)G);
  SUBQ_CHECK(A->d <= 46340 && A->nloc <= INT_MAX, SUBQ_ERR_ARG,
             "Gram matrix: d = %zu (max 46340) or local rows %zu exceed int", A->d, A->nloc);
  SUBQ_AGREE(A->comm, gram_local(A, G));
  if (A->d > 0)
    SUBQ_MPI(MPI_Allreduce(MPI_IN_PLACE, G, (int)(A->d * A->d), MPI_DOUBLE, MPI_SUM, A->comm));
  return 0;
}
