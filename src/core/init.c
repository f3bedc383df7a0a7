/* Library initialisation: MPI with MPI_THREAD_FUNNELED, log level from SUBQ_LOG. */
#include <stdlib.h>
#include <string.h>

#include "cuda/subq_cuda.h"
#include "subq/core.h"

#ifndef SUBQ_VERSION_STRING
#define SUBQ_VERSION_STRING "0.0.0"
#endif

static int we_init_ = 0;

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
  subq_cuda_release();
  int fin = 0;
  MPI_Finalized(&fin);
  if (we_init_ && !fin) MPI_Finalize();
  we_init_ = 0;
  return SUBQ_OK;
}
