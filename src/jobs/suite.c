/* subq suite: run the sweeps and jobs of a config file ([suite] jobs = ...) resumably.
 *
 * Results go to <results>/<study>/<run-id>/ (or --out): out/<key>/ holds each entry's job
 * output, done/<key>.json its record (written atomically after the job committed its
 * files), results.csv, summary.md and plots/ are regenerated from the records.  An entry
 * whose record exists is skipped, so a suite killed at any point and started again redoes
 * only the interrupted entry and never duplicates one.  docs/suite.md has the format. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "jobs/suite.h"

static const subq_opt_spec_t opts_[] = {
    {"jobs", SUBQ_OPT_STRING, NULL, "", "comma-separated sweeps ([sweep.<name>] sections) and jobs to run, in order (usually in [suite])", NULL, 0, 0},
    {"study", SUBQ_OPT_STRING, NULL, "", "study name (default: the config file name without .ini)", NULL, 0, 0},
    {"results", SUBQ_OPT_STRING, "results", "", "root directory: runs go to <results>/<study>/<run-id>/ unless --out is given", NULL, 0, 0},
    {"run-id", SUBQ_OPT_STRING, NULL, "", "run identifier; starting again with the same id resumes (default: host name)", NULL, 0, 0},
    {"report-only", SUBQ_OPT_FLAG, "0", "", "run nothing: regenerate results.csv, summary.md and plots from the records", NULL, 0, 0},
    {"plots", SUBQ_OPT_FLAG, "1", "", "PNG plots with gnuplot (skipped with a message when gnuplot is absent)", NULL, 0, 0},
    {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};

typedef struct {
  char dir[2048];
  const char *cfg, *study, *run_id;
  int ranks, threads, ranks_per_node, cores_per_node, oversub;
} run_t;

static void sanitize_(char *s) {
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          *s == '.' || *s == '_' || *s == '-'))
      *s = '_';
}

/* Ranks per node (max over nodes), cores of this node, and whether any node runs more
 * ranks x threads than it has cores.  Collective. */
static int node_info_(subq_job_ctx_t *ctx, run_t *r) {
  MPI_Comm node;
  SUBQ_MPI(MPI_Comm_split_type(ctx->comm, MPI_COMM_TYPE_SHARED, ctx->rank, MPI_INFO_NULL, &node));
  int local = 1;
  MPI_Comm_size(node, &local);
  MPI_Comm_free(&node);
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  int v[2] = {local, local * ctx->nthreads > cores}, m[2];
  subq_comm_control_begin();
  int e = MPI_Allreduce(v, m, 2, MPI_INT, MPI_MAX, ctx->comm);
  subq_comm_control_end();
  if (e != MPI_SUCCESS) return subq_error_mpi(e, __FILE__, __LINE__, __func__, "MPI_Allreduce");
  r->ranks_per_node = m[0];
  r->oversub = m[1];
  r->cores_per_node = (int)cores;
  return 0;
}

/* Remove leftovers of a killed attempt in dir: ".stage-*" directories (flat) and
 * "*.tmp.<pid>" files.  Rank 0. */
static void clean_(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  char p[4200], q[4600];
  while ((e = readdir(d))) {
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    if (!strncmp(e->d_name, ".stage-", 7)) {
      DIR *s = opendir(p);
      struct dirent *f;
      while (s && (f = readdir(s)))
        if (strcmp(f->d_name, ".") && strcmp(f->d_name, ".."))
          snprintf(q, sizeof q, "%s/%s", p, f->d_name), unlink(q);
      if (s) closedir(s);
      rmdir(p);
    } else if (strstr(e->d_name, ".tmp.")) {
      unlink(p);
    }
  }
  closedir(d);
}

