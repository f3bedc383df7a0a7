/* KV dump loader (design.md "KV dumps"; issue 3): meta.json parsed with cJSON, every
 * array's .npy header checked against it, sha256 of every array with OpenSSL EVP, and
 * reads of one head's token range [t0, t1) converted from float16/float32/float64.
 *
 * An array of shape (heads, tokens, head_dim), C order, holds head h, token t, coordinate
 * c at element (h * tokens + t) * head_dim + c, so a token range of one head is one
 * contiguous run of elements; the .npy row reader reads only that run (see view2d_). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "subq/core.h"
#include "subq/io.h"
#include "subq/kv.h"
#include "io/io_internal.h"

#define KV_PATH_CAP 4096
#define KV_META_MAX (16u << 20) /* meta.json larger than 16 MiB is not a KV dump */

typedef struct {
  char path[1024];        /* dir/file */
  char name[32];          /* "q_L0" */
  subq_npy_info_t info;
} kv_array_t;

struct subq_kv {
  char dir[KV_PATH_CAP];
  subq_kv_meta_t meta;
  kv_array_t arr[64][3]; /* [layer index in meta.layers][q, k, v] */
};

static const char kv_which_[3] = {'q', 'k', 'v'};

/* ---- meta.json ------------------------------------------------------------------- */

static int read_text_(const char *path, char **out) {
  *out = NULL;
  FILE *f = NULL;
  SUBQ_CALL(subq_io_fopen_read(path, &f));
  char *buf = NULL;
  size_t cap = 0, n = 0;
  int err = 0;
  for (;;) {
    if (n + 4096 + 1 > cap) {
      size_t nc = cap ? 2 * cap : 16384;
      char *nb = realloc(buf, nc);
      if (!nb) { err = SUBQ_FAIL(SUBQ_ERR_MEM, "reading '%s': out of memory", path); break; }
      buf = nb;
      cap = nc;
    }
    size_t got = fread(buf + n, 1, cap - n - 1, f);
    n += got;
    if (n > KV_META_MAX) {
      err = SUBQ_FAIL(SUBQ_ERR_FORMAT, "'%s' is larger than %u bytes", path, KV_META_MAX);
      break;
    }
    if (got == 0) {
      if (ferror(f)) err = SUBQ_FAIL(SUBQ_ERR_IO, "reading '%s' failed", path);
      break;
    }
  }
  fclose(f);
  if (err) { free(buf); return err; }
  buf[n] = 0;
  *out = buf;
  return SUBQ_OK;
}

/* An integer-valued JSON number in [lo, hi]. */
static int json_int_(const cJSON *o, const char *key, const char *where, const char *mpath,
                     long lo, long hi, long *v) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
  SUBQ_CHECK(it, SUBQ_ERR_FORMAT, "'%s': missing key \"%s\"%s", mpath, key, where);
  SUBQ_CHECK(cJSON_IsNumber(it), SUBQ_ERR_FORMAT, "'%s': key \"%s\"%s is not a number",
             mpath, key, where);
  double d = it->valuedouble;
  SUBQ_CHECK(d == floor(d) && d >= (double)lo && d <= (double)hi, SUBQ_ERR_FORMAT,
             "'%s': key \"%s\"%s must be an integer in [%ld, %ld], got %g", mpath, key, where,
             lo, hi, d);
  *v = (long)d;
  return SUBQ_OK;
}

static int json_array_(const cJSON *o, const char *key, const char *where, const char *mpath,
                       int maxn, const cJSON **arr, int *n) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
  SUBQ_CHECK(it, SUBQ_ERR_FORMAT, "'%s': missing key \"%s\"%s", mpath, key, where);
  SUBQ_CHECK(cJSON_IsArray(it), SUBQ_ERR_FORMAT, "'%s': key \"%s\"%s is not an array", mpath,
             key, where);
  int m = cJSON_GetArraySize(it);
  SUBQ_CHECK(m >= 1 && m <= maxn, SUBQ_ERR_FORMAT,
             "'%s': key \"%s\"%s must have 1..%d entries, got %d", mpath, key, where, maxn, m);
  *arr = it;
  *n = m;
  return SUBQ_OK;
}

