/* Running a job: options, staging directory, collective error agreement, atomic commit of
 * the output files and summary.json, the human table on rank 0. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cuda/subq_cuda.h"
#include "jobs/job.h"

const subq_opt_spec_t subq_job_common_opts[] = {
    {"config", SUBQ_OPT_STRING, NULL, "", "INI file with a [job] section of options", NULL, 0, 0},
    {"out", SUBQ_OPT_STRING, NULL, "", "output directory (default out/<job>)", NULL, 0, 0},
    {"seed", SUBQ_OPT_INT, "42", "", "seed of the counter-based RNG", NULL, 0, 9.2e18},
    {"progress", SUBQ_OPT_FLAG, "0", "", "show progress with ETA even when stderr is not a terminal", NULL, 0, 0},
    {"device", SUBQ_OPT_CHOICE, "cpu", "", "where hot paths run: cuda binds device (local rank mod count); auto falls back to cpu with a notice", "cpu|cuda|auto", 0, 0},
    {"fault", SUBQ_OPT_STRING, NULL, "",
     "testing: RANK:PHASE makes that rank fail in that phase (a phase of summary.json "
     "phases_s, or start|commit)", NULL, 0, 0},
    {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};

/* The jobs whose hot paths run on --device=cuda (docs/gpu.md); the others run on the cpu
 * after a notice.  A job that gains a CUDA path adds its name here. */
static int has_cuda_path_(const subq_job_t *job) {
  static const char *const names[] = {"levscores", "polysketch", "polarquant", "kde",
                                      "levattn",   "suite",      "info"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (!strcmp(job->name, names[i])) return 1;
  return 0;
}

/* The injected fault of --fault on this rank in phase `name` (0 when none). */
static int fault_(const subq_job_ctx_t *ctx, const char *name) {
  if (ctx->fault_rank != ctx->rank || strcmp(ctx->fault_phase, name) != 0) return SUBQ_OK;
  return SUBQ_FAIL(SUBQ_ERR_INTERNAL, "injected fault in phase '%s' (--fault=%d:%s)", name,
                   ctx->fault_rank, name);
}

int subq_job_phase(subq_job_ctx_t *ctx, const char *name, double t) {
  double m;
  SUBQ_CALL(subq_time_max(ctx->comm, t, &m));
  SUBQ_CALL(subq_error_agree(ctx->comm, fault_(ctx, name)));
  if (ctx->nphases < 16) {
    ctx->phase_name[ctx->nphases] = name;
    ctx->phase_s[ctx->nphases++] = m;
  }
  return SUBQ_OK;
}

void subq_job_progress(const subq_job_ctx_t *ctx, const char *what, double done, double total,
                       double t0) {
  char label[160];
  snprintf(label, sizeof label, "%s %s", ctx->job ? ctx->job : "job", what);
  subq_progress(label, done, total, t0);
}

void subq_job_table(subq_job_ctx_t *ctx, const char *key, const char *fmt, ...) {
  size_t L = strlen(ctx->table);
  if (L + 1 >= sizeof ctx->table) return;
  int w = snprintf(ctx->table + L, sizeof ctx->table - L, "  %-24s ", key);
  if (w < 0) return;
  L += (size_t)w;
  if (L + 1 >= sizeof ctx->table) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ctx->table + L, sizeof ctx->table - L, fmt, ap);
  va_end(ap);
  L = strlen(ctx->table);
  if (L + 1 < sizeof ctx->table) strcat(ctx->table, "\n");
}

const char *subq_job_path(const subq_job_ctx_t *ctx, const char *file, char *buf, size_t cap) {
  snprintf(buf, cap, "%s/%s", ctx->stage, file);
  return buf;
}

