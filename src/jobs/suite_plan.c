/* subq suite: the plan.  [sweep.<name>] sections of the config are expanded into entries
 * (the Cartesian product of the "|"-separated values, first key slowest, repeats
 * innermost), ${...} substituted, and every entry's options checked against its job.
 * docs/suite.md gives the format. */
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/suite.h"

typedef struct {
  suite_plan_t *p;
  int err;
  const char *cfg;
} ini_ctx_t;

static char *trim_(char *s) {
  while (*s == ' ' || *s == '\t') s++;
  char *e = s + strlen(s);
  while (e > s && (e[-1] == ' ' || e[-1] == '\t')) *--e = 0;
  return s;
}

static suite_sweep_t *find_sweep_(suite_plan_t *p, const char *name) {
  for (int i = 0; i < p->nsw; i++)
    if (!strcmp(p->sw[i].name, name)) return &p->sw[i];
  return NULL;
}

static int add_sweep_(suite_plan_t *p, const char *name, suite_sweep_t **out) {
  suite_sweep_t *s = realloc(p->sw, (size_t)(p->nsw + 1) * sizeof *s);
  SUBQ_CHECK(s, SUBQ_ERR_MEM, "out of memory");
  p->sw = s;
  s = &p->sw[p->nsw++];
  memset(s, 0, sizeof *s);
  snprintf(s->name, sizeof s->name, "%s", name);
  s->repeat = 1;
  *out = s;
  return 0;
}

/* Split "a | b | c" into trimmed values. */
static int add_axis_(suite_sweep_t *s, const char *key, const char *value, const char *cfg) {
  SUBQ_CHECK(s->nax < SUITE_MAX_AXES, SUBQ_ERR_ARG, "config '%s' [sweep.%s]: more than %d keys",
             cfg, s->name, SUITE_MAX_AXES);
  suite_axis_t *a = &s->ax[s->nax];
  char *copy = strdup(value);
  a->name = strdup(key);
  SUBQ_CHECK(copy && a->name, SUBQ_ERR_MEM, "out of memory");
  int n = 1;
  for (const char *c = value; *c; c++) n += *c == '|';
  a->vals = calloc((size_t)n, sizeof *a->vals);
  SUBQ_CHECK(a->vals, SUBQ_ERR_MEM, "out of memory");
  char *save = NULL;
  for (char *t = strtok_r(copy, "|", &save); t; t = strtok_r(NULL, "|", &save)) {
    char *v = trim_(t);
    if (!*v) continue;
    a->vals[a->nvals] = strdup(v);
    SUBQ_CHECK(a->vals[a->nvals], SUBQ_ERR_MEM, "out of memory");
    a->nvals++;
  }
  free(copy);
  s->nax++;
  SUBQ_CHECK(a->nvals > 0, SUBQ_ERR_ARG, "config '%s' [sweep.%s]: key '%s' has no value", cfg,
             s->name, key);
  return 0;
}

static int hint_(char *dst, size_t cap, const char *v, const char *cfg, const char *sec,
                 const char *key) {
  SUBQ_CHECK(strlen(v) < cap, SUBQ_ERR_ARG, "config '%s' [%s]: %s too long", cfg, sec, key);
  snprintf(dst, cap, "%s", v);
  return 0;
}

static int set_key_(ini_ctx_t *c, const char *section, const char *name, const char *value) {
  const char *sn = section + 6; /* after "sweep." */
  suite_sweep_t *s = find_sweep_(c->p, sn);
  if (!s) SUBQ_CALL(add_sweep_(c->p, sn, &s));
  if (!strcmp(name, "job")) return hint_(s->job, sizeof s->job, value, c->cfg, section, name);
  if (!strcmp(name, "repeat")) {
    char *end;
    long r = strtol(value, &end, 10);
    SUBQ_CHECK(*end == 0 && r >= 1 && r <= 1000, SUBQ_ERR_ARG,
               "config '%s' [%s]: repeat must be 1..1000, got '%s'", c->cfg, section, value);
    s->repeat = (int)r;
    return 0;
  }
  if (!strcmp(name, "plot.x")) return hint_(s->plot_x, sizeof s->plot_x, value, c->cfg, section, name);
  if (!strcmp(name, "plot.time")) return hint_(s->plot_time, sizeof s->plot_time, value, c->cfg, section, name);
  if (!strcmp(name, "plot.error")) return hint_(s->plot_error, sizeof s->plot_error, value, c->cfg, section, name);
  if (!strcmp(name, "plot.series")) return hint_(s->plot_series, sizeof s->plot_series, value, c->cfg, section, name);
  if (!strcmp(name, "plot.scaling")) {
    SUBQ_CHECK(!strcmp(value, "strong") || !strcmp(value, "weak"), SUBQ_ERR_ARG,
               "config '%s' [%s]: plot.scaling must be strong or weak, got '%s'", c->cfg, section, value);
    return hint_(s->plot_scaling, sizeof s->plot_scaling, value, c->cfg, section, name);
  }
  SUBQ_CHECK(strncmp(name, "plot.", 5) != 0, SUBQ_ERR_ARG,
             "config '%s' [%s]: unknown key '%s' (plot.x|time|error|series|scaling)", c->cfg, section, name);
  return add_axis_(s, name, value, c->cfg);
}

