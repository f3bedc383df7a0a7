/* subq suite: results.csv, summary.md and gnuplot plots of a run directory, regenerated
 * from the records done/<key>.json (so they never hold a duplicate or a partial entry). */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/suite.h"

typedef struct {
  cJSON **rec;
  int n;
  char **col;
  int ncol;
} table_t;

static int by_time_(const void *a, const void *b) {
  const cJSON *x = *(cJSON *const *)a, *y = *(cJSON *const *)b;
  double tx = cJSON_GetNumberValue(cJSON_GetObjectItem(x, "finished_unix"));
  double ty = cJSON_GetNumberValue(cJSON_GetObjectItem(y, "finished_unix"));
  if (tx != ty) return tx < ty ? -1 : 1;
  return strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(x, "key")),
                cJSON_GetStringValue(cJSON_GetObjectItem(y, "key")));
}

static char *slurp_(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = n >= 0 ? malloc((size_t)n + 1) : NULL;
  if (b && fread(b, 1, (size_t)n, f) != (size_t)n) free(b), b = NULL;
  if (b) b[n] = 0;
  fclose(f);
  return b;
}

static int load_(const char *dir, table_t *t) {
  char path[2600];
  snprintf(path, sizeof path, "%s/done", dir);
  DIR *d = opendir(path);
  SUBQ_CHECK(d, SUBQ_ERR_IO, "cannot read '%s'", path);
  struct dirent *e;
  int cap = 0, err = 0;
  while ((e = readdir(d)) && !err) {
    size_t L = strlen(e->d_name);
    if (L < 6 || strcmp(e->d_name + L - 5, ".json") != 0 || e->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "%s/done/%s", dir, e->d_name);
    char *txt = slurp_(path);
    cJSON *j = txt ? cJSON_Parse(txt) : NULL;
    free(txt);
    if (!j || !cJSON_GetObjectItem(j, "summary") || !cJSON_GetObjectItem(j, "key")) {
      cJSON_Delete(j);
      err = SUBQ_FAIL(SUBQ_ERR_FORMAT, "record '%s' is not a suite record", path);
      break;
    }
    if (t->n == cap) {
      cap = cap ? 2 * cap : 64;
      cJSON **r = realloc(t->rec, (size_t)cap * sizeof *r);
      if (!r) { cJSON_Delete(j); err = SUBQ_FAIL(SUBQ_ERR_MEM, "out of memory"); break; }
      t->rec = r;
    }
    t->rec[t->n++] = j;
  }
  closedir(d);
  if (t->n > 1) qsort(t->rec, (size_t)t->n, sizeof *t->rec, by_time_);
  return err;
}

static int add_col_(table_t *t, const char *name) {
  for (int i = 0; i < t->ncol; i++)
    if (!strcmp(t->col[i], name)) return 0;
  char **c = realloc(t->col, (size_t)(t->ncol + 1) * sizeof *c);
  SUBQ_CHECK(c, SUBQ_ERR_MEM, "out of memory");
  t->col = c;
  SUBQ_CHECK(t->col[t->ncol] = strdup(name), SUBQ_ERR_MEM, "out of memory");
  t->ncol++;
  return 0;
}

static const char *const fixed_[] = {"key", "sweep", "job", "rep", "ranks", "threads",
                                     "ranks_per_node", "oversubscribed", "params_text", "entry_s"};
static const char *const skip_[] = {"ranks", "threads", "seed"};

/* Columns: fixed, param.<name>, numeric summary fields, phase.<name>_s, comm.*, gflops. */
static int columns_(table_t *t) {
  for (size_t i = 0; i < sizeof fixed_ / sizeof *fixed_; i++) SUBQ_CALL(add_col_(t, fixed_[i]));
  char name[256];
  for (int r = 0; r < t->n; r++) {
    cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(t->rec[r], "params")) {
      snprintf(name, sizeof name, "param.%s", it->string);
      SUBQ_CALL(add_col_(t, name));
    }
  }
  for (int r = 0; r < t->n; r++) {
    cJSON *s = cJSON_GetObjectItem(t->rec[r], "summary"), *it;
    cJSON_ArrayForEach(it, s) {
      int skip = !cJSON_IsNumber(it);
      for (size_t k = 0; k < sizeof skip_ / sizeof *skip_; k++) skip |= !strcmp(it->string, skip_[k]);
      if (!skip) SUBQ_CALL(add_col_(t, it->string));
    }
    SUBQ_CALL(add_col_(t, "gflops"));
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(s, "phases_s")) {
      snprintf(name, sizeof name, "phase.%s_s", it->string);
      SUBQ_CALL(add_col_(t, name));
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(s, "comm")) {
      if (!cJSON_IsNumber(it)) continue;
      snprintf(name, sizeof name, "comm.%s", it->string);
      SUBQ_CALL(add_col_(t, name));
    }
  }
  return 0;
}

