/* Library initialisation: MPI with MPI_THREAD_FUNNELED, log level from SUBQ_LOG. */
#include <stdlib.h>
#include <string.h>

#include "cuda/subq_cuda.h"
#include "subq/core.h"

#ifndef SUBQ_VERSION_STRING
#define SUBQ_VERSION_STRING "0.0.0"
#endif

static int we_init_ = 0;

/* Finalizers registered by modules that initialise a library on top of MPI (PETSc/SLEPc),
 * run by subq_finalize in reverse order of registration, before MPI_Finalize. */
#define SUBQ_MAX_FINALIZERS 8
static void (*finalizers_[SUBQ_MAX_FINALIZERS])(void);
static int nfinalizers_ = 0;

int subq_atfinalize(void (*fn)(void)) {
  SUBQ_CHECK(fn != NULL, SUBQ_ERR_ARG, "finalizer is NULL");
  for (int i = 0; i < nfinalizers_; i++)
    if (finalizers_[i] == fn) return SUBQ_OK;
  SUBQ_CHECK(nfinalizers_ < SUBQ_MAX_FINALIZERS, SUBQ_ERR_INTERNAL,
             "more than %d finalizers registered", SUBQ_MAX_FINALIZERS);
  finalizers_[nfinalizers_++] = fn;
  return SUBQ_OK;
}

const char *subq_version(void) { return SUBQ_VERSION_STRING; }

int subq_init(int *argc, char ***argv) {
  int init = 0;
  MPI_Initialized(&init);
  if (!init) {
    int provided = 0;
    SUBQ_MPI(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided));
    we_init_ = 1;
  }
  const char *lv = getenv("SUBQ_LOG");
  if (lv) {
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
      if (strcmp(lv, names[i]) == 0) subq_log_set_level(i);
  }
  return SUBQ_OK;
}

int subq_finalize(void) {
  while (nfinalizers_ > 0) finalizers_[--nfinalizers_]();
  subq_cuda_release();
  int fin = 0;
  MPI_Finalized(&fin);
  if (we_init_ && !fin) MPI_Finalize();
  we_init_ = 0;
  return SUBQ_OK;
}