static int ini_handler_(void *user, const char *section, const char *name, const char *value) {
  ini_ctx_t *c = user;
  if (c->err || strncmp(section, "sweep.", 6) != 0) return !c->err;
  c->err = set_key_(c, section, name, value);
  return !c->err;
}

/* ---- expansion --------------------------------------------------------------------- */

/* Value of one factor of ${...}: integer, ranks, threads, or a variable of the entry. */
static int factor_(const char *f, const suite_entry_t *e, int ranks, int threads, long long *v,
                   const char *where) {
  char *end;
  if (!strcmp(f, "ranks")) return *v = ranks, 0;
  if (!strcmp(f, "threads")) return *v = threads, 0;
  *v = strtoll(f, &end, 10);
  if (*f && !*end) return 0;
  for (int i = 0; i < e->np; i++)
    if (!strncmp(e->name[i], "var.", 4) && !strcmp(e->name[i] + 4, f)) {
      *v = strtoll(e->val[i], &end, 10);
      SUBQ_CHECK(*e->val[i] && !*end, SUBQ_ERR_ARG, "%s: variable %s = '%s' is not an integer",
                 where, f, e->val[i]);
      return 0;
    }
  return SUBQ_FAIL(SUBQ_ERR_ARG, "%s: '%s' in ${...} is not an integer, ranks, threads or a var.* key",
                   where, f);
}

/* Substitute every ${a*b/c} in v (products and quotients, left to right). */
static int subst_(const char *v, const suite_entry_t *e, int ranks, int threads, char **out,
                  const char *where) {
  char buf[2048], expr[256];
  size_t o = 0;
  for (const char *c = v; *c;) {
    if (c[0] == '$' && c[1] == '{') {
      const char *close = strchr(c, '}');
      SUBQ_CHECK(close && (size_t)(close - c - 2) < sizeof expr, SUBQ_ERR_ARG,
                 "%s: unterminated or long ${...} in '%s'", where, v);
      memcpy(expr, c + 2, (size_t)(close - c - 2));
      expr[close - c - 2] = 0;
      long long acc = 1;
      char op = '*', *s = expr;
      while (*s) {
        size_t L = strcspn(s, "*/");
        char tok[128], nop = s[L];
        SUBQ_CHECK(L > 0 && L < sizeof tok, SUBQ_ERR_ARG, "%s: bad ${%s}", where, expr);
        memcpy(tok, s, L);
        tok[L] = 0;
        long long f;
        SUBQ_CALL(factor_(trim_(tok), e, ranks, threads, &f, where));
        if (op == '*') acc *= f;
        else {
          SUBQ_CHECK(f != 0, SUBQ_ERR_ARG, "%s: division by zero in ${%s}", where, expr);
          acc /= f;
        }
        op = nop;
        s += L + (nop ? 1 : 0);
      }
      o += (size_t)snprintf(buf + o, sizeof buf - o, "%lld", acc);
      c = close + 1;
    } else {
      buf[o++] = *c++;
    }
    SUBQ_CHECK(o < sizeof buf - 1, SUBQ_ERR_ARG, "%s: value too long", where);
  }
  buf[o] = 0;
  *out = strdup(buf);
  SUBQ_CHECK(*out, SUBQ_ERR_MEM, "out of memory");
  return 0;
}

static uint64_t fnv1a_(const char *s, uint64_t h) {
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
  return h;
}

