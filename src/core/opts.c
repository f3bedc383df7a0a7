/* Options: defaults, then an INI file section [job] (inih), then --name=value. */
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "subq/core.h"
#include "subq/opts.h"

#define SUBQ_OPT_MAX 128

struct subq_opts {
  const subq_opt_spec_t *specs;
  int n;
  char *val[SUBQ_OPT_MAX];     /* current value or NULL */
  const char *src[SUBQ_OPT_MAX]; /* where the value came from, for messages */
  int help;
  const char *job;
};

static int find_(const subq_opts_t *o, const char *name) {
  for (int i = 0; i < o->n; i++)
    if (strcmp(o->specs[i].name, name) == 0) return i;
  return -1;
}

static const char *type_name_(subq_opt_type_t t) {
  switch (t) {
    case SUBQ_OPT_INT: return "int";
    case SUBQ_OPT_REAL: return "real";
    case SUBQ_OPT_STRING: return "text";
    case SUBQ_OPT_CHOICE: return "choice";
    case SUBQ_OPT_FLAG: return "flag";
    case SUBQ_OPT_LIST: return "list";
  }
  return "?";
}

static int parse_long_(const char *s, long *v) {
  char *end;
  errno = 0;
  long x = strtol(s, &end, 10);
  if (errno || end == s || *end) return 0;
  *v = x;
  return 1;
}

/* 1 and *v for a finite number (subnormal ones included: strtod flags them with ERANGE);
 * 0 for text that is not a number, overflows or is NaN/Inf; -1 for a nonzero number that
 * underflows to 0. */
static int parse_real_(const char *s, double *v) {
  char *end;
  errno = 0;
  double x = strtod(s, &end);
  if (end == s || *end || !isfinite(x)) return 0;
  if (errno == ERANGE && x == 0) return -1;
  if (errno && errno != ERANGE) return 0;
  *v = x;
  return 1;
}

static int parse_flag_(const char *s, int *v) {
  static const char *const yes[] = {"1", "true", "yes", "on"}, *const no[] = {"0", "false", "no", "off"};
  for (int i = 0; i < 4; i++) {
    if (strcmp(s, yes[i]) == 0) { *v = 1; return 1; }
    if (strcmp(s, no[i]) == 0) { *v = 0; return 1; }
  }
  return 0;
}

static int in_choices_(const char *choices, const char *s) {
  size_t L = strlen(s);
  const char *p = choices;
  while (p && *p) {
    const char *bar = strchr(p, '|');
    size_t m = bar ? (size_t)(bar - p) : strlen(p);
    if (m == L && strncmp(p, s, L) == 0) return 1;
    p = bar ? bar + 1 : NULL;
  }
  return 0;
}

static int ranged_(const subq_opt_spec_t *s) { return s->min < s->max; }