/* Integers of a JSON array into v[0..n), each in [lo, hi]. */
static int json_ints_(const cJSON *arr, const char *key, const char *mpath, long lo, long hi,
                      long *v) {
  int i = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, arr) {
    SUBQ_CHECK(cJSON_IsNumber(e) && e->valuedouble == floor(e->valuedouble) &&
                   e->valuedouble >= (double)lo && e->valuedouble <= (double)hi,
               SUBQ_ERR_FORMAT, "'%s': \"%s\"[%d] must be an integer in [%ld, %ld]", mpath,
               key, i, lo, hi);
    v[i++] = (long)e->valuedouble;
  }
  return SUBQ_OK;
}

static int json_str_(const cJSON *o, const char *key, const char *where, const char *mpath,
                     const char **s) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
  SUBQ_CHECK(it, SUBQ_ERR_FORMAT, "'%s': missing key \"%s\"%s", mpath, key, where);
  SUBQ_CHECK(cJSON_IsString(it) && it->valuestring, SUBQ_ERR_FORMAT,
             "'%s': key \"%s\"%s is not a string", mpath, key, where);
  *s = it->valuestring;
  return SUBQ_OK;
}

static int parse_header_(const cJSON *root, const char *mpath, subq_kv_meta_t *m,
                         subq_dtype_t *dtype) {
  const char *s;
  long v, ints[256];
  const cJSON *arr;
  int n;
  SUBQ_CALL(json_str_(root, "model", "", mpath, &s));
  snprintf(m->model, sizeof m->model, "%s", s);
  SUBQ_CALL(json_str_(root, "dtype", "", mpath, &s));
  if (strcmp(s, "float16") == 0) *dtype = SUBQ_F16;
  else if (strcmp(s, "float32") == 0) *dtype = SUBQ_F32;
  else if (strcmp(s, "float64") == 0) *dtype = SUBQ_F64;
  else return SUBQ_FAIL(SUBQ_ERR_FORMAT, "'%s': \"dtype\" must be float16, float32 or float64, got \"%s\"", mpath, s);
  SUBQ_CALL(json_int_(root, "n_q_heads", "", mpath, 1, 256, &v));
  m->n_q_heads = (int)v;
  SUBQ_CALL(json_int_(root, "n_kv_heads", "", mpath, 1, 256, &v));
  m->n_kv_heads = (int)v;
  SUBQ_CHECK(m->n_q_heads % m->n_kv_heads == 0, SUBQ_ERR_FORMAT,
             "'%s': n_q_heads = %d is not a multiple of n_kv_heads = %d", mpath, m->n_q_heads,
             m->n_kv_heads);
  SUBQ_CALL(json_int_(root, "head_dim", "", mpath, 1, 65536, &v));
  m->head_dim = (int)v;
  SUBQ_CALL(json_int_(root, "tokens", "", mpath, 1, 1L << 40, &v));
  m->tokens = (size_t)v;
  const cJSON *rb = cJSON_GetObjectItemCaseSensitive(root, "rope_base");
  SUBQ_CHECK(rb, SUBQ_ERR_FORMAT, "'%s': missing key \"rope_base\"", mpath);
  SUBQ_CHECK(cJSON_IsNumber(rb) && rb->valuedouble > 0, SUBQ_ERR_FORMAT,
             "'%s': \"rope_base\" must be a positive number", mpath);
  m->rope_base = rb->valuedouble;

  SUBQ_CALL(json_array_(root, "layers", "", mpath, 64, &arr, &n));
  SUBQ_CALL(json_ints_(arr, "layers", mpath, 0, 100000, ints));
  m->n_layers = n;
  for (int i = 0; i < n; i++) {
    m->layers[i] = (int)ints[i];
    for (int j = 0; j < i; j++)
      SUBQ_CHECK(m->layers[j] != m->layers[i], SUBQ_ERR_FORMAT,
                 "'%s': layer %d is listed twice in \"layers\"", mpath, m->layers[i]);
  }
  /* GQA: query head h reads KV head gqa[h], 0 <= gqa[h] < n_kv_heads. */
  SUBQ_CALL(json_array_(root, "gqa", "", mpath, 256, &arr, &n));
  SUBQ_CHECK(n == m->n_q_heads, SUBQ_ERR_FORMAT,
             "'%s': \"gqa\" has %d entries, n_q_heads is %d", mpath, n, m->n_q_heads);
  SUBQ_CALL(json_ints_(arr, "gqa", mpath, 0, m->n_kv_heads - 1, ints));
  for (int h = 0; h < n; h++) m->gqa[h] = (int)ints[h];
  return SUBQ_OK;
}

