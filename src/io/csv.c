/* subq io: numeric CSV, plain or gzip-compressed (read through zlib's gzgets).
 * See io_internal.h for the accepted syntax. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "io/io_internal.h"

typedef struct {
  gzFile gz;
  const char *path;
  char *line;
  size_t cap, lineno; /* lineno: 1-based physical line of the current line */
} csv_t;

/* Next physical line into c->line without its line end; *eof = 1 at the end. */
static int next_line(csv_t *c, int *eof) {
  size_t len = 0;
  *eof = 0;
  for (;;) {
    if (c->cap - len < 2) {
      size_t nc = c->cap ? 2 * c->cap : 4096;
      char *p = realloc(c->line, nc);
      SUBQ_CHECK(p, SUBQ_ERR_MEM, "'%s': cannot allocate %zu bytes for line %zu", c->path, nc,
                 c->lineno + 1);
      c->line = p;
      c->cap = nc;
    }
    int room = c->cap - len > (size_t)1 << 30 ? 1 << 30 : (int)(c->cap - len);
    if (!gzgets(c->gz, c->line + len, room)) {
      int zerr = Z_OK;
      const char *msg = gzerror(c->gz, &zerr);
      SUBQ_CHECK(zerr == Z_OK || zerr == Z_BUF_ERROR, SUBQ_ERR_FORMAT,
                 "'%s': corrupt data after line %zu: %s", c->path, c->lineno, msg);
      SUBQ_CHECK(zerr == Z_OK, SUBQ_ERR_FORMAT, "'%s': truncated gzip data after line %zu",
                 c->path, c->lineno);
      if (len == 0) {
        *eof = 1;
        return 0;
      }
      break; /* last line without '\n' */
    }
    len += strlen(c->line + len);
    if (len > 0 && c->line[len - 1] == '\n') break;
    if (gzeof(c->gz)) break;
  }
  c->lineno++;
  while (len > 0 && (c->line[len - 1] == '\n' || c->line[len - 1] == '\r')) len--;
  c->line[len] = '\0';
  return 0;
}

static int is_blank(const char *s) {
  for (; *s; s++)
    if (*s != ' ' && *s != '\t') return 0;
  return 1;
}

/* Parse the current line: count fields into *nf; when out != NULL store the first
 * nout values.  expect > 0: number of fields required. */
static int parse_line(csv_t *c, size_t expect, size_t expect_line, size_t nout, double *out,
                      size_t *nf) {
  char *s = c->line;
  size_t col = 0;
  for (;;) {
    char *e = strchr(s, ',');
    if (e) *e = '\0';
    col++;
    while (*s == ' ' || *s == '\t') s++;
    char *t = s + strlen(s);
    while (t > s && (t[-1] == ' ' || t[-1] == '\t')) *--t = '\0';
    SUBQ_CHECK(*s, SUBQ_ERR_FORMAT, "'%s' line %zu, column %zu: empty field", c->path,
               c->lineno, col);
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    SUBQ_CHECK(*end == '\0', SUBQ_ERR_FORMAT, "'%s' line %zu, column %zu: '%.40s' is not a "
               "number%s", c->path, c->lineno, col, s,
               expect == 0 ? " (CSV header lines are not supported)" : "");
    SUBQ_CHECK(isfinite(v), SUBQ_ERR_NUMERIC, "'%s' line %zu, column %zu: non-finite value "
               "'%.40s'", c->path, c->lineno, col, s);
    if (expect) {
      SUBQ_CHECK(col <= expect, SUBQ_ERR_FORMAT, "'%s' line %zu has more than %zu fields "
                 "(as the first row%s%.0zu)", c->path, c->lineno, expect,
                 expect_line ? ", line " : "", expect_line);
      if (out && col <= nout) out[col - 1] = v;
    }
    if (!e) break;
    s = e + 1;
  }
  SUBQ_CHECK(expect == 0 || col == expect, SUBQ_ERR_FORMAT, "'%s' line %zu has %zu fields, "
             "expected %zu (as the first row%s%.0zu)", c->path, c->lineno, col, expect,
             expect_line ? ", line " : "", expect_line);
  *nf = col;
  return 0;
}

/* One pass over the file.  out == NULL: check everything, count rows and columns.
 * Otherwise parse data rows [r0, r1) into out (cols known). */
static int csv_pass(csv_t *c, subq_csv_info_t *info, size_t r0, size_t r1, size_t nout,
                    double *out) {
  size_t row = 0, first_line = 0;
  for (;;) {
    int eof;
    SUBQ_CALL(next_line(c, &eof));
    if (eof) break;
    if (is_blank(c->line)) continue;
    if (out) {
      if (row >= r1) break;
      if (row >= r0) {
        size_t nf;
        SUBQ_CALL(parse_line(c, info->cols, 0, nout, out + (row - r0) * nout, &nf));
      }
    } else {
      size_t nf;
      SUBQ_CALL(parse_line(c, info->cols, first_line, 0, NULL, &nf));
      if (info->cols == 0) {
        info->cols = nf;
        first_line = c->lineno;
      }
    }
    row++;
  }
  if (out)
    SUBQ_CHECK(row >= r1, SUBQ_ERR_FORMAT, "'%s' has %zu rows, fewer than the %zu requested "
               "(file changed?)", c->path, row, r1);
  else
    info->rows = row;
  return 0;
}

static int csv_run(const char *path, subq_csv_info_t *info, size_t r0, size_t r1, size_t nout,
                   double *out) {
  csv_t c = {0};
  c.path = path;
  SUBQ_CALL(subq_io_check_not_dir(path));
  errno = 0;
  c.gz = gzopen(path, "rb");
  SUBQ_CHECK(c.gz, SUBQ_ERR_IO, "cannot open '%s': %s", path,
             errno ? strerror(errno) : "zlib could not allocate its state");
  gzbuffer(c.gz, 1u << 17);
  int rc = csv_pass(&c, info, r0, r1, nout, out);
  gzclose(c.gz);
  free(c.line);
  if (rc) return subq_error_trace(rc, __FILE__, __LINE__, __func__);
  return 0;
}

int subq_io_csv_scan(const char *path, subq_csv_info_t *info) {
  SUBQ_CHECK(path && info, SUBQ_ERR_ARG, "path or info is NULL");
  info->rows = info->cols = 0;
  SUBQ_CALL(csv_run(path, info, 0, 0, 0, NULL));
  SUBQ_CHECK(info->rows > 0, SUBQ_ERR_FORMAT, "'%s' has 0 rows", path);
  return 0;
}

int subq_io_csv_read_rows(const char *path, size_t cols, size_t ncols_out, size_t r0,
                          size_t r1, double *out) {
  SUBQ_CHECK(path, SUBQ_ERR_ARG, "path is NULL");
  SUBQ_CHECK(r0 <= r1 && ncols_out <= cols && cols > 0, SUBQ_ERR_ARG,
             "'%s': bad request: rows [%zu, %zu), %zu of %zu columns", path, r0, r1,
             ncols_out, cols);
  if (r1 == r0 || ncols_out == 0) return 0;
  SUBQ_CHECK(out, SUBQ_ERR_ARG, "output buffer is NULL");
  subq_csv_info_t info = {0, cols};
  SUBQ_CALL(csv_run(path, &info, r0, r1, ncols_out, out));
  return 0;
}
