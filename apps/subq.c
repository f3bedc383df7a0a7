/* subq: the command-line driver.
 *
 *   subq <job> [--config=FILE] [--name=value ...]   run a job (CLI overrides the file)
 *   subq <job> --help                               every option: meaning, unit, default
 *   subq --help | --version
 *
 * Every rank runs the same job; errors are agreed over MPI_COMM_WORLD, so every rank prints
 * the message and exits non-zero, and no rank waits in a collective. */
#include <stdio.h>
#include <string.h>

#include "jobs/job.h"
#include "subq.h"

static void usage_(FILE *f) {
  fprintf(f,
          "usage: subq <job> [--config=FILE] [--name=value ...]\n"
          "       subq <job> --help\n"
          "       subq --version\n\njobs:\n");
  for (int i = 0; i < subq_job_count(); i++)
    fprintf(f, "  %-14s %s\n", subq_job_at(i)->name, subq_job_at(i)->summary);
  fprintf(f,
          "\nData specifications (--data=): fmnist:train[:N], fmnist:test[:N], digits, npy:PATH,\n"
          "idx:PATH, csv:PATH, synthetic:gauss:N,D[,seed], synthetic:illcond:N,D[,seed].\n"
          "Run under mpirun/srun for several ranks.  Docs: README.md and docs/.\n");
}

int main(int argc, char **argv) {
  if (subq_init(&argc, &argv)) {
    fprintf(stderr, "subq: error: %s\n", subq_error_message());
    return 1;
  }
  int rank = 0, rc = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    if (rank == 0) usage_(argc < 2 ? stderr : stdout);
    rc = argc < 2 ? 2 : 0;
  } else if (!strcmp(argv[1], "--version")) {
    if (rank == 0) printf("subq %s\n", subq_version());
  } else {
    const subq_job_t *job = subq_job_find(argv[1]);
    if (!job) {
      /* Same outcome on every rank: the arguments are the same. */
      fprintf(stderr, "subq: error: unknown job '%s'; 'subq --help' lists the jobs\n", argv[1]);
      rc = 2;
    } else if (subq_job_execute(MPI_COMM_WORLD, job, argc - 2, argv + 2, NULL)) {
      fprintf(stderr, "subq %s: error (rank %d): %s\n", job->name, rank, subq_error_message());
      rc = 1;
    }
  }
  subq_finalize();
  return rc;
}