/* The value of column `c` of record `r`: a JSON item (string or number) or NULL. */
static const cJSON *cell_(const cJSON *r, const char *c) {
  const cJSON *s = cJSON_GetObjectItem(r, "summary");
  if (!strncmp(c, "param.", 6)) return cJSON_GetObjectItem(cJSON_GetObjectItem(r, "params"), c + 6);
  if (!strncmp(c, "comm.", 5)) return cJSON_GetObjectItem(cJSON_GetObjectItem(s, "comm"), c + 5);
  if (!strncmp(c, "phase.", 6)) {
    char p[256];
    snprintf(p, sizeof p, "%s", c + 6);
    size_t L = strlen(p);
    if (L > 2) p[L - 2] = 0; /* drop "_s" */
    return cJSON_GetObjectItem(cJSON_GetObjectItem(s, "phases_s"), p);
  }
  const cJSON *v = cJSON_GetObjectItem(r, c);
  return v ? v : cJSON_GetObjectItem(s, c);
}

/* Numeric value of column c (NAN when absent); gflops falls back to flops / time_s. */
static double num_(const cJSON *r, const char *c) {
  const cJSON *v = cell_(r, c);
  if (cJSON_IsNumber(v)) return v->valuedouble;
  if (cJSON_IsString(v)) {
    char *end;
    double x = strtod(v->valuestring, &end);
    if (*v->valuestring && !*end) return x;
  }
  if (!strcmp(c, "gflops")) {
    double f = num_(r, "flops"), t = num_(r, "time_s");
    if (f > 0 && t > 0) return f / t * 1e-9;
  }
  return NAN;
}

static void csv_field_(FILE *f, const cJSON *v, const cJSON *r, const char *c) {
  if (cJSON_IsString(v)) {
    fputc('"', f);
    for (const char *s = v->valuestring; *s; s++) {
      if (*s == '"') fputc('"', f);
      fputc(*s, f);
    }
    fputc('"', f);
  } else {
    double x = num_(r, c);
    if (!isnan(x)) fprintf(f, "%.10g", x);
  }
}

static int write_csv_(const char *dir, const table_t *t) {
  char path[2600];
  snprintf(path, sizeof path, "%s/results.csv", dir);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  SUBQ_CHECK(f, SUBQ_ERR_MEM, "out of memory");
  for (int c = 0; c < t->ncol; c++) fprintf(f, "%s%s", c ? "," : "", t->col[c]);
  fputc('\n', f);
  for (int r = 0; r < t->n; r++) {
    for (int c = 0; c < t->ncol; c++) {
      if (c) fputc(',', f);
      csv_field_(f, cell_(t->rec[r], t->col[c]), t->rec[r], t->col[c]);
    }
    fputc('\n', f);
  }
  fclose(f);
  int err = buf ? subq_file_write_atomic(path, buf, len) : SUBQ_FAIL(SUBQ_ERR_MEM, "out of memory");
  free(buf);
  return err;
}

/* ---- plots ------------------------------------------------------------------------- */

static const suite_sweep_t *sweep_of_(const suite_plan_t *p, const char *name) {
  for (int i = 0; p && i < p->nsw; i++)
    if (!strcmp(p->sw[i].name, name)) return &p->sw[i];
  return NULL;
}

static const char *time_field_(const suite_sweep_t *s) { return s->plot_time[0] ? s->plot_time : "wall_s"; }