static int add_entry_(suite_plan_t *p, int si, const int *idx, int rep, int ranks, int threads) {
  const suite_sweep_t *s = &p->sw[si];
  suite_entry_t *en = realloc(p->en, (size_t)(p->nen + 1) * sizeof *en);
  SUBQ_CHECK(en, SUBQ_ERR_MEM, "out of memory");
  p->en = en;
  suite_entry_t *e = &p->en[p->nen++];
  memset(e, 0, sizeof *e);
  e->sweep = si;
  e->rep = rep;
  e->name = calloc((size_t)s->nax + 1, sizeof(char *));
  e->val = calloc((size_t)s->nax + 1, sizeof(char *));
  SUBQ_CHECK(e->name && e->val, SUBQ_ERR_MEM, "out of memory");
  /* Variables first (they may be used by options), then options, in file order. */
  char where[256];
  for (int pass = 0; pass < 2; pass++)
    for (int a = 0; a < s->nax; a++) {
      int isvar = !strncmp(s->ax[a].name, "var.", 4);
      if (isvar != (pass == 0)) continue;
      snprintf(where, sizeof where, "[sweep.%s] %s", s->name, s->ax[a].name);
      e->name[e->np] = s->ax[a].name;
      SUBQ_CALL(subst_(s->ax[a].vals[idx[a]], e, ranks, threads, &e->val[e->np], where));
      e->np++;
    }
  size_t o = 0, ot = 0;
  e->params[0] = e->tmpl[0] = 0;
  for (int a = 0; a < s->nax; a++)
    ot += (size_t)snprintf(e->tmpl + ot, ot < sizeof e->tmpl ? sizeof e->tmpl - ot : 0, "%s%s=%s",
                           a ? ";" : "", s->ax[a].name, s->ax[a].vals[idx[a]]);
  SUBQ_CHECK(ot < sizeof e->tmpl, SUBQ_ERR_ARG, "[sweep.%s]: parameters too long", s->name);
  for (int i = 0; i < e->np; i++)
    o += (size_t)snprintf(e->params + o, o < sizeof e->params ? sizeof e->params - o : 0,
                          "%s%s=%s", i ? ";" : "", e->name[i], e->val[i]);
  SUBQ_CHECK(o < sizeof e->params, SUBQ_ERR_ARG, "[sweep.%s]: parameters too long", s->name);
  char r[32];
  snprintf(r, sizeof r, "#rep=%d", rep);
  uint64_t h = fnv1a_(r, fnv1a_(e->params, fnv1a_(s->job, 0xcbf29ce484222325ULL)));
  snprintf(e->key, sizeof e->key, "%s.np%dt%d.%08x", s->name, ranks, threads,
           (unsigned)(h ^ (h >> 32)));
  return 0;
}

/* Check an entry's options against its job (pure parse, nothing runs). */
static int check_entry_(const char *cfg, const suite_sweep_t *s, const suite_entry_t *e) {
  const subq_job_t *job = subq_job_find(s->job);
  SUBQ_CHECK(job && strcmp(s->job, "suite") != 0, SUBQ_ERR_ARG,
             "config '%s' [sweep.%s]: unknown job '%s'", cfg, s->name, s->job);
  char **argv = calloc((size_t)e->np + 1, sizeof *argv);
  SUBQ_CHECK(argv, SUBQ_ERR_MEM, "out of memory");
  int argc = 0, err = 0;
  size_t L = strlen(cfg) + 16;
  argv[argc] = malloc(L);
  if (argv[argc]) snprintf(argv[argc], L, "--config=%s", cfg), argc++;
  for (int i = 0; i < e->np && !err; i++) {
    if (!strncmp(e->name[i], "var.", 4)) continue;
    L = strlen(e->name[i]) + strlen(e->val[i]) + 4;
    if (!(argv[argc] = malloc(L))) err = SUBQ_FAIL(SUBQ_ERR_MEM, "out of memory");
    else snprintf(argv[argc++], L, "--%s=%s", e->name[i], e->val[i]);
  }
  if (!err) err = subq_job_check_args(job, argc, argv);
  if (err) err = subq_error_trace(err, __FILE__, __LINE__, __func__);
  for (int i = 0; i < argc; i++) free(argv[i]);
  free(argv);
  if (err) {
    char m[4096];
    snprintf(m, sizeof m, "%s", subq_error_message());
    return SUBQ_FAIL(err, "config '%s' [sweep.%s] entry %s: %s", cfg, s->name, e->params, m);
  }
  return 0;
}