static int exists_(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* Rank 0: the record done/<key>.json (atomic: temporary + fsync + rename). */
static int write_record_(const run_t *r, const suite_plan_t *p, const suite_entry_t *e,
                         const char *summary, double secs) {
  const suite_sweep_t *s = &p->sw[e->sweep];
  cJSON *o = cJSON_CreateObject(), *par = cJSON_CreateObject();
  cJSON *sum = summary ? cJSON_Parse(summary) : NULL;
  int err = 0;
  if (!o || !par || !sum) {
    cJSON_Delete(o), cJSON_Delete(par), cJSON_Delete(sum);
    return SUBQ_FAIL(SUBQ_ERR_MEM, "cannot build the record of %s", e->key);
  }
  cJSON_AddStringToObject(o, "key", e->key);
  cJSON_AddStringToObject(o, "study", r->study);
  cJSON_AddStringToObject(o, "run_id", r->run_id);
  cJSON_AddStringToObject(o, "sweep", s->name);
  cJSON_AddStringToObject(o, "job", s->job);
  cJSON_AddNumberToObject(o, "rep", e->rep);
  for (int i = 0; i < e->np; i++) cJSON_AddStringToObject(par, e->name[i], e->val[i]);
  cJSON_AddItemToObject(o, "params", par);
  cJSON_AddStringToObject(o, "params_text", e->params);
  cJSON_AddStringToObject(o, "params_template", e->tmpl);
  cJSON_AddNumberToObject(o, "ranks", r->ranks);
  cJSON_AddNumberToObject(o, "threads", r->threads);
  cJSON_AddNumberToObject(o, "ranks_per_node", r->ranks_per_node);
  cJSON_AddNumberToObject(o, "cores_per_node", r->cores_per_node);
  cJSON_AddNumberToObject(o, "oversubscribed", r->oversub);
  cJSON_AddNumberToObject(o, "entry_s", secs);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  cJSON_AddNumberToObject(o, "finished_unix", (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec);
  cJSON_AddItemToObject(o, "summary", sum);
  char *text = cJSON_Print(o), path[2400];
  cJSON_Delete(o);
  if (!text) return SUBQ_FAIL(SUBQ_ERR_MEM, "cannot print the record of %s", e->key);
  snprintf(path, sizeof path, "%s/done/%s.json", r->dir, e->key);
  err = subq_file_write_atomic(path, text, strlen(text));
  free(text);
  return err;
}

static void fmt_s_(double s, char *b, size_t n) {
  if (s < 0) snprintf(b, n, "?");
  else if (s < 120) snprintf(b, n, "%.0f s", s);
  else if (s < 7200) snprintf(b, n, "%.1f min", s / 60);
  else snprintf(b, n, "%.1f h", s / 3600);
}

/* One entry: the job's arguments, then subq_job_execute; rank 0 gets the summary text. */
static int run_entry_(subq_job_ctx_t *ctx, const run_t *r, const suite_plan_t *p,
                      const suite_entry_t *e, char **summary) {
  const suite_sweep_t *s = &p->sw[e->sweep];
  char **argv = calloc((size_t)e->np + 4, sizeof *argv);
  SUBQ_CHECK(argv, SUBQ_ERR_MEM, "out of memory");
  int argc = 0, err = 0;
  char a_cfg[2100], a_out[2400], a_seed[64], a_dev[32];
  snprintf(a_cfg, sizeof a_cfg, "--config=%s", r->cfg);
  snprintf(a_out, sizeof a_out, "--out=%s/out/%s", r->dir, e->key);
  snprintf(a_seed, sizeof a_seed, "--seed=%llu", (unsigned long long)ctx->seed);
  /* The device the suite resolved (auto has fallen back once, here, not per entry). */
  snprintf(a_dev, sizeof a_dev, "--device=%s", subq_device_name(ctx->device));
  argv[argc++] = a_cfg;
  argv[argc++] = a_out;
  argv[argc++] = a_seed; /* before the parameters: a swept seed overrides it */
  argv[argc++] = a_dev;  /* likewise a swept device */
  for (int i = 0; i < e->np && !err; i++) {
    if (!strncmp(e->name[i], "var.", 4)) continue;
    size_t L = strlen(e->name[i]) + strlen(e->val[i]) + 4;
    if (!(argv[argc] = malloc(L))) err = SUBQ_FAIL(SUBQ_ERR_MEM, "out of memory");
    else snprintf(argv[argc++], L, "--%s=%s", e->name[i], e->val[i]);
  }
  err = subq_error_agree(ctx->comm, err);
  if (!err) err = subq_job_execute(ctx->comm, subq_job_find(s->job), argc, argv, summary);
  for (int i = 4; i < argc; i++) free(argv[i]);
  free(argv);
  return err;
}

static int options_(subq_job_ctx_t *ctx, run_t *r, const char **list, int *report_only,
                    int *plots, char *study_buf, char *id_buf) {
  SUBQ_CHECK(subq_opts_has(ctx->opts, "config"), SUBQ_ERR_ARG,
             "suite needs --config=FILE (a [suite] section with jobs = ...)");
  SUBQ_CALL(subq_opts_string(ctx->opts, "config", &r->cfg));
  SUBQ_CALL(subq_opts_string(ctx->opts, "jobs", list));
  SUBQ_CALL(subq_opts_flag(ctx->opts, "report-only", report_only));
  SUBQ_CALL(subq_opts_flag(ctx->opts, "plots", plots));
  const char *root, *v;
  SUBQ_CALL(subq_opts_string(ctx->opts, "results", &root));
  if (subq_opts_has(ctx->opts, "study")) {
    SUBQ_CALL(subq_opts_string(ctx->opts, "study", &v));
    snprintf(study_buf, SUITE_NAME, "%s", v);
  } else {
    const char *b = strrchr(r->cfg, '/');
    snprintf(study_buf, SUITE_NAME, "%s", b ? b + 1 : r->cfg);
    char *dot = strrchr(study_buf, '.');
    if (dot && dot != study_buf) *dot = 0;
  }
  if (subq_opts_has(ctx->opts, "run-id")) {
    SUBQ_CALL(subq_opts_string(ctx->opts, "run-id", &v));
    snprintf(id_buf, SUITE_NAME, "%s", v);
  } else {
    /* Rank 0's host name, so every rank uses the same directory. */
    char h[SUITE_NAME] = "run";
    if (ctx->rank == 0 && gethostname(h, sizeof h - 1) != 0) snprintf(h, sizeof h, "run");
    h[sizeof h - 1] = 0;
    SUBQ_MPI(MPI_Bcast(h, (int)sizeof h, MPI_CHAR, 0, ctx->comm));
    snprintf(id_buf, SUITE_NAME, "%s", h);
  }
  sanitize_(study_buf);
  sanitize_(id_buf);
  r->study = study_buf;
  r->run_id = id_buf;
  if (subq_opts_has(ctx->opts, "out")) {
    SUBQ_CALL(subq_opts_string(ctx->opts, "out", &v));
    snprintf(r->dir, sizeof r->dir, "%s", v);
  } else {
    snprintf(r->dir, sizeof r->dir, "%s/%s/%s", root, study_buf, id_buf);
  }
  return 0;
}

static int run_(subq_job_ctx_t *ctx) {
  run_t r;
  memset(&r, 0, sizeof r);
  r.ranks = ctx->size;
  r.threads = ctx->nthreads;
  const char *list = NULL;
  int report_only = 0, plots = 1, err;
  char study[SUITE_NAME], id[SUITE_NAME];
  SUBQ_CALL(subq_error_agree(ctx->comm, options_(ctx, &r, &list, &report_only, &plots, study, id)));
  suite_plan_t plan;
  err = subq_error_agree(ctx->comm, suite_plan_build(r.cfg, list, r.ranks, r.threads, &plan));
  if (!err) err = subq_error_agree(ctx->comm, node_info_(ctx, &r));
  char path[2400];
  if (!err && ctx->rank == 0) {
    snprintf(path, sizeof path, "%s/done", r.dir);
    err = subq_mkdir_p(path);
    snprintf(path, sizeof path, "%s/out", r.dir);
    if (!err) err = subq_mkdir_p(path);
    if (!err) clean_(r.dir), snprintf(path, sizeof path, "%s/done", r.dir), clean_(path);
  }
  if (!err) err = subq_error_agree(ctx->comm, err);
  /* Which entries are done: rank 0 looks, everyone agrees. */
  char *done = NULL;
  if (!err) err = subq_error_agree(ctx->comm, SUBQ_ZALLOC(done, plan.nen + 1));
  int ndone = 0, todo = 0, k = 0;
  if (!err) {
    for (int i = 0; i < plan.nen && ctx->rank == 0; i++) {
      snprintf(path, sizeof path, "%s/done/%s.json", r.dir, plan.en[i].key);
      done[i] = (char)exists_(path);
    }
    subq_comm_control_begin();
    int m = MPI_Bcast(done, plan.nen, MPI_CHAR, 0, ctx->comm);
    subq_comm_control_end();
    if (m != MPI_SUCCESS) err = subq_error_mpi(m, __FILE__, __LINE__, __func__, "MPI_Bcast");
    for (int i = 0; i < plan.nen; i++) ndone += done[i];
    todo = report_only ? 0 : plan.nen - ndone;
  }
  if (!err && ctx->rank == 0)
    fprintf(stderr, "suite: %s: %d entries at %d ranks x %d threads%s, %d done before, %d to run\n",
            r.dir, plan.nen, r.ranks, r.threads, r.oversub ? " (oversubscribed)" : "", ndone, todo);
  const char *kill_env = getenv("SUBQ_SUITE_TEST_KILL_AFTER");
  int kill_after = kill_env ? atoi(kill_env) : 0;
  double t_all = subq_wtime(), busy = 0;
  for (int i = 0; i < plan.nen && !err && !report_only; i++) {
    if (done[i]) continue;
    const suite_entry_t *e = &plan.en[i];
    k++;
    if (ctx->rank == 0) {
      char el[32], eta[32];
      fmt_s_(subq_wtime() - t_all, el, sizeof el);
      fmt_s_(k > 1 ? busy / (k - 1) * (todo - k + 1) : -1, eta, sizeof eta);
      fprintf(stderr, "suite: [%d/%d] %s  %s %s  (elapsed %s, ETA %s)\n", k, todo, e->key,
              plan.sw[e->sweep].job, e->params, el, eta);
      snprintf(path, sizeof path, "%s/out/%s", r.dir, e->key);
      clean_(path);
    }
    double t = subq_wtime();
    char *sum = NULL;
    err = run_entry_(ctx, &r, &plan, e, &sum);
    t = subq_wtime() - t;
    busy += t;
    /* Test hook (docs/suite.md): die after the job committed its files, before the record. */
    if (!err && kill_after > 0 && k == kill_after && ctx->rank == 0) raise(SIGKILL);
    if (!err) err = subq_error_agree(ctx->comm, ctx->rank == 0 ? write_record_(&r, &plan, e, sum, t) : 0);
    if (!err) err = subq_error_agree(ctx->comm, ctx->rank == 0 ? suite_report(r.dir, &plan, r.study, r.run_id, 0) : 0);
    if (!err) subq_job_table(ctx, e->key, "ok  %.2f s", t);
    free(sum);
  }
  if (!err) err = subq_error_agree(ctx->comm, ctx->rank == 0 ? suite_report(r.dir, &plan, r.study, r.run_id, plots) : 0);
  if (!err) {
    subq_job_table(ctx, "entries", "%d (%d done before, %d run now)", plan.nen, ndone, k);
    subq_job_table(ctx, "results", "%s/results.csv, summary.md", r.dir);
  }
  free(done);
  suite_plan_free(&plan);
  return err;
}

const subq_job_t subq_job_suite = {
    "suite", "Run the sweeps and jobs of a config file ([suite] jobs = ...) resumably; CSV, summary.md, plots.",
    opts_, run_, 1};
