/* subq suite: run the jobs listed in a config file, each with its own [job] section, and
 * print one table.  Each job writes into <out>/<job>/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/job.h"

static const subq_opt_spec_t opts_[] = {
    {"jobs", SUBQ_OPT_STRING, NULL, "", "comma-separated jobs to run, in order (usually in [suite])", NULL, 0, 0},
    {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};

/* Split "a, b,c" in place into names; returns the count (at most cap). */
static int split_(char *s, char **names, int cap) {
  int n = 0;
  for (char *tok = strtok(s, ", "); tok && n < cap; tok = strtok(NULL, ", ")) names[n++] = tok;
  return n;
}

static int run_(subq_job_ctx_t *ctx) {
  const char *cfg = NULL, *list = NULL;
  SUBQ_CHECK(subq_opts_has(ctx->opts, "config"), SUBQ_ERR_ARG,
             "suite needs --config=FILE (a [suite] section with jobs = ...)");
  SUBQ_CALL(subq_opts_string(ctx->opts, "config", &cfg));
  SUBQ_CALL(subq_opts_string(ctx->opts, "jobs", &list));
  char *copy = strdup(list), *names[64];
  SUBQ_CHECK(copy, SUBQ_ERR_MEM, "out of memory");
  int n = split_(copy, names, 64);
  int err = n > 0 ? SUBQ_OK : SUBQ_FAIL(SUBQ_ERR_ARG, "option --jobs: no job named in '%s'", list);
  for (int i = 0; i < n && !err; i++)
    if (!subq_job_find(names[i]) || !strcmp(names[i], "suite"))
      err = SUBQ_FAIL(SUBQ_ERR_ARG, "option --jobs (config '%s'): unknown job '%s'", cfg, names[i]);
  /* ctx->stage is <out>/.stage-suite-*: the jobs write next to it, into <out>/<job>. */
  char out[2048];
  snprintf(out, sizeof out, "%s", ctx->stage);
  char *slash = strrchr(out, '/');
  if (slash) *slash = 0;
  for (int i = 0; i < n && !err; i++) {
    const subq_job_t *job = subq_job_find(names[i]);
    char a_cfg[2100], a_out[2200], a_seed[64], a_dev[32];
    snprintf(a_cfg, sizeof a_cfg, "--config=%s", cfg);
    snprintf(a_out, sizeof a_out, "--out=%s/%s", out, job->name);
    snprintf(a_seed, sizeof a_seed, "--seed=%llu", (unsigned long long)ctx->seed);
    /* The device the suite resolved (auto has already fallen back, once). */
    snprintf(a_dev, sizeof a_dev, "--device=%s", subq_device_name(ctx->device));
    char *argv[] = {a_cfg, a_out, a_seed, a_dev};
    if (ctx->rank == 0) printf("[%d/%d] %s\n", i + 1, n, job->name), fflush(stdout);
    double t = subq_wtime();
    char *sum = NULL;
    err = subq_job_execute(ctx->comm, job, 4, argv, &sum);
    t = subq_wtime() - t;
    if (!err) {
      subq_job_table(ctx, job->name, "ok  %.2f s  -> %s/%s", t, out, job->name);
      if (ctx->rank == 0) err = subq_json_num(ctx->summary, job->name, t);
    }
    free(sum);
  }
  free(copy);
  return err;
}

const subq_job_t subq_job_suite = {
    "suite", "Run every job listed in a config file ([suite] jobs = a, b, ...), each with its own [job] section.",
    opts_, run_, 0};
