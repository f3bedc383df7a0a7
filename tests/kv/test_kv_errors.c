/* KV loader error cases on corrupt copies of the committed dump (a temporary directory
 * per case: meta.json rewritten with cJSON, arrays symlinked to the originals except the
 * one being corrupted): missing dir, missing meta.json, bad JSON, missing keys, wrong
 * shapes, bad GQA mapping, missing/truncated arrays, hash mismatch, NaN, a file truncated
 * after open, bad load arguments, and the collective --kv option helper failing on one
 * rank only.  Every case checks the error code and that the message names the file (or
 * option) and the problem.  Run at np = 1 and 2 (every rank checks every case). */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "common/test_util.h"
#include "jobs/kvopts.h"

static const char *layers_[] = {"0", "10", "20", "29"};
static char src_[4096], root_[4096];
static int rank_, size_;

static char *slurp_(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long L = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)L + 1);
  *n = fread(b, 1, (size_t)L, f);
  b[*n] = 0;
  fclose(f);
  return b;
}

static void spit_(const char *path, const void *b, size_t n) {
  FILE *f = fopen(path, "wb");
  if (f) fwrite(b, 1, n, f), fclose(f);
}

/* Rank 0: root_/name with symlinks to every original array and meta.json as the cJSON
 * tree `meta` prints (or the raw text when meta is NULL and text is given).  Returns the
 * case directory (all ranks) after a barrier. */