/* Series label of a record: the plot.series parameters (and ranks when with_ranks). */
static void series_(const cJSON *r, const suite_sweep_t *s, int with_ranks, char *b, size_t n) {
  size_t o = 0;
  b[0] = 0;
  if (!with_ranks && !s->plot_series[0]) {
    /* Scaling: one line per configuration (the parameters before ${...}). */
    const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(r, "params_template"));
    o = (size_t)snprintf(b, n, "%s", t && *t ? t : s->job);
    if (o < n) snprintf(b + o, n - o, " %g thr", num_(r, "threads"));
    return;
  }
  char list[256];
  snprintf(list, sizeof list, "%s", s->plot_series);
  char *save = NULL;
  for (char *k = strtok_r(list, ", ", &save); k; k = strtok_r(NULL, ", ", &save)) {
    char c[300];
    snprintf(c, sizeof c, "param.%s", k);
    const cJSON *v = cell_(r, c);
    if (!v) v = cell_(r, k);
    if (cJSON_IsString(v)) o += (size_t)snprintf(b + o, o < n ? n - o : 0, "%s%s=%s", o ? " " : "", k, v->valuestring);
    else if (cJSON_IsNumber(v)) o += (size_t)snprintf(b + o, o < n ? n - o : 0, "%s%s=%g", o ? " " : "", k, v->valuedouble);
  }
  if (with_ranks && o < n)
    o += (size_t)snprintf(b + o, n - o, "%s%g ranks", o ? " " : "", num_(r, "ranks"));
  if (o < n) snprintf(b + o, n - o, "%s%g thr", o ? " " : "", num_(r, "threads"));
}

typedef struct { double x, y; int over, cnt; } pt_t;

static int by_x_(const void *a, const void *b) {
  double x = ((const pt_t *)a)->x, y = ((const pt_t *)b)->x;
  return x < y ? -1 : x > y;
}

/* One plot: x/y columns of the sweep's records, one line per series (means over repeats);
 * kind 0: plain, 1: strong scaling (ideal t0 x0/x), 2: weak scaling (ideal t0). */