/* Common + job specs in one NULL-terminated array (caller frees). */
static int merge_specs_(const subq_job_t *job, subq_opt_spec_t **out) {
  int a = 0, b = 0;
  while (subq_job_common_opts[a].name) a++;
  while (job->opts && job->opts[b].name) b++;
  subq_opt_spec_t *s;
  SUBQ_CALL(SUBQ_ZALLOC(s, a + b + 1));
  memcpy(s, subq_job_common_opts, (size_t)a * sizeof *s);
  if (b) memcpy(s + a, job->opts, (size_t)b * sizeof *s);
  *out = s;
  return SUBQ_OK;
}

/* subq_opts_parse, then the whole config file (subq_job_check_config) when one is given. */
static int parse_opts_(const subq_opt_spec_t *specs, const subq_job_t *job, int argc,
                       char **argv, subq_opts_t **o) {
  SUBQ_CALL(subq_opts_parse(specs, job->name, argc, argv, o));
  const char *cfg = NULL;
  int err = subq_opts_has(*o, "config") ? subq_opts_string(*o, "config", &cfg) : 0;
  if (!err && cfg) err = subq_job_check_config(cfg);
  if (err) subq_opts_destroy(o);
  return err ? subq_error_trace(err, __FILE__, __LINE__, __func__) : 0;
}

int subq_job_check_args(const subq_job_t *job, int argc, char **argv) {
  subq_opt_spec_t *specs = NULL;
  subq_opts_t *o = NULL;
  SUBQ_CALL(merge_specs_(job, &specs));
  int err = parse_opts_(specs, job, argc, argv, &o);
  subq_opts_destroy(&o);
  free(specs);
  return err ? subq_error_trace(err, __FILE__, __LINE__, __func__) : 0;
}

/* Remove the staging directory and everything in it (flat). */
static void remove_stage_(const char *stage) {
  DIR *d = opendir(stage);
  if (!d) return;
  struct dirent *e;
  char p[4096];
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(p, sizeof p, "%s/%s", stage, e->d_name);
    unlink(p);
  }
  closedir(d);
  rmdir(stage);
}

/* Names of the files directly inside dir, one per line (caller frees). */
static char *list_files_(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return NULL;
  size_t cap = 256, len = 0;
  char *s = malloc(cap);
  struct dirent *e;
  while (s && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    size_t m = strlen(e->d_name);
    if (len + m + 2 > cap) {
      char *t = realloc(s, cap = 2 * (len + m + 2));
      if (!t) { free(s); s = NULL; break; }
      s = t;
    }
    memcpy(s + len, e->d_name, m);
    len += m;
    s[len++] = '\n';
  }
  if (s) s[len] = 0;
  closedir(d);
  return s;
}

static int listed_(const char *list, const char *name) {
  size_t m = strlen(name);
  for (const char *p = list; p && *p;) {
    const char *nl = strchr(p, '\n');
    size_t L = nl ? (size_t)(nl - p) : strlen(p);
    if (L == m && !strncmp(p, name, m)) return 1;
    p = nl ? nl + 1 : p + L;
  }
  return 0;
}

/* Move every file of stage into out (rename: atomic per file), then remove stage.  The
 * old summary.json goes first and the new one comes last, so a summary.json in out means
 * that every file of that run is there: a commit cut short (or the injected fault `fault`,
 * after the first file) leaves out without summary.json, and a rerun replaces it.  Files
 * that the previous run of this job committed (out/.subq-<job>.files) and this run did not
 * write are removed, so --out never mixes two runs; other files in out are kept. */