static int expand_(const char *cfg, suite_plan_t *p, int si, int ranks, int threads) {
  const suite_sweep_t *s = &p->sw[si];
  int idx[SUITE_MAX_AXES] = {0};
  for (;;) {
    for (int r = 0; r < s->repeat; r++) {
      SUBQ_CALL(add_entry_(p, si, idx, r, ranks, threads));
      if (r == 0) SUBQ_CALL(check_entry_(cfg, s, &p->en[p->nen - 1]));
    }
    int a = s->nax - 1; /* odometer: last key fastest */
    while (a >= 0 && ++idx[a] == p->sw[si].ax[a].nvals) idx[a--] = 0;
    if (a < 0) break;
  }
  return 0;
}

int suite_plan_build(const char *cfg, const char *list, int ranks, int threads, suite_plan_t *p) {
  memset(p, 0, sizeof *p);
  ini_ctx_t c = {p, 0, cfg};
  FILE *f = fopen(cfg, "r");
  SUBQ_CHECK(f, SUBQ_ERR_IO, "config file '%s' cannot be opened", cfg);
  int line = ini_parse_file(f, ini_handler_, &c);
  fclose(f);
  if (c.err) return subq_error_trace(c.err, __FILE__, __LINE__, __func__);
  SUBQ_CHECK(line == 0, SUBQ_ERR_ARG, "config '%s': syntax error on line %d", cfg, line);
  for (int i = 0; i < p->nsw; i++)
    SUBQ_CHECK(p->sw[i].job[0], SUBQ_ERR_ARG, "config '%s' [sweep.%s]: no 'job = <job>' key", cfg,
               p->sw[i].name);
  /* The run list: sweeps by name, or jobs run once with their own section. */
  char *copy = strdup(list ? list : ""), *save = NULL;
  SUBQ_CHECK(copy, SUBQ_ERR_MEM, "out of memory");
  int err = 0, n = 0;
  int nsw0 = p->nsw;
  int *order = calloc((size_t)nsw0 + 64, sizeof *order);
  if (!order) err = SUBQ_FAIL(SUBQ_ERR_MEM, "out of memory");
  for (char *t = strtok_r(copy, ", ", &save); t && !err; t = strtok_r(NULL, ", ", &save)) {
    suite_sweep_t *s = find_sweep_(p, t);
    if (!s) {
      if (!subq_job_find(t) || !strcmp(t, "suite")) {
        err = SUBQ_FAIL(SUBQ_ERR_ARG, "option --jobs (config '%s'): '%s' is neither a [sweep.%s] "
                        "section nor a job", cfg, t, t);
        break;
      }
      if (!(err = add_sweep_(p, t, &s))) snprintf(s->job, sizeof s->job, "%s", t);
      int *o2 = realloc(order, (size_t)(p->nsw + 64) * sizeof *order);
      if (!o2) err = SUBQ_FAIL(SUBQ_ERR_MEM, "out of memory");
      else order = o2;
    }
    if (!err) order[n++] = (int)(s - p->sw);
  }
  free(copy);
  if (!err && n == 0) err = SUBQ_FAIL(SUBQ_ERR_ARG, "option --jobs: no job or sweep named in '%s'", list ? list : "");
  for (int i = 0; i < n && !err; i++) err = expand_(cfg, p, order[i], ranks, threads);
  free(order);
  return err ? subq_error_trace(err, __FILE__, __LINE__, __func__) : 0;
}

void suite_plan_free(suite_plan_t *p) {
  for (int i = 0; i < p->nen; i++) {
    for (int k = 0; k < p->en[i].np; k++) free(p->en[i].val[k]);
    free(p->en[i].name);
    free(p->en[i].val);
  }
  for (int i = 0; i < p->nsw; i++)
    for (int a = 0; a < p->sw[i].nax; a++) {
      for (int k = 0; k < p->sw[i].ax[a].nvals; k++) free(p->sw[i].ax[a].vals[k]);
      free(p->sw[i].ax[a].vals);
      free(p->sw[i].ax[a].name);
    }
  free(p->sw);
  free(p->en);
  memset(p, 0, sizeof *p);
}