/* Validate value v of spec s; src says where it came from. */
static int validate_(const subq_opt_spec_t *s, const char *v, const char *src) {
  long l;
  double d;
  int f;
  switch (s->type) {
    case SUBQ_OPT_INT:
      SUBQ_CHECK(parse_long_(v, &l), SUBQ_ERR_ARG, "option --%s (%s): '%s' is not an integer",
                 s->name, src, v);
      SUBQ_CHECK(!ranged_(s) || (l >= s->min && l <= s->max), SUBQ_ERR_ARG,
                 "option --%s (%s): %ld is out of range [%g, %g]", s->name, src, l, s->min, s->max);
      break;
    case SUBQ_OPT_REAL: {
      const int pr = parse_real_(v, &d);
      SUBQ_CHECK(pr >= 0, SUBQ_ERR_ARG,
                 "option --%s (%s): '%s' underflows to 0 (smallest positive double 4.9e-324)",
                 s->name, src, v);
      SUBQ_CHECK(pr > 0, SUBQ_ERR_ARG, "option --%s (%s): '%s' is not a finite number",
                 s->name, src, v);
      SUBQ_CHECK(!ranged_(s) || (d >= s->min && d <= s->max), SUBQ_ERR_ARG,
                 "option --%s (%s): %g is out of range [%g, %g]", s->name, src, d, s->min, s->max);
      break;
    }
    case SUBQ_OPT_CHOICE:
      SUBQ_CHECK(in_choices_(s->choices, v), SUBQ_ERR_ARG,
                 "option --%s (%s): '%s' is not one of %s", s->name, src, v, s->choices);
      break;
    case SUBQ_OPT_FLAG:
      SUBQ_CHECK(parse_flag_(v, &f), SUBQ_ERR_ARG,
                 "option --%s (%s): '%s' is not a boolean (1|0|true|false|yes|no)", s->name, src, v);
      break;
    case SUBQ_OPT_LIST: {
      const char *p = v;
      SUBQ_CHECK(*p, SUBQ_ERR_ARG, "option --%s (%s): empty list", s->name, src);
      while (*p) {
        char item[64];
        const char *c = strchr(p, ',');
        size_t m = c ? (size_t)(c - p) : strlen(p);
        SUBQ_CHECK(m > 0 && m < sizeof item, SUBQ_ERR_ARG,
                   "option --%s (%s): malformed list '%s'", s->name, src, v);
        memcpy(item, p, m);
        item[m] = 0;
        SUBQ_CHECK(parse_long_(item, &l), SUBQ_ERR_ARG,
                   "option --%s (%s): list item '%s' is not an integer", s->name, src, item);
        SUBQ_CHECK(!ranged_(s) || (l >= s->min && l <= s->max), SUBQ_ERR_ARG,
                   "option --%s (%s): list item %ld is out of range [%g, %g]", s->name, src, l,
                   s->min, s->max);
        p = c ? c + 1 : p + m;
        SUBQ_CHECK(!(c && !*p), SUBQ_ERR_ARG, "option --%s (%s): trailing comma in '%s'",
                   s->name, src, v);
      }
      break;
    }
    case SUBQ_OPT_STRING:
      break;
  }
  return SUBQ_OK;
}

static int set_(subq_opts_t *o, const char *name, const char *v, const char *src) {
  int i = find_(o, name);
  SUBQ_CHECK(i >= 0, SUBQ_ERR_ARG, "unknown option --%s (%s) for '%s'; see '%s --help'", name,
             src, o->job, o->job);
  SUBQ_CALL(validate_(&o->specs[i], v, src));
  char *c = strdup(v);
  SUBQ_CHECK(c, SUBQ_ERR_MEM, "out of memory copying option --%s", name);
  free(o->val[i]);
  o->val[i] = c;
  o->src[i] = src;
  return SUBQ_OK;
}

typedef struct {
  subq_opts_t *o;
  const char *path;
  int err;
  char src[512];
} ini_ctx_t;

static int ini_handler_(void *user, const char *section, const char *name, const char *value) {
  ini_ctx_t *c = user;
  if (c->err) return 0;
  if (section[0] && strcmp(section, c->o->job) != 0 && strcmp(section, "common") != 0)
    return 1; /* another job's section */
  if (strcmp(name, "config") == 0) return 1;
  snprintf(c->src, sizeof c->src, "from %s [%s]", c->path, section[0] ? section : "top");
  /* A key in [common] or at top level that this job does not know is skipped here (another
   * job reads it; the driver checks that some job does: subq_job_check_config); a key in
   * the job's own section must be known. */
  if (strcmp(section, c->o->job) != 0 && find_(c->o, name) < 0) return 1;
  c->err = set_(c->o, name, value, c->src);
  return c->err ? 0 : 1;
}