static int plot_(const char *dir, const table_t *t, const suite_sweep_t *s, const char *xc,
                 const char *yc, int with_ranks, int kind, const char *file, const char *title,
                 int logx, int logy) {
  char dat[2800], gp[2800], lab[512], *labels[64];
  int ns = 0;
  pt_t *pts[64];
  int np[64] = {0};
  int anyover = 0;
  for (int r = 0; r < t->n; r++) {
    const cJSON *rec = t->rec[r];
    if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(rec, "sweep")), s->name)) continue;
    double x = num_(rec, xc), y = num_(rec, yc);
    if (isnan(x) || isnan(y)) continue;
    series_(rec, s, with_ranks, lab, sizeof lab);
    int k = 0;
    while (k < ns && strcmp(labels[k], lab)) k++;
    if (k == ns) {
      if (ns == 64) continue;
      labels[ns] = strdup(lab);
      pts[ns] = calloc((size_t)t->n, sizeof(pt_t));
      if (!labels[ns] || !pts[ns]) { free(labels[ns]); free(pts[ns]); continue; }
      ns++;
    }
    int over = num_(rec, "oversubscribed") > 0;
    anyover |= over;
    int i = 0;
    while (i < np[k] && pts[k][i].x != x) i++;
    if (i == np[k]) pts[k][np[k]++] = (pt_t){x, 0, 0, 0};
    pts[k][i].y += y, pts[k][i].cnt++, pts[k][i].over |= over;
  }
  if (ns == 0) return 0;
  snprintf(dat, sizeof dat, "%s/plots/%s.dat", dir, file);
  snprintf(gp, sizeof gp, "%s/plots/%s.gp", dir, file);
  FILE *f = fopen(dat, "w"), *g = f ? fopen(gp, "w") : NULL;
  if (!f || !g) {
    if (f) fclose(f);
    for (int k = 0; k < ns; k++) free(labels[k]), free(pts[k]);
    return SUBQ_FAIL(SUBQ_ERR_IO, "cannot write '%s' / '%s'", dat, gp);
  }
  /* Block 2k: the series (x, mean y, ideal, y if oversubscribed else NaN). */
  for (int k = 0; k < ns; k++) {
    qsort(pts[k], (size_t)np[k], sizeof(pt_t), by_x_);
    double x0 = pts[k][0].x, y0 = pts[k][0].y / pts[k][0].cnt;
    fprintf(f, "# %s\n", labels[k]);
    for (int i = 0; i < np[k]; i++) {
      double y = pts[k][i].y / pts[k][i].cnt;
      double ideal = kind == 1 ? y0 * x0 / pts[k][i].x : kind == 2 ? y0 : NAN;
      fprintf(f, "%.10g %.10g %.10g %s\n", pts[k][i].x, y, ideal, pts[k][i].over ? "1" : "0");
    }
    fprintf(f, "\n\n");
  }
  fclose(f);
  fprintf(g, "set terminal pngcairo size 900,600 noenhanced\nset output '%s/plots/%s.png'\n", dir, file);
  fprintf(g, "set title \"%s%s\"\n", title,
          anyover ? "\\nringed = oversubscribed (ranks x threads > cores): not speed" : "");
  fprintf(g, "set xlabel '%s'\nset ylabel '%s'\nset key outside right\nset grid\n", xc, yc);
  if (logx) fprintf(g, "set logscale x 2\n");
  if (logy) fprintf(g, "set logscale y\n");
  fprintf(g, "plot ");
  for (int k = 0; k < ns; k++) {
    fprintf(g, "%s'%s' index %d using 1:2 with linespoints lc %d pt 7 title '%s'", k ? ", \\\n  " : "",
            dat, k, k + 1, labels[k]);
    fprintf(g, ", '%s' index %d using 1:($4 > 0 ? $2 : 1/0) with points lc %d pt 6 ps 2.5 notitle",
            dat, k, k + 1);
    if (kind)
      fprintf(g, ", '%s' index %d using 1:3 with lines lc %d dt 2 title 'ideal (%s)'", dat, k, k + 1,
              kind == 1 ? "t1 p1/p" : "t1");
  }
  fprintf(g, "\n");
  fclose(g);
  for (int k = 0; k < ns; k++) free(labels[k]), free(pts[k]);
  char cmd[3000];
  snprintf(cmd, sizeof cmd, "gnuplot '%s' 2>>'%s/plots/gnuplot.log'", gp, dir);
  if (system(cmd) != 0) fprintf(stderr, "suite: gnuplot failed on %s (see plots/gnuplot.log)\n", gp);
  return 0;
}

static int plots_(const char *dir, const table_t *t, const suite_plan_t *p, FILE *md) {
  if (system("command -v gnuplot > /dev/null 2>&1") != 0) {
    fprintf(stderr, "suite: gnuplot not found: plots skipped (apt-get install gnuplot-nox)\n");
    fprintf(md, "\nPlots skipped: gnuplot was not found.\n");
    return 0;
  }
  char path[2600], file[256], title[512];
  snprintf(path, sizeof path, "%s/plots", dir);
  SUBQ_CALL(subq_mkdir_p(path));
  fprintf(md, "\n## Plots\n\n");
  for (int i = 0; p && i < p->nsw; i++) {
    const suite_sweep_t *s = &p->sw[i];
    const char *tf = time_field_(s);
    if (s->plot_scaling[0]) {
      int strong = !strcmp(s->plot_scaling, "strong");
      snprintf(file, sizeof file, "%s-%s", s->name, s->plot_scaling);
      snprintf(title, sizeof title, "%s: %s scaling of %s (%s)", s->name, s->plot_scaling, tf, s->job);
      SUBQ_CALL(plot_(dir, t, s, "ranks", tf, 0, strong ? 1 : 2, file, title, 1, strong));
      fprintf(md, "- [%s](plots/%s.png)\n", title, file);
    }
    if (s->plot_x[0]) {
      snprintf(file, sizeof file, "%s-time-vs-%s", s->name, s->plot_x);
      snprintf(title, sizeof title, "%s: %s vs %s (%s)", s->name, tf, s->plot_x, s->job);
      SUBQ_CALL(plot_(dir, t, s, s->plot_x, tf, 1, 0, file, title, 1, 1));
      fprintf(md, "- [%s](plots/%s.png)\n", title, file);
    }
    if (s->plot_error[0]) {
      snprintf(file, sizeof file, "%s-error-vs-cost", s->name);
      snprintf(title, sizeof title, "%s: %s vs %s (%s)", s->name, s->plot_error, tf, s->job);
      SUBQ_CALL(plot_(dir, t, s, tf, s->plot_error, 1, 0, file, title, 0, 1));
      fprintf(md, "- [%s](plots/%s.png)\n", title, file);
    }
  }
  return 0;
}