static int commit_stage_(const char *stage, const char *out, const char *job, int fault) {
  char *fresh = list_files_(stage), *old = NULL, a[4096], b[4096], man[4096];
  SUBQ_CHECK(fresh, SUBQ_ERR_IO, "cannot read staging directory '%s'", stage);
  snprintf(man, sizeof man, "%s/.subq-%s.files", out, job);
  FILE *f = fopen(man, "r");
  if (f) {
    long L = (fseek(f, 0, SEEK_END) == 0) ? ftell(f) : -1;
    rewind(f);
    if (L >= 0 && (old = calloc(1, (size_t)L + 1)) && fread(old, 1, (size_t)L, f) != (size_t)L) old[0] = 0;
    fclose(f);
  }
  int err = SUBQ_OK, moved = 0;
  snprintf(b, sizeof b, "%s/summary.json", out);
  if (unlink(b) != 0 && errno != ENOENT) err = SUBQ_FAIL(SUBQ_ERR_IO, "cannot remove '%s'", b);
  for (const char *p = fresh; *p && !err;) {
    const char *nl = strchr(p, '\n');
    int L = (int)(nl - p);
    const char *next = nl + 1;
    if (L == 12 && !strncmp(p, "summary.json", 12)) { p = next; continue; }
    if (fault && moved) {
      err = SUBQ_FAIL(SUBQ_ERR_INTERNAL, "injected fault in phase 'commit' after %d file(s)", moved);
      break;
    }
    snprintf(a, sizeof a, "%s/%.*s", stage, L, p);
    snprintf(b, sizeof b, "%s/%.*s", out, L, p);
    if (rename(a, b) != 0) err = SUBQ_FAIL(SUBQ_ERR_IO, "cannot move '%s' to '%s'", a, b);
    moved++;
    p = next;
  }
  if (!err && fault) err = SUBQ_FAIL(SUBQ_ERR_INTERNAL, "injected fault in phase 'commit'");
  for (const char *p = old; p && *p && !err;) {
    const char *nl = strchr(p, '\n');
    size_t L = nl ? (size_t)(nl - p) : strlen(p);
    char name[1024];
    snprintf(name, sizeof name, "%.*s", (int)L, p);
    if (L && !strchr(name, '/') && !listed_(fresh, name)) {
      snprintf(b, sizeof b, "%s/%s", out, name);
      unlink(b);
    }
    p = nl ? nl + 1 : p + L;
  }
  if (!err) err = subq_file_write_atomic(man, fresh, strlen(fresh));
  if (!err) {
    snprintf(a, sizeof a, "%s/summary.json", stage);
    snprintf(b, sizeof b, "%s/summary.json", out);
    if (rename(a, b) != 0) err = SUBQ_FAIL(SUBQ_ERR_IO, "cannot move '%s' to '%s'", a, b);
  }
  if (!err) rmdir(stage);
  free(fresh);
  free(old);
  return err;
}

/* Remove staging directories of this job left in out by runs that were killed (their
 * process no longer exists on this host). */
static void remove_stale_stages_(const char *out, const char *job) {
  DIR *d = opendir(out);
  if (!d) return;
  char prefix[256], p[4096];
  snprintf(prefix, sizeof prefix, ".stage-%s-", job);
  size_t L = strlen(prefix);
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strncmp(e->d_name, prefix, L) != 0) continue;
    char *end;
    long pid = strtol(e->d_name + L, &end, 10);
    if (*end || pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH)) {
      snprintf(p, sizeof p, "%s/%s", out, e->d_name);
      remove_stage_(p);
    }
  }
  closedir(d);
}

static int summary_header_(subq_job_ctx_t *ctx, const subq_job_t *job) {
  subq_json_t *j = ctx->summary;
  SUBQ_CALL(subq_json_str(j, "job", job->name));
  SUBQ_CALL(subq_json_str(j, "subq_version", subq_version()));
  SUBQ_CALL(subq_json_int(j, "ranks", ctx->size));
  SUBQ_CALL(subq_json_int(j, "threads", ctx->nthreads));
  SUBQ_CALL(subq_json_int(j, "seed", (long long)ctx->seed));
  SUBQ_CALL(subq_json_str(j, "device", subq_device_name(ctx->device)));
  if (ctx->device == SUBQ_DEVICE_CUDA) {
    char name[256] = "";
    if (subq_cuda_device_name(subq_device_bound(), name, sizeof name) == SUBQ_OK)
      SUBQ_CALL(subq_json_str(j, "device_name_rank0", name));
  }
  SUBQ_CALL(subq_json_begin(j, "options"));
  for (int i = 0; i < subq_opts_count(ctx->opts); i++) {
    const char *n, *v;
    subq_opts_item(ctx->opts, i, &n, &v);
    if (v) SUBQ_CALL(subq_json_str(j, n, v));
  }
  SUBQ_CALL(subq_json_end(j));
  return SUBQ_OK;
}