/* files["<w>_L<l>"] = {"file", "shape", "sha256"}: path, expected shape, hash. */
static int parse_file_(const cJSON *files, const char *mpath, const char *dir,
                       const size_t want[3], kv_array_t *a, char sha[65]) {
  char where[64];
  snprintf(where, sizeof where, " in files.%s", a->name);
  const cJSON *e = cJSON_GetObjectItemCaseSensitive(files, a->name);
  SUBQ_CHECK(e, SUBQ_ERR_FORMAT, "'%s': missing key \"files\".\"%s\"", mpath, a->name);
  SUBQ_CHECK(cJSON_IsObject(e), SUBQ_ERR_FORMAT, "'%s': \"files\".\"%s\" is not an object",
             mpath, a->name);
  const char *file, *hash;
  SUBQ_CALL(json_str_(e, "file", where, mpath, &file));
  SUBQ_CHECK(file[0] && !strchr(file, '/') && strcmp(file, ".") && strcmp(file, ".."),
             SUBQ_ERR_FORMAT, "'%s': files.%s.file \"%s\" must be a plain file name", mpath,
             a->name, file);
  int w = snprintf(a->path, sizeof a->path, "%s/%s", dir, file);
  SUBQ_CHECK(w > 0 && (size_t)w < sizeof a->path, SUBQ_ERR_ARG, "path '%s/%s' is too long",
             dir, file);
  SUBQ_CALL(json_str_(e, "sha256", where, mpath, &hash));
  SUBQ_CHECK(strlen(hash) == 64 && strspn(hash, "0123456789abcdefABCDEF") == 64,
             SUBQ_ERR_FORMAT, "'%s': files.%s.sha256 is not 64 hex digits", mpath, a->name);
  for (int i = 0; i < 64; i++) sha[i] = (char)(hash[i] | 0x20); /* lower case */
  sha[64] = 0;
  const cJSON *arr;
  int n;
  long shape[3];
  SUBQ_CALL(json_array_(e, "shape", where, mpath, 3, &arr, &n));
  SUBQ_CHECK(n == 3, SUBQ_ERR_FORMAT, "'%s': files.%s.shape must have 3 entries, got %d",
             mpath, a->name, n);
  SUBQ_CALL(json_ints_(arr, "shape", mpath, 0, 1L << 40, shape));
  SUBQ_CHECK((size_t)shape[0] == want[0] && (size_t)shape[1] == want[1] &&
                 (size_t)shape[2] == want[2],
             SUBQ_ERR_FORMAT,
             "'%s': files.%s.shape is [%ld, %ld, %ld], expected [%zu, %zu, %zu] "
             "(heads, tokens, head_dim)",
             mpath, a->name, shape[0], shape[1], shape[2], want[0], want[1], want[2]);
  return SUBQ_OK;
}

/* ---- array checks ---------------------------------------------------------------- */

