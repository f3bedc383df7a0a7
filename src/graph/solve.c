/* Laplacian solves L x = b with PETSc KSP: CG + AMG on the sparsifier L~, or CG on the
 * exact matrix-free L (MATSHELL over subq_laplacian_apply) preconditioned by AMG of L~. */
#include <math.h>
#include <petscksp.h>
#include <string.h>

#include "graph/graph_impl.h"

typedef struct {
  const subq_dmat_t *X;
  const subq_kernel_t *kernel;
  uint64_t evals;
  int err; /* first subq error inside MatMult */
} shell_t;

static PetscErrorCode shell_mult_(Mat A, Vec x, Vec y) {
  shell_t *c;
  const PetscScalar *px;
  PetscScalar *py;
  PetscFunctionBeginUser;
  PetscCall(MatShellGetContext(A, &c));
  PetscCall(VecGetArrayRead(x, &px));
  PetscCall(VecGetArray(y, &py));
  int e = subq_laplacian_apply(c->X, c->kernel, 1, px, py, NULL);
  PetscCall(VecRestoreArrayRead(x, &px));
  PetscCall(VecRestoreArray(y, &py));
  c->evals += (uint64_t)c->X->n * c->X->n;
  if (e && !c->err) c->err = e;
  PetscCheck(!e, PetscObjectComm((PetscObject)A), PETSC_ERR_LIB,
             "exact Laplacian product failed");
  PetscFunctionReturn(0);
}

static PetscErrorCode solve_(const subq_sparsifier_t *sp, shell_t *sc, subq_lsolve_mode_t mode,
                             const char *pctype, double rtol, int maxit, const double *b,
                             double *x, subq_lsolve_stats_t *st) {
  const subq_dmat_t *X = sp->X;
  const PetscInt nl = (PetscInt)X->nloc, n = (PetscInt)X->n;
  Mat A = sp->L, S = NULL;
  Vec vb, vx;
  KSP ksp;
  PC pc;
  MatNullSpace ns;
  KSPConvergedReason reason;
  PetscInt its;
  PetscFunctionBeginUser;
  if (mode == SUBQ_LSOLVE_PRECOND) {
    PetscCall(MatCreateShell(sp->comm, nl, nl, n, n, sc, &S));
    PetscCall(MatShellSetOperation(S, MATOP_MULT, (void (*)(void))shell_mult_));
    PetscCall(MatSetOption(S, MAT_SYMMETRIC, PETSC_TRUE));
    A = S;
  }
  PetscCall(MatNullSpaceCreate(sp->comm, PETSC_TRUE, 0, NULL, &ns));
  PetscCall(MatSetNullSpace(A, ns));
  PetscCall(MatSetNullSpace(sp->L, ns));
  PetscCall(MatSetNearNullSpace(sp->L, ns));
  PetscCall(MatCreateVecs(sp->L, &vx, &vb));
  PetscScalar *p;
  PetscCall(VecGetArray(vb, &p));
  for (PetscInt i = 0; i < nl; i++) p[i] = b[i];
  PetscCall(VecRestoreArray(vb, &p));
  PetscCall(MatNullSpaceRemove(ns, vb)); /* b ⟂ 1 */
  PetscCall(KSPCreate(sp->comm, &ksp));
  PetscCall(KSPSetOperators(ksp, A, sp->L));
  PetscCall(KSPSetType(ksp, KSPCG));
  PetscCall(KSPSetNormType(ksp, KSP_NORM_UNPRECONDITIONED));
  PetscCall(KSPSetTolerances(ksp, rtol, 1e-300, PETSC_DEFAULT, maxit));
  PetscCall(KSPGetPC(ksp, &pc));
  PetscCall(PCSetType(pc, pctype));
  /* smooth with L~, not with the exact operator: PCMG would otherwise run the finest
   * level's Chebyshev smoother on the MATSHELL (n^2 kernel evaluations per step, with
   * eigenvalue bounds estimated on L~: an indefinite preconditioner) */
  PetscCall(PCSetUseAmat(pc, PETSC_FALSE));
  if (strcmp(pctype, PCGAMG) == 0) {
    /* L~ is singular: GAMG's default coarse LU meets a zero pivot and the preconditioner
     * turns indefinite; a pseudo-inverse (SVD) on the small coarse grid is the PETSc
     * recommendation for singular systems.  A user value in the options wins. */
    PetscBool set = PETSC_FALSE;
    PetscCall(PetscOptionsHasName(NULL, "subq_", "-mg_coarse_pc_type", &set));
    if (!set) PetscCall(PetscOptionsSetValue(NULL, "-subq_mg_coarse_pc_type", "svd"));
  }
  PetscCall(KSPSetOptionsPrefix(ksp, "subq_"));
  PetscCall(KSPSetFromOptions(ksp));
  double t0 = MPI_Wtime();
  PetscCall(KSPSetUp(ksp));
  PetscCall(KSPSolve(ksp, vb, vx));
  double t = MPI_Wtime() - t0;
  PetscCall(KSPGetConvergedReason(ksp, &reason));
  PetscCall(KSPGetIterationNumber(ksp, &its));
  PetscCall(MatNullSpaceRemove(ns, vx));
  const PetscScalar *px;
  PetscCall(VecGetArrayRead(vx, &px));
  for (PetscInt i = 0; i < nl; i++) x[i] = px[i];
  PetscCall(VecRestoreArrayRead(vx, &px));
  st->iterations = (int)its;
  st->reason = (int)reason;
  st->time_s = t;
  PetscCall(KSPDestroy(&ksp));
  PetscCall(MatSetNearNullSpace(sp->L, NULL));
  PetscCall(MatSetNullSpace(sp->L, NULL));
  PetscCall(MatNullSpaceDestroy(&ns));
  PetscCall(VecDestroy(&vb));
  PetscCall(VecDestroy(&vx));
  if (S) PetscCall(MatDestroy(&S));
  PetscFunctionReturn(0);
}

