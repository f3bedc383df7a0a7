/* subq suite internals: the plan (sweeps expanded into entries, src/jobs/suite_plan.c),
 * the run loop with resumable records (suite.c) and the report (CSV, summary.md, gnuplot
 * plots; suite_report.c).  docs/suite.md describes the config format and the files. */
#ifndef SUBQ_JOBS_SUITE_H
#define SUBQ_JOBS_SUITE_H

#include "jobs/job.h"

#define SUITE_MAX_AXES 32
#define SUITE_NAME 96

typedef struct {
  char *name;  /* job option, or "var.<name>" for a substitution variable */
  char **vals; /* the "|"-separated values, trimmed */
  int nvals;
} suite_axis_t;

typedef struct {
  char name[SUITE_NAME]; /* sweep name ([sweep.<name>]) or the job name for a plain entry */
  char job[SUITE_NAME];
  suite_axis_t ax[SUITE_MAX_AXES];
  int nax, repeat;
  /* Report hints (plot.* keys): summary fields and the series split. */
  char plot_x[SUITE_NAME], plot_time[SUITE_NAME], plot_error[SUITE_NAME];
  char plot_scaling[16], plot_series[256];
} suite_sweep_t;

typedef struct {
  int sweep, rep;
  int np;         /* parameters: job options then variables (names "var.x") */
  char **name, **val; /* values after ${...} substitution */
  char key[192];  /* <sweep>.np<P>t<T>.<hash>: unique per (sweep, parameters, rep, P, T) */
  char params[2048]; /* "k=v;k=v" (job options and variables), for records and the CSV */
  char tmpl[2048];   /* the same before ${...} substitution: one configuration across ranks */
} suite_entry_t;

typedef struct {
  suite_sweep_t *sw;
  int nsw;
  suite_entry_t *en;
  int nen;
} suite_plan_t;

/* Build the plan for the names in `list` (comma-separated: [sweep.<name>] sections of
 * cfg, or job names run once with their [job] section) for `ranks` x `threads`.  Every
 * entry's options are checked against its job's specs before anything runs.  Not
 * collective (every rank computes the same plan).  Errors: SUBQ_ERR_ARG naming the
 * section and key, SUBQ_ERR_IO (cfg), SUBQ_ERR_MEM. */
int suite_plan_build(const char *cfg, const char *list, int ranks, int threads, suite_plan_t *p);
void suite_plan_free(suite_plan_t *p);

/* Rank 0: regenerate results.csv, summary.md and (when gnuplot is on PATH and plots is
 * set) the PNG plots of run directory `dir` from its records dir/done/<key>.json.  The
 * plan supplies the plot hints of the sweeps it knows.  Errors: SUBQ_ERR_IO, SUBQ_ERR_MEM. */
int suite_report(const char *dir, const suite_plan_t *p, const char *study, const char *run_id,
                 int plots);

#endif