static int summary_footer_(subq_job_ctx_t *ctx, double wall, double rss) {
  subq_json_t *j = ctx->summary;
  SUBQ_CALL(subq_json_begin(j, "phases_s"));
  for (int i = 0; i < ctx->nphases; i++) SUBQ_CALL(subq_json_num(j, ctx->phase_name[i], ctx->phase_s[i]));
  SUBQ_CALL(subq_json_end(j));
  SUBQ_CALL(subq_json_num(j, "wall_s", wall));
  SUBQ_CALL(subq_json_num(j, "peak_rss_bytes_max", rss));
  return SUBQ_OK;
}

/* Phase 1 (collective): options, output and staging directories. */
static int prepare_(MPI_Comm comm, const subq_job_t *job, int argc, char **argv,
                    subq_job_ctx_t *ctx, subq_opt_spec_t **specs, char *out, char *stage,
                    size_t cap) {
  int err = merge_specs_(job, specs);
  subq_opts_t *o = NULL;
  if (!err) err = parse_opts_(*specs, job, argc, argv, &o);
  ctx->opts = o;
  SUBQ_CALL(subq_error_agree(comm, err));
  if (subq_opts_help_requested(o)) return SUBQ_OK;
  long seed = 42;
  int prog = 0;
  SUBQ_CALL(subq_opts_int(o, "seed", &seed));
  SUBQ_CALL(subq_opts_flag(o, "progress", &prog));
  ctx->seed = (uint64_t)seed;
  if (prog) subq_progress_enable(1);
  ctx->fault_rank = -1;
  if (subq_opts_has(o, "fault")) {
    const char *f = NULL;
    SUBQ_CALL(subq_opts_string(o, "fault", &f));
    int n = 0;
    SUBQ_CHECK(sscanf(f, "%d:%31[a-z_0-9-]%n", &ctx->fault_rank, ctx->fault_phase, &n) == 2 &&
                   f[n] == 0 && ctx->fault_rank >= 0 && ctx->fault_rank < ctx->size,
               SUBQ_ERR_ARG, "option --fault: expected RANK:PHASE with RANK in 0..%d, got '%s'",
               ctx->size - 1, f);
  }
  /* --device: every rank resolves its own (local rank mod device count); the outcome is
   * agreed, so --device=cuda without a device is an error on every rank. */
  const char *dev = "cpu";
  int local = 0;
  SUBQ_CALL(subq_opts_string(o, "device", &dev));
  SUBQ_CALL(subq_device_local_rank(comm, &local));
  SUBQ_CALL(subq_error_agree(comm, subq_device_select(dev, local, &ctx->device)));
  if (job->no_output) return SUBQ_OK;
  const char *od = NULL;
  if (subq_opts_has(o, "out")) SUBQ_CALL(subq_opts_string(o, "out", &od));
  snprintf(out, cap, "%s", od ? od : "out");
  if (!od) snprintf(out + strlen(out), cap - strlen(out), "/%s", job->name);
  /* The staging name is chosen on rank 0 and shared, so all ranks write to one place. */
  long tag = (long)getpid();
  SUBQ_MPI(MPI_Bcast(&tag, 1, MPI_LONG, 0, comm));
  if ((size_t)snprintf(stage, cap, "%s/.stage-%s-%ld", out, job->name, tag) >= cap)
    return SUBQ_FAIL(SUBQ_ERR_ARG, "option --out: path too long (%zu bytes)", strlen(out));
  err = SUBQ_OK;
  if (ctx->rank == 0) {
    err = subq_mkdir_p(out);
    if (!err) remove_stale_stages_(out, job->name);
    if (!err && mkdir(stage, 0755) != 0) err = SUBQ_FAIL(SUBQ_ERR_IO, "cannot create '%s'", stage);
  }
  SUBQ_CALL(subq_error_agree(comm, err));
  ctx->stage = stage;
  return SUBQ_OK;
}