static int sha256_file_(const char *path, char hex[65]) {
  FILE *f = NULL;
  SUBQ_CALL(subq_io_fopen_read(path, &f));
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int err = 0;
  if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
    err = SUBQ_FAIL(SUBQ_ERR_INTERNAL, "sha256 of '%s': OpenSSL EVP init failed", path);
  unsigned char buf[65536];
  while (!err) {
    size_t got = fread(buf, 1, sizeof buf, f);
    if (got && EVP_DigestUpdate(ctx, buf, got) != 1)
      err = SUBQ_FAIL(SUBQ_ERR_INTERNAL, "sha256 of '%s': OpenSSL EVP update failed", path);
    if (got < sizeof buf) {
      if (ferror(f)) err = SUBQ_FAIL(SUBQ_ERR_IO, "reading '%s' failed", path);
      break;
    }
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (!err && (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32))
    err = SUBQ_FAIL(SUBQ_ERR_INTERNAL, "sha256 of '%s': OpenSSL EVP final failed", path);
  EVP_MD_CTX_free(ctx);
  fclose(f);
  if (err) return err;
  for (unsigned i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
  return SUBQ_OK;
}

static int check_array_(kv_array_t *a, subq_dtype_t dtype, const size_t want[3],
                        const char *sha, int verify) {
  struct stat st;
  SUBQ_CHECK(stat(a->path, &st) == 0, SUBQ_ERR_IO, "KV array %s: cannot open '%s': %s",
             a->name, a->path, strerror(errno));
  SUBQ_CALL(subq_npy_info(a->path, &a->info));
  const subq_npy_info_t *I = &a->info;
  SUBQ_CHECK(I->dtype == dtype, SUBQ_ERR_FORMAT,
             "'%s': dtype %s in the .npy header, meta.json says %s", a->path,
             I->dtype == SUBQ_F16 ? "float16" : I->dtype == SUBQ_F32 ? "float32"
             : I->dtype == SUBQ_F64 ? "float64" : "uint8",
             dtype == SUBQ_F16 ? "float16" : dtype == SUBQ_F32 ? "float32" : "float64");
  SUBQ_CHECK(!I->fortran_order, SUBQ_ERR_FORMAT, "'%s': fortran_order arrays are not KV dumps",
             a->path);
  SUBQ_CHECK(I->ndim == 3 && I->shape[0] == want[0] && I->shape[1] == want[1] &&
                 I->shape[2] == want[2],
             SUBQ_ERR_FORMAT,
             "'%s': .npy shape (ndim %d: %zu, %zu, %zu) does not match meta.json "
             "(%zu, %zu, %zu)",
             a->path, I->ndim, I->ndim > 0 ? I->shape[0] : 0, I->ndim > 1 ? I->shape[1] : 0,
             I->ndim > 2 ? I->shape[2] : 0, want[0], want[1], want[2]);
  if (verify) {
    char got[65];
    SUBQ_CALL(sha256_file_(a->path, got));
    SUBQ_CHECK(strcmp(got, sha) == 0, SUBQ_ERR_FORMAT,
               "'%s': sha256 mismatch: file has %s, meta.json says %s", a->path, got, sha);
  }
  return SUBQ_OK;
}

/* ---- open / close ---------------------------------------------------------------- */

static int open_(const char *dir, int verify, subq_kv_t *kv) {
  struct stat st;
  SUBQ_CHECK(stat(dir, &st) == 0, SUBQ_ERR_IO, "KV dump directory '%s': %s", dir,
             strerror(errno));
  SUBQ_CHECK(S_ISDIR(st.st_mode), SUBQ_ERR_IO, "KV dump '%s' is not a directory", dir);
  int w = snprintf(kv->dir, sizeof kv->dir, "%s", dir);
  SUBQ_CHECK(w > 0 && (size_t)w < sizeof kv->arr[0][0].path - 256, SUBQ_ERR_ARG,
             "KV dump directory name is too long (%d bytes)", w);
  char mpath[KV_PATH_CAP];
  snprintf(mpath, sizeof mpath, "%s/meta.json", dir);
  char *text = NULL;
  SUBQ_CALL(read_text_(mpath, &text));
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
  if (!root || !cJSON_IsObject(root)) {
    size_t off = end ? (size_t)(end - text) : 0;
    if (!root && cJSON_GetErrorPtr()) off = (size_t)(cJSON_GetErrorPtr() - text);
    cJSON_Delete(root);
    free(text);
    return SUBQ_FAIL(SUBQ_ERR_FORMAT, "'%s': bad JSON (%s at byte %zu)", mpath,
                     root ? "not an object" : "syntax error", off);
  }
  free(text);

  int err = 0;
  subq_dtype_t dtype = SUBQ_F16;
  subq_kv_meta_t *m = &kv->meta;
  const cJSON *files = cJSON_GetObjectItemCaseSensitive(root, "files");
  err = parse_header_(root, mpath, m, &dtype);
  if (!err && !cJSON_IsObject(files))
    err = SUBQ_FAIL(SUBQ_ERR_FORMAT, "'%s': %s", mpath,
                    files ? "key \"files\" is not an object" : "missing key \"files\"");
  for (int li = 0; !err && li < m->n_layers; li++) {
    for (int w3 = 0; !err && w3 < 3; w3++) {
      kv_array_t *a = &kv->arr[li][w3];
      size_t want[3] = {(size_t)(w3 == 0 ? m->n_q_heads : m->n_kv_heads), m->tokens,
                        (size_t)m->head_dim};
      char sha[65];
      snprintf(a->name, sizeof a->name, "%c_L%d", kv_which_[w3], m->layers[li]);
      err = parse_file_(files, mpath, dir, want, a, sha);
      if (!err) err = check_array_(a, dtype, want, sha, verify);
    }
  }
  cJSON_Delete(root);
  if (err) return subq_error_trace(err, __FILE__, __LINE__, __func__);
  return SUBQ_OK;
}

int subq_kv_open(const char *dir, int verify_hashes, subq_kv_t **kv) {
  SUBQ_CHECK(kv, SUBQ_ERR_ARG, "subq_kv_open: kv is NULL");
  *kv = NULL;
  SUBQ_CHECK(dir && dir[0], SUBQ_ERR_ARG, "KV dump directory is empty (--kv=DIR)");
  subq_kv_t *k = NULL;
  SUBQ_CALL(subq_calloc(1, sizeof *k, &k));
  int err = open_(dir, verify_hashes, k);
  if (err) {
    subq_free(&k);
    return subq_error_trace(err, __FILE__, __LINE__, __func__);
  }
  *kv = k;
  return SUBQ_OK;
}

void subq_kv_close(subq_kv_t **kv) {
  if (kv) subq_free(kv);
}

const subq_kv_meta_t *subq_kv_meta(const subq_kv_t *kv) { return kv ? &kv->meta : NULL; }

/* ---- loading --------------------------------------------------------------------- */

/* Row of (head, t0) in the 2-D view and the array, after argument checks. */
static int locate_(const subq_kv_t *kv, char which, int layer, int head, size_t t0, size_t t1,
                   const kv_array_t **arr, size_t *off, size_t *count) {
  SUBQ_CHECK(kv, SUBQ_ERR_ARG, "KV dump is NULL");
  const subq_kv_meta_t *m = &kv->meta;
  int w3 = which == 'q' ? 0 : which == 'k' ? 1 : which == 'v' ? 2 : -1;
  SUBQ_CHECK(w3 >= 0, SUBQ_ERR_ARG, "KV dump '%s': which must be 'q', 'k' or 'v', got '%c'",
             kv->dir, which);
  int li = -1;
  for (int i = 0; i < m->n_layers; i++)
    if (m->layers[i] == layer) li = i;
  if (li < 0) {
    char list[512];
    size_t n = 0;
    list[0] = 0;
    for (int i = 0; i < m->n_layers && n + 16 < sizeof list; i++)
      n += (size_t)snprintf(list + n, sizeof list - n, "%s%d", i ? ", " : "", m->layers[i]);
    return SUBQ_FAIL(SUBQ_ERR_ARG, "--layer=%d is not in KV dump '%s' (layers: %s)", layer,
                     kv->dir, list);
  }
  int nh = w3 == 0 ? m->n_q_heads : m->n_kv_heads;
  SUBQ_CHECK(head >= 0 && head < nh, SUBQ_ERR_ARG,
             "--head=%d out of range for %c in KV dump '%s' (%s heads: 0..%d)", head, which,
             kv->dir, w3 == 0 ? "query" : "KV", nh - 1);
  SUBQ_CHECK(t0 <= t1 && t1 <= m->tokens, SUBQ_ERR_ARG,
             "token range [%zu, %zu) out of range for KV dump '%s' (%zu tokens)", t0, t1,
             kv->dir, m->tokens);
  *arr = &kv->arr[li][w3];
  *off = (size_t)head * m->tokens + t0;
  *count = t1 - t0;
  return SUBQ_OK;
}

/* The array as a 2-D view (heads * tokens, head_dim): row head * tokens + t is one
 * token's vector, so rows [head * tokens + t0, head * tokens + t1) are the requested
 * range, read (and checked for NaN/Inf) by the .npy row reader. */
static subq_npy_info_t view2d_(const kv_array_t *a) {
  subq_npy_info_t v = a->info;
  v.ndim = 2;
  v.shape[0] = a->info.shape[0] * a->info.shape[1];
  v.shape[1] = a->info.shape[2];
  return v;
}

int subq_kv_load(const subq_kv_t *kv, char which, int layer, int head, size_t t0, size_t t1,
                 double *out) {
  const kv_array_t *a;
  size_t off, n;
  SUBQ_CALL(locate_(kv, which, layer, head, t0, t1, &a, &off, &n));
  SUBQ_CHECK(out || n == 0, SUBQ_ERR_ARG, "subq_kv_load: out is NULL");
  subq_npy_info_t v = view2d_(a);
  SUBQ_CALL(subq_npy_read_rows(a->path, &v, off, off + n, out));
  return SUBQ_OK;
}

int subq_kv_load_f32(const subq_kv_t *kv, char which, int layer, int head, size_t t0,
                     size_t t1, float *out) {
  const kv_array_t *a;
  size_t off, n;
  SUBQ_CALL(locate_(kv, which, layer, head, t0, t1, &a, &off, &n));
  SUBQ_CHECK(out || n == 0, SUBQ_ERR_ARG, "subq_kv_load_f32: out is NULL");
  subq_npy_info_t v = view2d_(a);
  SUBQ_CALL(subq_npy_read_rows_f32(a->path, &v, off, off + n, out));
  return SUBQ_OK;
}