int subq_laplacian_solve(const subq_sparsifier_t *sp, const subq_dmat_t *X,
                         const subq_kernel_t *kernel, subq_lsolve_mode_t mode, const char *pc,
                         double rtol, int maxit, const double *b, double *x,
                         subq_lsolve_stats_t *stats) {
  SUBQ_CHECK(sp && sp->ready, SUBQ_ERR_ARG, "sparsifier is not set up");
  SUBQ_CHECK(X == sp->X, SUBQ_ERR_ARG, "points X are not the sparsifier's points");
  SUBQ_CHECK(X->nloc == 0 || (b && x), SUBQ_ERR_ARG, "b or x is NULL");
  SUBQ_CHECK(rtol > 0 && rtol < 1, SUBQ_ERR_ARG, "relative tolerance must be in (0, 1), got %g", rtol);
  SUBQ_CHECK(maxit >= 1, SUBQ_ERR_ARG, "maximum iterations must be >= 1, got %d", maxit);
  SUBQ_CHECK(mode == SUBQ_LSOLVE_SPARSIFIER || mode == SUBQ_LSOLVE_PRECOND, SUBQ_ERR_ARG,
             "unknown solve mode %d", (int)mode);
  const char *pct = NULL;
  static const char *const pcs[][2] = {
      {"gamg", PCGAMG}, {"hypre", PCHYPRE}, {"jacobi", PCJACOBI}, {"none", PCNONE}};
  for (size_t i = 0; pc && i < 4; i++)
    if (strcmp(pc, pcs[i][0]) == 0) pct = pcs[i][1];
  SUBQ_CHECK(pct != NULL, SUBQ_ERR_ARG, "preconditioner must be gamg|hypre|jacobi|none, got '%s'",
             pc ? pc : "(null)");
  SUBQ_CHECK(sp->st.components == 1, SUBQ_ERR_NUMERIC,
             "the sparsifier has %zu connected components: increase the samples",
             sp->st.components);
  const size_t nl = X->nloc;
  double nb[2] = {0, 0};
  for (size_t i = 0; i < nl; i++) nb[0] += b[i], nb[1] += b[i] * b[i];
  SUBQ_MPI(MPI_Allreduce(MPI_IN_PLACE, nb, 2, MPI_DOUBLE, MPI_SUM, X->comm));
  const double mean = nb[0] / (double)X->n, bnorm2 = nb[1] - (double)X->n * mean * mean;
  SUBQ_CHECK(bnorm2 > 0, SUBQ_ERR_ARG, "right-hand side b is zero after removing its mean");
  shell_t sc = {X, kernel, 0, 0};
  subq_lsolve_stats_t st = {0, 0, 0, 0, 0};
  PetscErrorCode ierr = solve_(sp, &sc, mode, pct, rtol, maxit, b, x, &st);
  if (ierr && sc.err) return subq_error_trace(sc.err, __FILE__, __LINE__, __func__);
  SUBQ_PETSC(ierr);
  SUBQ_CHECK(st.reason > 0, SUBQ_ERR_NUMERIC,
             "PETSc KSP (CG + %s) did not converge: %s after %d iterations", pc,
             KSPConvergedReasons[st.reason], st.iterations);
  /* true residual on the exact L */
  double *r = NULL, rr = 0;
  int e = SUBQ_ALLOC(r, nl + 1);
  e = subq_error_agree(X->comm, e);
  if (!e) e = subq_laplacian_apply(X, kernel, 1, x, r, NULL);
  for (size_t i = 0; !e && i < nl; i++) rr += (r[i] - (b[i] - mean)) * (r[i] - (b[i] - mean));
  if (!e && MPI_Allreduce(MPI_IN_PLACE, &rr, 1, MPI_DOUBLE, MPI_SUM, X->comm) != MPI_SUCCESS)
    e = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce of the residual failed");
  subq_free(&r);
  SUBQ_CALL(e);
  st.true_rel_residual = sqrt(rr / bnorm2);
  st.matvec_evals = sc.evals;
  SUBQ_CALL(subq_time_max(X->comm, st.time_s, &st.time_s));
  if (stats) *stats = st;
  return SUBQ_OK;
}
