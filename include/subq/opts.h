/* subq options: one table of option specs per job, values from an INI file section
 * ([job], read with inih) overridden by --name=value on the command line.
 * Unknown options and malformed values are errors that name the option (PETSc-style
 * options database, reduced to what a driver needs). */
#ifndef SUBQ_OPTS_H
#define SUBQ_OPTS_H

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  SUBQ_OPT_INT,    /* integer, with optional [min, max] */
  SUBQ_OPT_REAL,   /* double, with optional [min, max] */
  SUBQ_OPT_STRING, /* free text */
  SUBQ_OPT_CHOICE, /* one of "a|b|c" in .choices */
  SUBQ_OPT_FLAG,   /* boolean: --name, --name=1|0|true|false|yes|no */
  SUBQ_OPT_LIST    /* comma-separated integers, each in [min, max] */
} subq_opt_type_t;

/* One option.  def == NULL means "no default" (get returns not-set).  unit is printed in
 * --help ("seconds", "bits", "" when dimensionless).  min/max apply when min < max. */
typedef struct {
  const char *name;
  subq_opt_type_t type;
  const char *def;
  const char *unit;
  const char *help;
  const char *choices;
  double min, max;
} subq_opt_spec_t;

typedef struct subq_opts subq_opts_t;

/* Parse options for `job`: specs is terminated by an entry with name == NULL.
 * Sources in order: defaults, the file named by --config=FILE (section [job]; keys
 * outside any section or in [common] apply to all jobs), then --name=value arguments.
 * argv[0..argc) are the job's arguments (after the job name).  Every value is validated
 * against its spec.  --help is recorded (subq_opts_help_requested) and not an error.
 * Errors: SUBQ_ERR_ARG naming the option (unknown option, bad value, out of range,
 * positional argument), SUBQ_ERR_IO naming the config file. Not collective (pure). */
int subq_opts_parse(const subq_opt_spec_t *specs, const char *job, int argc, char **argv,
                    subq_opts_t **out);
void subq_opts_destroy(subq_opts_t **o);

int subq_opts_help_requested(const subq_opts_t *o);
/* Print "--name=<type>  help [unit] (default: ...)" for every spec. */
void subq_opts_print_help(FILE *f, const char *job, const char *summary,
                          const subq_opt_spec_t *specs);

/* 1 if the option has a value (default or given), else 0. */
int subq_opts_has(const subq_opts_t *o, const char *name);
/* Typed getters; the name must be in the specs (else SUBQ_ERR_INTERNAL).  An option
 * without value gives SUBQ_ERR_ARG "option --name is required". */
int subq_opts_int(const subq_opts_t *o, const char *name, long *v);
int subq_opts_real(const subq_opts_t *o, const char *name, double *v);
int subq_opts_string(const subq_opts_t *o, const char *name, const char **v);
int subq_opts_flag(const subq_opts_t *o, const char *name, int *v);
/* List: *n set to the count, vals filled up to cap entries; more than cap: SUBQ_ERR_ARG. */
int subq_opts_list(const subq_opts_t *o, const char *name, long *vals, int cap, int *n);

/* Iterate over all (name, value) pairs with a value, in spec order, for summary.json. */
int subq_opts_count(const subq_opts_t *o);
void subq_opts_item(const subq_opts_t *o, int i, const char **name, const char **value);

#ifdef __cplusplus
}
#endif
#endif