int subq_job_execute(MPI_Comm comm, const subq_job_t *job, int argc, char **argv,
                     char **summary_out) {
  /* On the heap: `suite` runs jobs from inside a job. */
  subq_error_clear(); /* a new job starts with no message left from an earlier one */
  subq_job_ctx_t *ctx = calloc(1, sizeof *ctx);
  SUBQ_CHECK(ctx, SUBQ_ERR_MEM, "out of memory");
  char out[2048] = "", stage[2048] = "";
  subq_opt_spec_t *specs = NULL;
  ctx->comm = comm;
  ctx->job = job->name;
  MPI_Comm_rank(comm, &ctx->rank);
  MPI_Comm_size(comm, &ctx->size);
  ctx->nthreads = omp_get_max_threads();
  if (summary_out) *summary_out = NULL;
  int err = prepare_(comm, job, argc, argv, ctx, &specs, out, stage, sizeof out);
  if (!err && subq_opts_help_requested(ctx->opts)) {
    if (ctx->rank == 0) subq_opts_print_help(stdout, job->name, job->summary, specs);
    goto done;
  }
  if (err) goto done;
  if (ctx->device == SUBQ_DEVICE_CUDA && !has_cuda_path_(job)) {
    subq_log(SUBQ_LOG_INFO, "subq %s: no CUDA path in this job yet: running on the cpu",
             job->name);
    ctx->device = SUBQ_DEVICE_CPU;
  }
  if (ctx->rank == 0) err = subq_json_create(&ctx->summary);
  if (!err && ctx->rank == 0) err = summary_header_(ctx, job);
  err = subq_error_agree(comm, err);
  if (err) goto done;
  subq_comm_counters_t c0, c1, dc;
  subq_comm_snapshot(&c0);
  double t0 = subq_wtime();
  ctx->t_start = t0;
  err = subq_error_agree(comm, fault_(ctx, "start")); /* control communication */
  if (!err) err = job->run(ctx);
  subq_comm_snapshot(&c1);
  subq_comm_diff(&c0, &c1, &dc);
  err = subq_error_agree(comm, err);
  double wall = subq_wtime() - t0, rss = (double)subq_peak_rss_bytes(), rssmax = rss;
  if (!err) err = subq_time_max(comm, wall, &wall);
  subq_comm_control_begin();
  if (!err && MPI_Allreduce(&rss, &rssmax, 1, MPI_DOUBLE, MPI_MAX, comm) != MPI_SUCCESS)
    err = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce of peak memory failed");
  subq_comm_control_end();
  if (!err && !job->no_output) err = subq_error_agree(comm, subq_job_comm_summary(ctx, &dc));
  if (!err && ctx->rank == 0) {
    err = summary_footer_(ctx, wall, rssmax);
    if (!err && !job->no_output) {
      char p[4096];
      err = subq_json_write(ctx->summary, subq_job_path(ctx, "summary.json", p, sizeof p));
      if (!err) err = commit_stage_(stage, out, job->name, ctx->fault_rank == 0 && !strcmp(ctx->fault_phase, "commit"));
    }
    if (!err && summary_out) *summary_out = strdup(subq_json_text(ctx->summary));
  }
  err = subq_error_agree(comm, err);
  if (!err && ctx->rank == 0) {
    printf("%s", ctx->table);
    if (!job->no_output) printf("  %-24s %s/summary.json\n", "results", out);
    fflush(stdout);
  }
done:
  if (err && ctx->rank == 0 && stage[0]) remove_stage_(stage);
  subq_json_destroy(&ctx->summary);
  subq_opts_destroy((subq_opts_t **)&ctx->opts);
  free(specs);
  free(ctx);
  return err;
}
