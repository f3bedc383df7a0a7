/* subq io: data sources named by a specification string (design.md, "Data
 * specifications"): real data sets found at run time, files by format, and synthetic
 * matrices generated from the counter-based RNG so that any rank can produce any row. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/io_internal.h"

enum { SRC_NPY, SRC_IDX, SRC_CSV, SRC_GAUSS, SRC_ILLCOND };

struct subq_source {
  int kind;
  char *path; /* file sources */
  char *desc; /* "spec (rows x cols)" */
  size_t rows, cols;
  size_t file_cols; /* CSV: columns in the file (digits drops the last, the label) */
  uint64_t seed;
  subq_npy_info_t npy;
  subq_idx_info_t idx;
};

#define FMNIST_DIR "/usr/share/datasets/fashion-mnist"
static const char *digits_paths[] = {
    "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz",
    "/usr/local/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz",
    "/usr/share/datasets/sklearn/digits.csv.gz",
};

/* Positive decimal integer, the whole of s[0..n). */
static int parse_count(const char *s, size_t n, int allow_zero, uint64_t *v) {
  if (n == 0) return 0;
  uint64_t x = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return 0;
    uint64_t d = (uint64_t)(s[i] - '0');
    if (x > (UINT64_MAX - d) / 10) return 0;
    x = x * 10 + d;
  }
  if (x == 0 && !allow_zero) return 0;
  *v = x;
  return 1;
}

static int dup_str(const char *s, char **out) {
  *out = strdup(s);
  SUBQ_CHECK(*out, SUBQ_ERR_MEM, "cannot allocate %zu bytes", strlen(s) + 1);
  return 0;
}

/* "NAME[:N]" suffix after a fixed prefix: *limit = N or 0 when absent. */
static int parse_limit(const char *spec, const char *rest, uint64_t *limit) {
  *limit = 0;
  if (*rest == '\0') return 0;
  SUBQ_CHECK(*rest == ':' && parse_count(rest + 1, strlen(rest + 1), 0, limit), SUBQ_ERR_ARG,
             "data spec '%s': N must be a positive integer, got '%s'", spec,
             *rest == ':' ? rest + 1 : rest);
  return 0;
}

static int open_fmnist(subq_source_t *s, const char *spec, const char *split, const char *rest) {
  uint64_t limit;
  SUBQ_CALL(parse_limit(spec, rest, &limit));
  const char *dir = getenv("SUBQ_FMNIST_DIR");
  if (!dir || !dir[0]) dir = FMNIST_DIR;
  size_t n = strlen(dir) + 64;
  s->path = malloc(n);
  SUBQ_CHECK(s->path, SUBQ_ERR_MEM, "cannot allocate %zu bytes", n);
  snprintf(s->path, n, "%s/%s-images-idx3-ubyte.gz", dir,
           !strcmp(split, "train") ? "train" : "t10k");
  SUBQ_CHECK(access(s->path, R_OK) == 0, SUBQ_ERR_IO, "data spec '%s': Fashion-MNIST file "
             "'%s' is not readable (%s); install the Debian package dataset-fashion-mnist "
             "or set SUBQ_FMNIST_DIR", spec, s->path, strerror(errno));
  SUBQ_CALL(subq_io_idx_info(s->path, &s->idx));
  s->kind = SRC_IDX;
  s->rows = s->idx.rows;
  s->cols = s->idx.cols;
  SUBQ_CHECK(limit <= s->rows, SUBQ_ERR_ARG, "data spec '%s': N = %llu exceeds the %zu rows "
             "of '%s'", spec, (unsigned long long)limit, s->rows, s->path);
  if (limit) s->rows = (size_t)limit;
  return 0;
}

static int open_digits(subq_source_t *s, const char *spec, const char *rest) {
  uint64_t limit;
  SUBQ_CALL(parse_limit(spec, rest, &limit));
  const char *env = getenv("SUBQ_DIGITS_PATH");
  const char *found = NULL;
  if (env && env[0]) {
    SUBQ_CHECK(access(env, R_OK) == 0, SUBQ_ERR_IO, "data spec '%s': SUBQ_DIGITS_PATH='%s' "
               "is not readable (%s); unset it to use python3-sklearn's digits.csv.gz", spec,
               env, strerror(errno));
    found = env;
  }
  for (size_t i = 0; !found && i < sizeof digits_paths / sizeof *digits_paths; i++)
    if (access(digits_paths[i], R_OK) == 0) found = digits_paths[i];
  SUBQ_CHECK(found, SUBQ_ERR_IO, "data spec '%s': scikit-learn's digits.csv.gz not found "
             "(looked in %s and %zu other places); install the Debian package "
             "python3-sklearn or set SUBQ_DIGITS_PATH", spec, digits_paths[0],
             sizeof digits_paths / sizeof *digits_paths - 1);
  SUBQ_CALL(dup_str(found, &s->path));
  subq_csv_info_t ci;
  SUBQ_CALL(subq_io_csv_scan(s->path, &ci));
  SUBQ_CHECK(ci.cols >= 2, SUBQ_ERR_FORMAT, "'%s': digits needs feature columns and a label "
             "column, found %zu column(s)", s->path, ci.cols);
  s->kind = SRC_CSV;
  s->file_cols = ci.cols;
  s->rows = ci.rows;
  s->cols = ci.cols - 1; /* the last column is the class label */
  SUBQ_CHECK(limit <= s->rows, SUBQ_ERR_ARG, "data spec '%s': N = %llu exceeds the %zu rows "
             "of '%s'", spec, (unsigned long long)limit, s->rows, s->path);
  if (limit) s->rows = (size_t)limit;
  return 0;
}

