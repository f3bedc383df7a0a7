/* PETSc/SLEPc lifecycle: initialised lazily on top of MPI, finalised by subq_finalize
 * before MPI_Finalize; PETSc errors become SUBQ_ERR_* at the library boundary. */
#include <slepcsys.h>

#include "graph/graph_impl.h"

static int petsc_up_ = 0;

static void petsc_finalize_(void) {
  if (!petsc_up_) return;
  PetscPopErrorHandler();
  (void)SlepcFinalize();
  petsc_up_ = 0;
}

int subq_petsc_init(void) {
  if (petsc_up_) return SUBQ_OK;
  int init = 0;
  MPI_Initialized(&init);
  SUBQ_CHECK(init, SUBQ_ERR_MPI, "MPI must be initialised (subq_init) before PETSc");
  PetscBool pinit = PETSC_FALSE;
  (void)PetscInitialized(&pinit);
  /* no PETSc signal handlers inside a library: keep the host program's */
  if (!pinit && PetscOptionsSetValue(NULL, "-no_signal_handler", NULL))
    return SUBQ_FAIL(SUBQ_ERR_INTERNAL, "PetscOptionsSetValue(-no_signal_handler) failed");
  if (SlepcInitializeNoArguments())
    return SUBQ_FAIL(SUBQ_ERR_INTERNAL, "SlepcInitializeNoArguments failed");
  if (PetscPushErrorHandler(PetscReturnErrorHandler, NULL))
    return SUBQ_FAIL(SUBQ_ERR_INTERNAL, "PetscPushErrorHandler failed");
  petsc_up_ = 1;
  SUBQ_CALL(subq_atfinalize(petsc_finalize_));
  return SUBQ_OK;
}

int subq_petsc_error_(PetscErrorCode ierr, const char *file, int line, const char *func,
                      const char *what) {
  const char *text = NULL;
  (void)PetscErrorMessage(ierr, &text, NULL);
  int code = ierr == PETSC_ERR_MEM ? SUBQ_ERR_MEM
             : ierr == PETSC_ERR_FILE_OPEN || ierr == PETSC_ERR_FILE_WRITE ? SUBQ_ERR_IO
             : ierr == PETSC_ERR_MPI ? SUBQ_ERR_MPI
                                     : SUBQ_ERR_NUMERIC;
  return subq_error_set(code, file, line, func, "PETSc error %d (%s) in %s", (int)ierr,
                        text ? text : "?", what);
}