int subq_opts_parse(const subq_opt_spec_t *specs, const char *job, int argc, char **argv,
                    subq_opts_t **out) {
  *out = NULL;
  subq_opts_t *o = calloc(1, sizeof *o);
  SUBQ_CHECK(o, SUBQ_ERR_MEM, "out of memory");
  o->specs = specs;
  o->job = job;
  while (specs[o->n].name) o->n++;
  int err = SUBQ_OK;
  if (o->n > SUBQ_OPT_MAX) {
    err = SUBQ_FAIL(SUBQ_ERR_INTERNAL, "too many options for %s", job);
    goto fail;
  }
  for (int i = 0; i < o->n && !err; i++)
    if (specs[i].def) err = set_(o, specs[i].name, specs[i].def, "default");
  if (err) goto fail;
  /* The config file first, so the command line overrides it. */
  for (int a = 0; a < argc; a++) {
    if (strncmp(argv[a], "--config=", 9) == 0) {
      static _Thread_local ini_ctx_t c;
      memset(&c, 0, sizeof c);
      c.o = o;
      c.path = argv[a] + 9;
      struct stat st;
      if (stat(c.path, &st) == 0 && S_ISDIR(st.st_mode)) {
        err = SUBQ_FAIL(SUBQ_ERR_IO, "config file '%s' is a directory", c.path);
        goto fail;
      }
      FILE *f = fopen(c.path, "r");
      if (!f) {
        err = SUBQ_FAIL(SUBQ_ERR_IO, "config file '%s' cannot be opened", c.path);
        goto fail;
      }
      errno = 0;
      int line = ini_parse_file(f, ini_handler_, &c);
      /* A read error (e.g. EISDIR for a directory) ends inih's loop like end-of-file. */
      int rerr = ferror(f) ? (errno ? errno : EIO) : 0;
      fclose(f);
      if (rerr) {
        err = SUBQ_FAIL(SUBQ_ERR_IO, "config file '%s' cannot be read: %s", c.path,
                        strerror(rerr));
        goto fail;
      }
      if (c.err) {
        err = subq_error_trace(c.err, __FILE__, __LINE__, __func__);
        goto fail;
      }
      if (line != 0) {
        err = SUBQ_FAIL(SUBQ_ERR_ARG, "config file '%s': syntax error at line %d", c.path, line);
        goto fail;
      }
      if (find_(o, "config") >= 0 && (err = set_(o, "config", c.path, "command line"))) goto fail;
    }
  }
  for (int a = 0; a < argc; a++) {
    const char *s = argv[a];
    if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
      o->help = 1;
      continue;
    }
    if (strncmp(s, "--config=", 9) == 0) continue;
    if (strncmp(s, "--", 2) != 0 || !s[2]) {
      err = SUBQ_FAIL(SUBQ_ERR_ARG, "unexpected argument '%s' for '%s' (options are --name=value)",
                      s, job);
      goto fail;
    }
    char name[128];
    const char *eq = strchr(s + 2, '=');
    size_t m = eq ? (size_t)(eq - s - 2) : strlen(s + 2);
    if (m >= sizeof name) {
      err = SUBQ_FAIL(SUBQ_ERR_ARG, "option name too long: '%s'", s);
      goto fail;
    }
    memcpy(name, s + 2, m);
    name[m] = 0;
    int i = find_(o, name);
    const char *val = eq ? eq + 1 : NULL;
    if (!val) {
      if (i >= 0 && specs[i].type == SUBQ_OPT_FLAG) {
        val = "1";
      } else {
        err = i < 0 ? set_(o, name, "", "command line")
                    : SUBQ_FAIL(SUBQ_ERR_ARG, "option --%s needs a value (--%s=...)", name, name);
        goto fail;
      }
    }
    if ((err = set_(o, name, val, "command line"))) goto fail;
  }
  *out = o;
  return SUBQ_OK;
fail:
  subq_opts_destroy(&o);
  return subq_error_trace(err, __FILE__, __LINE__, __func__);
}

void subq_opts_destroy(subq_opts_t **po) {
  if (!po || !*po) return;
  for (int i = 0; i < (*po)->n; i++) free((*po)->val[i]);
  free(*po);
  *po = NULL;
}

int subq_opts_help_requested(const subq_opts_t *o) { return o->help; }

