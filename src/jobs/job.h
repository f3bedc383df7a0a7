/* The job interface used by the driver (apps/subq.c) and `subq suite`.  One file per job
 * in src/jobs/, each defining one `const subq_job_t subq_job_<name>` and listed in
 * src/jobs/registry.c.
 *
 * The driver parses the options (common options + the job's own), creates a private
 * staging directory for the job's files, calls run() on every rank, agrees on the result
 * over the communicator, and only on success moves the staged files into --out and writes
 * summary.json (common fields + what the job added to ctx->summary).  A failed or killed
 * job therefore leaves nothing half-written in --out. */
#ifndef SUBQ_JOBS_JOB_H
#define SUBQ_JOBS_JOB_H

#include <mpi.h>
#include <stdint.h>

#include "subq.h"

typedef struct subq_job_ctx {
  MPI_Comm comm;              /* the job's communicator (all ranks run the job) */
  int rank, size, nthreads;   /* nthreads = OpenMP threads per rank */
  const subq_opts_t *opts;    /* common + job options; read with subq_opts_* */
  const char *stage;          /* directory for output files (same on all ranks) */
  subq_json_t *summary;       /* rank 0: add the job's figures; NULL on other ranks */
  uint64_t seed;              /* --seed */
  subq_device_t device;       /* --device resolved on this rank (cuda: device bound) */
  /* Phase timing, filled with subq_job_phase(): names and max-over-ranks seconds. */
  int nphases;
  const char *phase_name[16];
  double phase_s[16];
  /* Short human table printed by rank 0 after the run: "key  value" lines. */
  char table[4096];
  /* --fault=RANK:PHASE (testing): rank fault_rank fails in the phase named fault_phase
   * (a phase recorded by subq_job_phase, or "start" / "commit"); -1 when not set. */
  int fault_rank;
  char fault_phase[32];
  const char *job;            /* the job's name, for progress lines */
  double t_start;             /* subq_wtime() when run() was called */
} subq_job_ctx_t;

typedef struct {
  const char *name;            /* subcommand, e.g. "levscores" */
  const char *summary;         /* one line for `subq --help` */
  const subq_opt_spec_t *opts; /* job-specific options, NULL-name terminated */
  int (*run)(subq_job_ctx_t *ctx); /* collective over ctx->comm; returns 0 or SUBQ_ERR_* */
  int no_output;               /* 1: the job writes no files (info, suite) */
} subq_job_t;

/* Registry (src/jobs/registry.c). */
const subq_job_t *subq_job_find(const char *name);
int subq_job_count(void);
const subq_job_t *subq_job_at(int i);

/* Collective: record a phase as the max over ranks of local seconds `t`.  Agrees on an
 * injected fault (--fault=RANK:NAME): every rank returns its error. */
int subq_job_phase(subq_job_ctx_t *ctx, const char *name, double t);
/* Progress with ETA on rank 0 (subq_progress: shown when stderr is a terminal or with
 * --progress), labelled "<job> <what>": done of total units of an outer loop or of a
 * job's steps, timed from t0 (subq_wtime(); ctx->t_start for a job's steps).  Not
 * collective; cheap (throttled to two lines a second). */
void subq_job_progress(const subq_job_ctx_t *ctx, const char *what, double done, double total,
                       double t0);
/* Append one "key  value" line to the human table (rank 0). */
void subq_job_table(subq_job_ctx_t *ctx, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Path of a file in the staging directory: snprintf into buf. Returns buf. */
const char *subq_job_path(const subq_job_ctx_t *ctx, const char *file, char *buf, size_t cap);

/* Run one job by name with argv (after the job name): parse options, stage, run, agree,
 * commit files, write summary.json, print the table.  Collective over comm.  Used by the
 * driver and by `subq suite`.  If summary_out is not NULL, rank 0 gets a copy of the
 * summary.json text (caller frees).  Returns the agreed error code. */
int subq_job_execute(MPI_Comm comm, const subq_job_t *job, int argc, char **argv,
                     char **summary_out);

/* Parse argv (after the job name) with the job's options, as subq_job_execute would, and
 * discard the result: checks a suite entry before anything runs.  Not collective.
 * Errors: as subq_opts_parse. */
int subq_job_check_args(const subq_job_t *job, int argc, char **argv);

/* Check every section and key of the config file at path: a section is [common], [suite],
 * [sweep.<name>] or a registered job; a key at top level or in [common] is an option of
 * at least one job; a key in [<job>] is an option of that job (or a common option).
 * Called by subq_job_execute and subq_job_check_args after the options were parsed (which
 * reports I/O and syntax errors).  Not collective (every rank reads the same file).
 * Errors: SUBQ_ERR_ARG naming the file, the section and the key. */
int subq_job_check_config(const char *path);

/* Collective: add the "comm" object (this job's counted communication d, max and sum
 * over ranks) to ctx->summary on rank 0 (src/jobs/job_comm.c).  Errors: SUBQ_ERR_MPI,
 * SUBQ_ERR_MEM. */
int subq_job_comm_summary(subq_job_ctx_t *ctx, const subq_comm_counters_t *d);

/* Common options every job accepts (config, out, seed, progress, device). */
extern const subq_opt_spec_t subq_job_common_opts[];

#endif
