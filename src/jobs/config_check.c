/* Whole-file check of a config (--config=FILE): every section and key must mean something,
 * so a misspelled section or a [common] key that no job reads is an error, not a setting
 * silently ignored.  subq_opts_parse checks the keys of the running job's own section; this
 * file checks the rest against the job registry (src/jobs/registry.c). */
#include <ini.h>
#include <stdio.h>
#include <string.h>

#include "jobs/job.h"

static int in_specs_(const subq_opt_spec_t *s, const char *name) {
  for (; s && s->name; s++)
    if (!strcmp(s->name, name)) return 1;
  return 0;
}

/* 1 if name is a common option or an option of at least one registered job. */
static int any_job_option_(const char *name) {
  if (in_specs_(subq_job_common_opts, name)) return 1;
  for (int i = 0; i < subq_job_count(); i++)
    if (in_specs_(subq_job_at(i)->opts, name)) return 1;
  return 0;
}

typedef struct {
  const char *path;
  int err;
} check_ctx_t;

static int check_key_(check_ctx_t *c, const char *section, const char *name) {
  /* [sweep.<name>] sections belong to `subq suite` (src/jobs/suite_plan.c checks them). */
  if (!strncmp(section, "sweep.", 6) && section[6]) return SUBQ_OK;
  if (!section[0] || !strcmp(section, "common")) {
    SUBQ_CHECK(any_job_option_(name), SUBQ_ERR_ARG,
               "config file '%s' [%s]: unknown key '%s': it is not an option of any job "
               "(see 'subq <job> --help')", c->path, section[0] ? "common" : "top level", name);
    return SUBQ_OK;
  }
  const subq_job_t *job = subq_job_find(section);
  if (!job) {
    char names[1024] = "";
    size_t L = 0;
    for (int i = 0; i < subq_job_count() && L < sizeof names; i++)
      L += (size_t)snprintf(names + L, sizeof names - L, "%s%s", i ? ", " : "",
                            subq_job_at(i)->name);
    return SUBQ_FAIL(SUBQ_ERR_ARG,
                     "config file '%s': unknown section [%s] (key '%s'); a section is [common], "
                     "[sweep.<name>] or a job: %s", c->path, section, name, names);
  }
  SUBQ_CHECK(in_specs_(subq_job_common_opts, name) || in_specs_(job->opts, name), SUBQ_ERR_ARG,
             "config file '%s' [%s]: unknown key '%s' for job '%s' (see 'subq %s --help')",
             c->path, section, name, job->name, job->name);
  return SUBQ_OK;
}

static int handler_(void *user, const char *section, const char *name, const char *value) {
  (void)value;
  check_ctx_t *c = user;
  if (!c->err) c->err = check_key_(c, section, name);
  return !c->err;
}

int subq_job_check_config(const char *path) {
  check_ctx_t c = {path, 0};
  /* subq_opts_parse has opened and parsed this file already: I/O and syntax errors are
   * reported there, with their own messages. */
  FILE *f = fopen(path, "r");
  if (!f) return SUBQ_OK;
  ini_parse_file(f, handler_, &c);
  fclose(f);
  return c.err ? subq_error_trace(c.err, __FILE__, __LINE__, __func__) : SUBQ_OK;
}