void subq_opts_print_help(FILE *f, const char *job, const char *summary,
                          const subq_opt_spec_t *specs) {
  fprintf(f, "usage: subq %s [--config=FILE] [--name=value ...]\n\n%s\n\noptions:\n", job,
          summary ? summary : "");
  for (const subq_opt_spec_t *s = specs; s->name; s++) {
    char left[96];
    if (s->type == SUBQ_OPT_CHOICE)
      snprintf(left, sizeof left, "--%s=%s", s->name, s->choices);
    else if (s->type == SUBQ_OPT_FLAG)
      snprintf(left, sizeof left, "--%s", s->name);
    else
      snprintf(left, sizeof left, "--%s=<%s>", s->name, type_name_(s->type));
    fprintf(f, "  %-30s %s", left, s->help ? s->help : "");
    if (s->unit && s->unit[0]) fprintf(f, " [%s]", s->unit);
    if (ranged_(s)) fprintf(f, " (range %g..%g)", s->min, s->max);
    if (s->type == SUBQ_OPT_FLAG) {
      int on = 0;
      fprintf(f, " (default: %s)\n", s->def && parse_flag_(s->def, &on) && on ? "on" : "off");
    } else if (s->def) {
      fprintf(f, " (default: %s)\n", s->def[0] ? s->def : "\"\"");
    } else {
      fprintf(f, "%s\n", s->help && strstr(s->help, "default") ? "" : " (no default)");
    }
  }
}

static int idx_(const subq_opts_t *o, const char *name, int *i) {
  *i = find_(o, name);
  SUBQ_CHECK(*i >= 0, SUBQ_ERR_INTERNAL, "option --%s is not declared for '%s'", name, o->job);
  SUBQ_CHECK(o->val[*i], SUBQ_ERR_ARG, "option --%s is required for '%s'", name, o->job);
  return SUBQ_OK;
}

int subq_opts_has(const subq_opts_t *o, const char *name) {
  int i = find_(o, name);
  return i >= 0 && o->val[i] != NULL;
}

int subq_opts_int(const subq_opts_t *o, const char *name, long *v) {
  int i;
  SUBQ_CALL(idx_(o, name, &i));
  SUBQ_CHECK(o->specs[i].type == SUBQ_OPT_INT, SUBQ_ERR_INTERNAL, "option --%s is not an int", name);
  parse_long_(o->val[i], v);
  return SUBQ_OK;
}

int subq_opts_real(const subq_opts_t *o, const char *name, double *v) {
  int i;
  SUBQ_CALL(idx_(o, name, &i));
  SUBQ_CHECK(o->specs[i].type == SUBQ_OPT_REAL || o->specs[i].type == SUBQ_OPT_INT,
             SUBQ_ERR_INTERNAL, "option --%s is not a number", name);
  parse_real_(o->val[i], v);
  return SUBQ_OK;
}

int subq_opts_string(const subq_opts_t *o, const char *name, const char **v) {
  int i;
  SUBQ_CALL(idx_(o, name, &i));
  *v = o->val[i];
  return SUBQ_OK;
}

int subq_opts_flag(const subq_opts_t *o, const char *name, int *v) {
  int i;
  SUBQ_CALL(idx_(o, name, &i));
  SUBQ_CHECK(o->specs[i].type == SUBQ_OPT_FLAG, SUBQ_ERR_INTERNAL, "option --%s is not a flag", name);
  parse_flag_(o->val[i], v);
  return SUBQ_OK;
}

int subq_opts_list(const subq_opts_t *o, const char *name, long *vals, int cap, int *n) {
  int i;
  SUBQ_CALL(idx_(o, name, &i));
  SUBQ_CHECK(o->specs[i].type == SUBQ_OPT_LIST, SUBQ_ERR_INTERNAL, "option --%s is not a list", name);
  *n = 0;
  const char *p = o->val[i];
  while (*p) {
    char *end;
    long x = strtol(p, &end, 10);
    SUBQ_CHECK(*n < cap, SUBQ_ERR_ARG, "option --%s: at most %d values, got more: '%s'", name,
               cap, o->val[i]);
    vals[(*n)++] = x;
    p = *end == ',' ? end + 1 : end;
  }
  return SUBQ_OK;
}

int subq_opts_count(const subq_opts_t *o) { return o->n; }

void subq_opts_item(const subq_opts_t *o, int i, const char **name, const char **value) {
  *name = o->specs[i].name;
  *value = o->val[i];
}