static const char *make_case_(const char *name, const cJSON *meta, const char *text,
                              char *dir, size_t cap) {
  snprintf(dir, cap, "%s/%s", root_, name);
  if (rank_ == 0) {
    mkdir(dir, 0700);
    char a[8192], b[8192];
    for (int l = 0; l < 4; l++)
      for (const char *w = "qkv"; *w; w++) {
        snprintf(a, sizeof a, "%s/%c_L%s.npy", src_, *w, layers_[l]);
        snprintf(b, sizeof b, "%s/%c_L%s.npy", dir, *w, layers_[l]);
        if (symlink(a, b) != 0) perror(b);
      }
    snprintf(b, sizeof b, "%s/meta.json", dir);
    if (meta) {
      char *t = cJSON_Print(meta);
      spit_(b, t, strlen(t));
      free(t);
    } else if (text) {
      spit_(b, text, strlen(text));
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);
  return dir;
}

/* Rank 0: replace the symlink dir/file by a real copy of the original, first `keep`
 * bytes (all when keep is 0), then apply flip: data[off] ^= 0xff (off 0: none) or write
 * `val` (2 bytes) at off when val is nonzero. */
static void copy_array_(const char *dir, const char *file, size_t keep, size_t off,
                        unsigned val) {
  if (rank_ == 0) {
    char a[8192], b[8192];
    size_t n;
    snprintf(a, sizeof a, "%s/%s", src_, file);
    snprintf(b, sizeof b, "%s/%s", dir, file);
    unsigned char *d = (unsigned char *)slurp_(a, &n);
    if (off && val) d[off] = (unsigned char)(val & 0xff), d[off + 1] = (unsigned char)(val >> 8);
    else if (off) d[off] ^= 0xff;
    unlink(b);
    spit_(b, d, keep ? keep : n);
    free(d);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

static void rm_tree_(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  char p[8192];
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    struct stat st;
    if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) rm_tree_(p);
    else unlink(p);
  }
  closedir(d);
  rmdir(dir);
}

/* subq_kv_open must fail with code and a message holding both needles. */
#define OPEN_FAILS(dir, verify, code, needle1, needle2)                              \
  do {                                                                               \
    subq_kv_t *kv_ = NULL;                                                           \
    CHECK_ERR(subq_kv_open((dir), (verify), &kv_), (code), (needle1));               \
    CHECK(strstr(subq_error_message(), (needle2)) != NULL);                          \
    CHECK(kv_ == NULL);                                                              \
    if (getenv("SUBQ_TEST_VERBOSE")) fprintf(stderr, "%s\n", subq_error_message()); \
  } while (0)

static cJSON *files_entry_(cJSON *meta, const char *name) {
  return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(meta, "files"), name);
}

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  subq_test_kv_dump_dir(src_, sizeof src_, ".");
  char absdir[PATH_MAX]; /* symlinks need an absolute target */
  if (realpath(src_, absdir)) snprintf(src_, sizeof src_, "%s", absdir);
  if (rank_ == 0) {
    const char *tmp = getenv("TMPDIR");
    snprintf(root_, sizeof root_, "%s/subq_kv_test_XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(root_)) perror(root_), root_[0] = 0;
  }
  MPI_Bcast(root_, sizeof root_, MPI_CHAR, 0, MPI_COMM_WORLD);
  if (!root_[0]) { CHECK(0); CHECK_FINISH(); }
  size_t mlen = 0;
  char mpath[8192], dir[8192];
  snprintf(mpath, sizeof mpath, "%s/meta.json", src_);
  char *mtext = slurp_(mpath, &mlen);
  CHECK(mtext != NULL);
  if (!mtext) CHECK_FINISH();
  cJSON *meta;

  /* Missing directory, missing meta.json, bad JSON. */
  snprintf(dir, sizeof dir, "%s/no_such_dump", root_);
  OPEN_FAILS(dir, 1, SUBQ_ERR_IO, "no_such_dump", "KV dump directory");
  make_case_("no_meta", NULL, NULL, dir, sizeof dir);
  OPEN_FAILS(dir, 1, SUBQ_ERR_IO, "no_meta/meta.json", "cannot open");
  char *half = strdup(mtext);
  half[mlen / 2] = 0;
  make_case_("bad_json", NULL, half, dir, sizeof dir);
  OPEN_FAILS(dir, 1, SUBQ_ERR_FORMAT, "bad_json/meta.json", "bad JSON");
  free(half);
  make_case_("not_object", NULL, "[1, 2, 3]", dir, sizeof dir);
  OPEN_FAILS(dir, 1, SUBQ_ERR_FORMAT, "not_object/meta.json", "not an object");

  /* Missing keys. */
  meta = cJSON_Parse(mtext);
  cJSON_DeleteItemFromObjectCaseSensitive(meta, "head_dim");
  make_case_("no_head_dim", meta, NULL, dir, sizeof dir);
  OPEN_FAILS(dir, 1, SUBQ_ERR_FORMAT, "no_head_dim/meta.json", "missing key \"head_dim\"");
  cJSON_Delete(meta);
  meta = cJSON_Parse(mtext);
  cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(meta, "files"), "v_L20");
  make_case_("no_v_L20", meta, NULL, dir, sizeof dir);
  OPEN_FAILS(dir, 1, SUBQ_ERR_FORMAT, "no_v_L20/meta.json", "\"v_L20\"");
  cJSON_Delete(meta);
  meta = cJSON_Parse(mtext);
  cJSON_DeleteItemFromObjectCaseSensitive(files_entry_(meta, "q_L29"), "sha256");
  make_case_("no_sha", meta, NULL, dir, sizeof dir);
  OPEN_FAILS(dir, 1, SUBQ_ERR_FORMAT, "no_sha/meta.json", "\"sha256\" in files.q_L29");
  cJSON_Delete(meta);

  /* Wrong shape in meta.json; meta consistent with itself but not with the arrays;
   * GQA head out of range; a path outside the dump. */
  meta = cJSON_Parse(mtext);
  cJSON_ReplaceItemInArray(cJSON_GetObjectItemCaseSensitive(files_entry_(meta, "k_L10"), "shape"),
                           1, cJSON_CreateNumber(2047));
  make_case_("bad_shape", meta, NULL, dir, sizeof dir);
  OPEN_FAILS(dir, 1, SUBQ_ERR_FORMAT, "bad_shape/meta.json", "files.k_L10.shape is [3, 2047, 64]");
  cJSON_Delete(meta);
  meta = cJSON_Parse(mtext);
  cJSON_ReplaceItemInObjectCaseSensitive(meta, "tokens", cJSON_CreateNumber(1024));
  cJSON *e;
  cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(meta, "files"))
    cJSON_ReplaceItemInArray(cJSON_GetObjectItemCaseSensitive(e, "shape"), 1, cJSON_CreateNumber(1024));
  make_case_("npy_shape", meta, NULL, dir, sizeof dir);
  OPEN_FAILS(dir, 0, SUBQ_ERR_FORMAT, "npy_shape/q_L0.npy", "does not match meta.json");
  cJSON_Delete(meta);
  meta = cJSON_Parse(mtext);
  cJSON_ReplaceItemInArray(cJSON_GetObjectItemCaseSensitive(meta, "gqa"), 8, cJSON_CreateNumber(3));
  make_case_("bad_gqa", meta, NULL, dir, sizeof dir);
  OPEN_FAILS(dir, 1, SUBQ_ERR_FORMAT, "bad_gqa/meta.json", "\"gqa\"[8]");
  cJSON_Delete(meta);
  meta = cJSON_Parse(mtext);
  cJSON_ReplaceItemInObjectCaseSensitive(files_entry_(meta, "q_L0"), "file",
                                         cJSON_CreateString("../no_meta/q_L0.npy"));
  make_case_("escape", meta, NULL, dir, sizeof dir);
  OPEN_FAILS(dir, 1, SUBQ_ERR_FORMAT, "escape/meta.json", "plain file name");
  cJSON_Delete(meta);

  /* Missing array, truncated array, flipped byte (hash), with and without verification. */
  make_case_("missing_npy", NULL, mtext, dir, sizeof dir);
  if (rank_ == 0) {
    char p[8400];
    snprintf(p, sizeof p, "%s/v_L20.npy", dir);
    unlink(p);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  OPEN_FAILS(dir, 1, SUBQ_ERR_IO, "missing_npy/v_L20.npy", "cannot open");
  OPEN_FAILS(dir, 0, SUBQ_ERR_IO, "missing_npy/v_L20.npy", "cannot open");
  make_case_("truncated", NULL, mtext, dir, sizeof dir);
  copy_array_(dir, "k_L29.npy", 786560 - 100, 0, 0);
  OPEN_FAILS(dir, 0, SUBQ_ERR_FORMAT, "truncated/k_L29.npy", "truncated");
  make_case_("flipped", NULL, mtext, dir, sizeof dir);
  copy_array_(dir, "q_L10.npy", 0, 100000, 0);
  OPEN_FAILS(dir, 1, SUBQ_ERR_FORMAT, "flipped/q_L10.npy", "sha256 mismatch");
  subq_kv_t *kv = NULL;
  CHECK_OK(subq_kv_open(dir, 0, &kv)); /* without verification the header is fine */
  subq_kv_close(&kv);

  /* A NaN (half 0x7e00) at v_L0 (head 1, token 5, dim 3): the open passes without hash
   * verification, loads touching it fail naming the file, others succeed. */
  make_case_("nan", NULL, mtext, dir, sizeof dir);
  copy_array_(dir, "v_L0.npy", 0, 128 + 2 * ((1 * 2048 + 5) * 64 + 3), 0x7e00);
  OPEN_FAILS(dir, 1, SUBQ_ERR_FORMAT, "nan/v_L0.npy", "sha256 mismatch");
  CHECK_OK(subq_kv_open(dir, 0, &kv));
  double buf[2048 * 64];
  float buff[64 * 64];
  if (kv) {
    CHECK_ERR(subq_kv_load(kv, 'v', 0, 1, 0, 10, buf), SUBQ_ERR_NUMERIC, "nan/v_L0.npy");
    CHECK_ERR(subq_kv_load_f32(kv, 'v', 0, 1, 5, 6, buff), SUBQ_ERR_NUMERIC, "non-finite");
    CHECK_OK(subq_kv_load(kv, 'v', 0, 1, 6, 2048, buf));
    CHECK_OK(subq_kv_load(kv, 'v', 0, 0, 0, 2048, buf));
    CHECK_OK(subq_kv_load(kv, 'v', 0, 2, 0, 5, buf));
  }
  subq_kv_close(&kv);

  /* An array truncated after the open: the load reports truncation naming the file. */
  make_case_("late_trunc", NULL, mtext, dir, sizeof dir);
  copy_array_(dir, "k_L0.npy", 0, 0, 0);
  CHECK_OK(subq_kv_open(dir, 1, &kv));
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank_ == 0) {
    char p[8400];
    snprintf(p, sizeof p, "%s/k_L0.npy", dir);
    CHECK(truncate(p, 786560 - 64 * 2 * 10) == 0);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (kv) {
    CHECK_ERR(subq_kv_load(kv, 'k', 0, 2, 2000, 2048, buf), SUBQ_ERR_FORMAT, "late_trunc/k_L0.npy");
    CHECK(strstr(subq_error_message(), "truncated") != NULL);
    CHECK_OK(subq_kv_load(kv, 'k', 0, 2, 0, 64, buf));
  }
  subq_kv_close(&kv);

  /* Bad load arguments on the good dump. */
  CHECK_OK(subq_kv_open(src_, 0, &kv));
  if (kv) {
    CHECK_ERR(subq_kv_load(kv, 'q', 5, 0, 0, 1, buf), SUBQ_ERR_ARG, "--layer=5 is not in KV dump");
    CHECK(strstr(subq_error_message(), "0, 10, 20, 29") != NULL);
    CHECK_ERR(subq_kv_load(kv, 'q', 0, 9, 0, 1, buf), SUBQ_ERR_ARG, "--head=9 out of range");
    CHECK_ERR(subq_kv_load(kv, 'k', 0, 3, 0, 1, buf), SUBQ_ERR_ARG, "KV heads: 0..2");
    CHECK_ERR(subq_kv_load(kv, 'v', 0, -1, 0, 1, buf), SUBQ_ERR_ARG, "--head=-1");
    CHECK_ERR(subq_kv_load(kv, 'x', 0, 0, 0, 1, buf), SUBQ_ERR_ARG, "'q', 'k' or 'v'");
    CHECK_ERR(subq_kv_load(kv, 'k', 0, 0, 10, 2049, buf), SUBQ_ERR_ARG, "[10, 2049)");
    CHECK_ERR(subq_kv_load(kv, 'k', 0, 0, 10, 9, buf), SUBQ_ERR_ARG, "token range");
    CHECK_ERR(subq_kv_load(kv, 'k', 0, 0, 0, 1, NULL), SUBQ_ERR_ARG, "out is NULL");
  }
  subq_kv_close(&kv);
  CHECK_ERR(subq_kv_open(NULL, 1, &kv), SUBQ_ERR_ARG, "--kv=DIR");
  CHECK_ERR(subq_kv_open(src_, 1, NULL), SUBQ_ERR_ARG, "kv is NULL");

  /* The collective option helper: a bad dump on the last rank only, a layer or head
   * not in the dump, no --kv: every rank gets the same code and the message. */
  static const subq_opt_spec_t specs[] = {SUBQ_KV_OPTS, {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};
  char a0[8400];
  snprintf(dir, sizeof dir, "%s/truncated", root_); /* made above */
  snprintf(a0, sizeof a0, "--kv=%s", rank_ == size_ - 1 ? dir : src_);
  char *args[] = {a0, "--layer=7", "--head=9"};
  subq_opts_t *o = NULL;
  subq_kv_sel_t sel;
  CHECK_OK(subq_opts_parse(specs, "test", 1, args, &o));
  CHECK_ERR(subq_kvopts_open(MPI_COMM_WORLD, o, &sel), SUBQ_ERR_FORMAT, "truncated/k_L29.npy");
  if (size_ > 1) {
    char tag[32];
    snprintf(tag, sizeof tag, "rank %d: ", size_ - 1);
    CHECK(strstr(subq_error_message(), tag) != NULL);
  }
  CHECK(sel.kv == NULL);
  subq_opts_destroy(&o);
  snprintf(a0, sizeof a0, "--kv=%s", src_);
  CHECK_OK(subq_opts_parse(specs, "test", 2, args, &o));
  CHECK_ERR(subq_kvopts_open(MPI_COMM_WORLD, o, &sel), SUBQ_ERR_ARG, "--layer=7 is not in KV dump");
  subq_opts_destroy(&o);
  char *args2[] = {a0, "--head=9"};
  CHECK_OK(subq_opts_parse(specs, "test", 2, args2, &o));
  CHECK_ERR(subq_kvopts_open(MPI_COMM_WORLD, o, &sel), SUBQ_ERR_ARG, "--head=9 out of range");
  subq_opts_destroy(&o);
  CHECK_OK(subq_opts_parse(specs, "test", 0, args, &o));
  CHECK_ERR(subq_kvopts_open(MPI_COMM_WORLD, o, &sel), SUBQ_ERR_ARG, "--kv=DIR is required");
  subq_opts_destroy(&o);

  free(mtext);
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank_ == 0) rm_tree_(root_);
  CHECK_FINISH();
}
