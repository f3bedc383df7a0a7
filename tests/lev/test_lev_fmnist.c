/* Exact leverage scores on Fashion-MNIST rows (fmnist:train:2000, 2000 x 784; K is
 * rank-deficient through pixels that are zero in every image) against an SVD of the
 * gathered matrix on rank 0 (tau_i = ||U_{i,1:r}||^2, dgesvd), each rank comparing its
 * own rows, so np = 1, 2, 3 agree with one reference; ridge scores by the gram method
 * against the closed form (K^T K + lambda I)^{-1} by dposv. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dist/fill.h"
#include "lev/lev_ref.h"
#include "subq/lev.h"

#include "lev_compare.h"

  /* Fashion-MNIST, 2000 x 784, rank-deficient (1000 rows under SUBQ_TEST_QUICK, the
   * sanitizer stage: the same code paths, a quarter of the reference SVD's work). */
  const char *fm = getenv("SUBQ_TEST_QUICK") ? "fmnist:train:1000" : "fmnist:train:2000";
  char ridge_label[64];
  snprintf(ridge_label, sizeof ridge_label, "%s ridge 0.5", fm);
  CHECK_OK(subq_dmat_load(MPI_COMM_WORLD, fm, SUBQ_F64, &A));
  if (A) {
    ref = malloc(A->n * sizeof(double));
    size_t r = reference(A, 0, ref);
    CHECK(r < A->d);
    CHECK(compare(A, SUBQ_LEV_QR, 0, ref, r, fm) <= 1e-9);
    /* Ridge on the same data vs the closed form (gram here; qr on the ill-conditioned
     * matrix below). */
    reference(A, 0.5, ref);
    CHECK(compare(A, SUBQ_LEV_GRAM, 0.5, ref, 0, ridge_label) <= 1e-9);
    free(ref);
    subq_dmat_destroy(&A);
  }

  CHECK_FINISH();
}
