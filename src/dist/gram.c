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
    float *Gf = NULL;
    SUBQ_CALL(SUBQ_ZALLOC(Gf, d * d));
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, dd, m, 1.0f, subq_dmat_f32_(A), dd,
                0.0f, Gf, dd);
    for (size_t k = 0; k < d * d; k++) G[k] = Gf[k];
    subq_free(&Gf);
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