/* ---- summary.md -------------------------------------------------------------------- */

/* " x |", or " x (field) |" when field is given; empty when x is NaN. */
static void md_num_(FILE *f, double x, const char *field) {
  if (isnan(x)) fprintf(f, " |");
  else if (field) fprintf(f, " %.4g (%s) |", x, field);
  else fprintf(f, " %.4g |", x);
}

static int write_md_(const char *dir, const table_t *t, const suite_plan_t *p, const char *study,
                     const char *run_id, int plots) {
  char path[2600];
  snprintf(path, sizeof path, "%s/summary.md", dir);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  SUBQ_CHECK(f, SUBQ_ERR_MEM, "out of memory");
  int over = 0;
  for (int r = 0; r < t->n; r++) over |= num_(t->rec[r], "oversubscribed") > 0;
  fprintf(f, "# Study %s, run %s\n\n%d entries (results.csv has every column; records in done/).\n",
          study, run_id, t->n);
  if (t->n)
    fprintf(f, "Cores per node: %g (rank 0's node); subq %s.\n",
            num_(t->rec[0], "cores_per_node"),
            cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(t->rec[0], "summary"), "subq_version")));
  if (over)
    fprintf(f, "\n**Rows marked 'over' ran oversubscribed (ranks x threads > cores per node): their "
               "times say nothing about speed; they are kept for correctness and communication "
               "volume.**\n");
  fprintf(f, "\n| sweep | job | parameters | ranks x threads | wall s | time s (field) | error (field) | "
             "GFLOP/s | comm bytes sent (max rank) | messages (max rank) | |\n"
             "|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (int r = 0; r < t->n; r++) {
    const cJSON *rec = t->rec[r];
    const char *sw = cJSON_GetStringValue(cJSON_GetObjectItem(rec, "sweep"));
    const suite_sweep_t *s = sweep_of_(p, sw);
    const char *tf = s ? time_field_(s) : "wall_s";
    const char *ef = s && s->plot_error[0] ? s->plot_error : NULL;
    fprintf(f, "| %s | %s | %s | %g x %g |", sw, cJSON_GetStringValue(cJSON_GetObjectItem(rec, "job")),
            cJSON_GetStringValue(cJSON_GetObjectItem(rec, "params_text")), num_(rec, "ranks"),
            num_(rec, "threads"));
    md_num_(f, num_(rec, "wall_s"), NULL);
    md_num_(f, num_(rec, tf), tf);
    if (ef) md_num_(f, num_(rec, ef), ef);
    else fprintf(f, " |");
    md_num_(f, num_(rec, "gflops"), NULL);
    md_num_(f, num_(rec, "comm.bytes_sent_max"), NULL);
    md_num_(f, num_(rec, "comm.messages_max"), NULL);
    fprintf(f, " %s |\n", num_(rec, "oversubscribed") > 0 ? "over" : "");
  }
  int err = plots ? plots_(dir, t, p, f) : 0;
  fclose(f);
  if (!err) err = buf ? subq_file_write_atomic(path, buf, len) : SUBQ_FAIL(SUBQ_ERR_MEM, "out of memory");
  free(buf);
  return err;
}

int suite_report(const char *dir, const suite_plan_t *p, const char *study, const char *run_id,
                 int plots) {
  table_t t = {0};
  int err = load_(dir, &t);
  if (!err) err = columns_(&t);
  if (!err) err = write_csv_(dir, &t);
  if (!err) err = write_md_(dir, &t, p, study, run_id, plots);
  for (int r = 0; r < t.n; r++) cJSON_Delete(t.rec[r]);
  for (int c = 0; c < t.ncol; c++) free(t.col[c]);
  free(t.rec);
  free(t.col);
  return err ? subq_error_trace(err, __FILE__, __LINE__, __func__) : 0;
}