static int open_file(subq_source_t *s, const char *spec, int kind, const char *path) {
  SUBQ_CHECK(path[0], SUBQ_ERR_ARG, "data spec '%s': empty path", spec);
  SUBQ_CALL(dup_str(path, &s->path));
  s->kind = kind;
  if (kind == SRC_NPY) {
    SUBQ_CALL(subq_npy_info(path, &s->npy));
    SUBQ_CHECK(s->npy.ndim >= 1, SUBQ_ERR_UNSUPPORTED, "'%s': a 0-d array is not a data "
               "matrix", path);
    SUBQ_CHECK(!(s->npy.fortran_order && s->npy.ndim >= 2), SUBQ_ERR_UNSUPPORTED,
               "'%s': array is stored in Fortran (column-major) order with %d dimensions; "
               "row reads need C order (save it with numpy.ascontiguousarray)", path,
               s->npy.ndim);
    /* A data matrix is 2-D (1-D: one column).  Higher ranks are refused rather than
     * flattened, so a (heads, tokens, dim) tensor is never read as a silent reshape. */
    if (s->npy.ndim > 2) {
      char sh[256];
      subq_io_npy_shape_str(&s->npy, sh, sizeof sh);
      return SUBQ_FAIL(SUBQ_ERR_FORMAT, "'%s': shape %s is a %d-d array, but a data matrix "
                       "must be 2-d (rows, cols); reshape it first, e.g. "
                       "numpy.save(path, a.reshape(a.shape[0], -1))", path, sh, s->npy.ndim);
    }
    s->rows = s->npy.shape[0];
    s->cols = s->npy.ndim == 2 ? s->npy.shape[1] : 1;
    SUBQ_CHECK(s->rows > 0, SUBQ_ERR_FORMAT, "'%s' has 0 rows", path);
  } else if (kind == SRC_IDX) {
    SUBQ_CALL(subq_io_idx_info(path, &s->idx));
    s->rows = s->idx.rows;
    s->cols = s->idx.cols;
  } else {
    subq_csv_info_t ci;
    SUBQ_CALL(subq_io_csv_scan(path, &ci));
    s->rows = ci.rows;
    s->cols = s->file_cols = ci.cols;
  }
  SUBQ_CHECK(s->cols > 0, SUBQ_ERR_FORMAT, "'%s' has 0 columns", path);
  return 0;
}

/* synthetic:KIND:N,D[,seed] with rest = "N,D[,seed]". */
static int open_synthetic(subq_source_t *s, const char *spec, int kind, const char *rest) {
  uint64_t v[3] = {0, 0, 0};
  int k = 0;
  const char *p = rest;
  for (;; k++) {
    const char *e = strchr(p, ',');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    SUBQ_CHECK(k < 3 && parse_count(p, n, k == 2, &v[k]), SUBQ_ERR_ARG,
               "data spec '%s': expected synthetic:%s:N,D[,seed] with N, D positive "
               "integers and seed a non-negative integer", spec,
               kind == SRC_GAUSS ? "gauss" : "illcond");
    if (!e) break;
    p = e + 1;
  }
  SUBQ_CHECK(k >= 1, SUBQ_ERR_ARG, "data spec '%s': missing D (expected synthetic:%s:N,D"
             "[,seed])", spec, kind == SRC_GAUSS ? "gauss" : "illcond");
  size_t nd;
  SUBQ_CHECK(v[0] <= SIZE_MAX && v[1] <= SIZE_MAX &&
                 !subq_size_mul((size_t)v[0], (size_t)v[1], &nd) && nd <= SIZE_MAX / 8,
             SUBQ_ERR_ARG, "data spec '%s': N x D is too large", spec);
  s->kind = kind;
  s->rows = (size_t)v[0];
  s->cols = (size_t)v[1];
  s->seed = v[2];
  return 0;
}

