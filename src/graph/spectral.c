/* Eigenvalues of the sparsifier's normalised Laplacian with SLEPc (Krylov-Schur). */
#include <math.h>
#include <slepceps.h>

#include "graph/graph_impl.h"

/* *bad = 1 + index of an isolated vertex (zero diagonal), else 0. */
static PetscErrorCode eigs_(const subq_sparsifier_t *sp, size_t k, int largest, double *lambda,
                            double *vecs, int *iters, PetscInt *bad, PetscInt *nconv_out) {
  Mat N;
  Vec dg, s, v0, xr;
  EPS eps;
  PetscReal dmin;
  PetscInt imin, nconv = 0, its = 0;
  const size_t nl = sp->X->nloc;
  PetscFunctionBeginUser;
  *bad = 0;
  PetscCall(MatCreateVecs(sp->L, &dg, NULL));
  PetscCall(MatGetDiagonal(sp->L, dg));
  PetscCall(VecMin(dg, &imin, &dmin));
  if (!(dmin > 0)) {
    *bad = imin + 1;
    PetscCall(VecDestroy(&dg));
    PetscFunctionReturn(0);
  }
  PetscCall(VecDuplicate(dg, &s));
  PetscCall(VecDuplicate(dg, &xr));
  PetscCall(VecCopy(dg, s));
  PetscCall(VecSqrtAbs(s));
  PetscCall(VecDuplicate(s, &v0)); /* D^{1/2} 1: the null vector of N */
  PetscCall(VecCopy(s, v0));
  PetscCall(VecNormalize(v0, NULL));
  PetscCall(VecReciprocal(s));
  PetscCall(MatDuplicate(sp->L, MAT_COPY_VALUES, &N));
  PetscCall(MatDiagonalScale(N, s, s));
  PetscCall(EPSCreate(sp->comm, &eps));
  PetscCall(EPSSetOperators(eps, N, NULL));
  PetscCall(EPSSetProblemType(eps, EPS_HEP));
  PetscCall(EPSSetType(eps, EPSKRYLOVSCHUR));
  PetscCall(EPSSetDimensions(eps, (PetscInt)k, PETSC_DEFAULT, PETSC_DEFAULT));
  PetscCall(EPSSetWhichEigenpairs(eps, largest ? EPS_LARGEST_REAL : EPS_SMALLEST_REAL));
  PetscCall(EPSSetTolerances(eps, 1e-10, 100000));
  if (!largest) PetscCall(EPSSetDeflationSpace(eps, 1, &v0));
  PetscCall(EPSSetOptionsPrefix(eps, "subq_"));
  PetscCall(EPSSetFromOptions(eps));
  PetscCall(EPSSolve(eps));
  PetscCall(EPSGetConverged(eps, &nconv));
  PetscCall(EPSGetIterationNumber(eps, &its));
  *nconv_out = nconv;
  for (PetscInt i = 0; i < (PetscInt)k && i < nconv; i++) {
    PetscScalar kr;
    PetscCall(EPSGetEigenpair(eps, i, &kr, NULL, xr, NULL));
    lambda[i] = PetscRealPart(kr);
    if (vecs) {
      PetscCall(VecPointwiseMult(xr, xr, s)); /* x = D^{-1/2} v */
      PetscCall(VecNormalize(xr, NULL));
      const PetscScalar *px;
      PetscCall(VecGetArrayRead(xr, &px));
      for (size_t r = 0; r < nl; r++) vecs[r * k + (size_t)i] = px[r];
      PetscCall(VecRestoreArrayRead(xr, &px));
    }
  }
  if (iters) *iters = (int)its;
  PetscCall(EPSDestroy(&eps));
  PetscCall(MatDestroy(&N));
  PetscCall(VecDestroy(&dg));
  PetscCall(VecDestroy(&s));
  PetscCall(VecDestroy(&v0));
  PetscCall(VecDestroy(&xr));
  PetscFunctionReturn(0);
}

int subq_sparsifier_normalized_eigs(const subq_sparsifier_t *sp, size_t k, int largest,
                                    double *lambda, double *vecs, int *iters) {
  SUBQ_CHECK(sp && sp->ready && lambda, SUBQ_ERR_ARG, "sparsifier is not set up or lambda is NULL");
  SUBQ_CHECK(k >= 1 && k + 1 < sp->X->n, SUBQ_ERR_ARG,
             "number of eigenvalues k must be in 1..n-2 = %zu, got %zu", sp->X->n - 2, k);
  PetscInt bad = 0, nconv = 0;
  subq_comm_counters_t s0;
  subq_sparsifier_petsc_begin_(&s0);
  PetscErrorCode ierr = eigs_(sp, k, largest, lambda, vecs, iters, &bad, &nconv);
  subq_sparsifier_petsc_end_(sp, &s0);
  SUBQ_PETSC(ierr);
  SUBQ_CHECK(bad == 0, SUBQ_ERR_NUMERIC,
             "vertex %ld is isolated in the sparsifier (no sampled edge): increase the samples",
             (long)bad - 1);
  SUBQ_CHECK(nconv >= (PetscInt)k, SUBQ_ERR_NUMERIC, "SLEPc converged %ld of %zu eigenpairs",
             (long)nconv, k);
  return SUBQ_OK;
}