static int source_open(const char *spec, subq_source_t *s) {
  if (!strncmp(spec, "fmnist:train", 12) && (spec[12] == '\0' || spec[12] == ':'))
    return open_fmnist(s, spec, "train", spec + 12);
  if (!strncmp(spec, "fmnist:test", 11) && (spec[11] == '\0' || spec[11] == ':'))
    return open_fmnist(s, spec, "test", spec + 11);
  if (!strncmp(spec, "digits", 6) && (spec[6] == '\0' || spec[6] == ':'))
    return open_digits(s, spec, spec + 6);
  if (!strncmp(spec, "npy:", 4)) return open_file(s, spec, SRC_NPY, spec + 4);
  if (!strncmp(spec, "idx:", 4)) return open_file(s, spec, SRC_IDX, spec + 4);
  if (!strncmp(spec, "csv:", 4)) return open_file(s, spec, SRC_CSV, spec + 4);
  if (!strncmp(spec, "synthetic:gauss:", 16))
    return open_synthetic(s, spec, SRC_GAUSS, spec + 16);
  if (!strncmp(spec, "synthetic:illcond:", 18))
    return open_synthetic(s, spec, SRC_ILLCOND, spec + 18);
  return SUBQ_FAIL(SUBQ_ERR_ARG, "unknown data spec '%s' (expected fmnist:train[:N], "
                   "fmnist:test[:N], digits[:N], npy:PATH, idx:PATH, csv:PATH, "
                   "synthetic:gauss:N,D[,seed] or synthetic:illcond:N,D[,seed])", spec);
}

int subq_source_open(const char *spec, subq_source_t **out) {
  SUBQ_CHECK(out, SUBQ_ERR_ARG, "output pointer is NULL");
  *out = NULL;
  SUBQ_CHECK(spec && spec[0], SUBQ_ERR_ARG, "data spec is NULL or empty");
  subq_source_t *s = calloc(1, sizeof *s);
  SUBQ_CHECK(s, SUBQ_ERR_MEM, "cannot allocate a data source");
  int rc = source_open(spec, s);
  if (!rc) {
    size_t n = strlen(spec) + 64;
    s->desc = malloc(n);
    if (s->desc) snprintf(s->desc, n, "%s (%zux%zu)", spec, s->rows, s->cols);
    else rc = SUBQ_FAIL(SUBQ_ERR_MEM, "cannot allocate %zu bytes", n);
  }
  if (rc) {
    subq_source_close(&s);
    return subq_error_trace(rc, __FILE__, __LINE__, __func__);
  }
  *out = s;
  return 0;
}

size_t subq_source_rows(const subq_source_t *s) { return s ? s->rows : 0; }
size_t subq_source_cols(const subq_source_t *s) { return s ? s->cols : 0; }
const char *subq_source_describe(const subq_source_t *s) {
  return s && s->desc ? s->desc : "(no data source)";
}

void subq_source_close(subq_source_t **s) {
  if (!s || !*s) return;
  free((*s)->path);
  free((*s)->desc);
  free(*s);
  *s = NULL;
}

double subq_source_illcond_scale(size_t j, size_t d) {
  return d < 2 ? 1.0 : pow(10.0, -10.0 * (double)j / (double)(d - 1));
}

int subq_source_read(subq_source_t *s, size_t r0, size_t r1, double *out) {
  SUBQ_CHECK(s, SUBQ_ERR_ARG, "data source is NULL");
  SUBQ_CHECK(r0 <= r1 && r1 <= s->rows, SUBQ_ERR_ARG, "%s: row range [%zu, %zu) is outside "
             "[0, %zu)", s->desc, r0, r1, s->rows);
  if (r0 == r1) return 0;
  SUBQ_CHECK(out, SUBQ_ERR_ARG, "%s: output buffer is NULL", s->desc);
  switch (s->kind) {
  case SRC_NPY: SUBQ_CALL(subq_npy_read_rows(s->path, &s->npy, r0, r1, out)); break;
  case SRC_IDX: SUBQ_CALL(subq_io_idx_read_rows(s->path, &s->idx, r0, r1, out)); break;
  case SRC_CSV:
    SUBQ_CALL(subq_io_csv_read_rows(s->path, s->file_cols, s->cols, r0, r1, out));
    break;
  case SRC_GAUSS:
  case SRC_ILLCOND: {
    size_t d = s->cols;
    subq_rng_fill_gauss(s->seed, SUBQ_STREAM_SYNTHETIC, (uint64_t)r0 * d, (r1 - r0) * d, out);
    if (s->kind == SRC_ILLCOND)
      for (size_t j = 0; j < d; j++) {
        double sj = subq_source_illcond_scale(j, d);
        for (size_t i = 0; i < r1 - r0; i++) out[i * d + j] *= sj;
      }
    break;
  }
  }
  return 0;
}
