/* subq io: the NumPy .npy format, versions 1.0, 2.0 and 3.0.
 *
 * Source: NumPy Enhancement Proposal 1, "A Simple File Format for NumPy Arrays", and
 * numpy/lib/format.py.  Layout: the magic "\x93NUMPY", major and minor version bytes,
 * the header length (little-endian uint16 for 1.0, uint32 for 2.0 and 3.0; 3.0 allows
 * UTF-8 in the header), then the header: a Python dict literal with exactly the keys
 * 'descr' (dtype string), 'fortran_order' (True/False) and 'shape' (tuple of ints),
 * padded with spaces and ended by '\n'; the data follows immediately, prod(shape)
 * elements.  Values are decoded byte by byte as little-endian, so the code works on any
 * host. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/io_internal.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAX_HEADER (1u << 20) /* sanity bound on the header length */
#define NPY_CHUNK 65536           /* elements converted per read */

/* ---- header parsing ---------------------------------------------------------------- */

typedef struct {
  const char *start, *p, *end, *path;
} cur_t;

static void skip_ws(cur_t *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
    c->p++;
}

#define HDR_CHECK(cond, ...)                                                              \
  SUBQ_CHECK(cond, SUBQ_ERR_FORMAT, __VA_ARGS__)

static int expect(cur_t *c, char ch) {
  skip_ws(c);
  HDR_CHECK(c->p < c->end && *c->p == ch, "'%s': malformed .npy header: expected '%c' at "
            "header offset %td", c->path, ch, c->p - c->start);
  c->p++;
  return 0;
}

/* A quoted string without escapes into buf (size cap). */
static int parse_str(cur_t *c, char *buf, size_t cap) {
  skip_ws(c);
  HDR_CHECK(c->p < c->end && (*c->p == '\'' || *c->p == '"'),
            "'%s': malformed .npy header: expected a quoted string", c->path);
  char q = *c->p++;
  size_t n = 0;
  while (c->p < c->end && *c->p != q) {
    HDR_CHECK(*c->p != '\\' && *c->p != '\n', "'%s': malformed .npy header: unsupported "
              "character in a string", c->path);
    HDR_CHECK(n + 1 < cap, "'%s': malformed .npy header: string too long", c->path);
    buf[n++] = *c->p++;
  }
  HDR_CHECK(c->p < c->end, "'%s': malformed .npy header: unterminated string", c->path);
  c->p++;
  buf[n] = '\0';
  return 0;
}

static int parse_bool(cur_t *c, int *v) {
  skip_ws(c);
  size_t left = (size_t)(c->end - c->p);
  if (left >= 4 && !memcmp(c->p, "True", 4)) {
    *v = 1;
    c->p += 4;
  } else if (left >= 5 && !memcmp(c->p, "False", 5)) {
    *v = 0;
    c->p += 5;
  } else {
    return SUBQ_FAIL(SUBQ_ERR_FORMAT,
                     "'%s': malformed .npy header: 'fortran_order' must be True or False",
                     c->path);
  }
  return 0;
}

static int parse_shape(cur_t *c, subq_npy_info_t *info) {
  SUBQ_CALL(expect(c, '('));
  int ndim = 0, trailing_comma = 0;
  for (;;) {
    skip_ws(c);
    HDR_CHECK(c->p < c->end, "'%s': malformed .npy header: unterminated shape", c->path);
    if (*c->p == ')') break;
    HDR_CHECK(*c->p >= '0' && *c->p <= '9',
              "'%s': malformed .npy header: shape entries must be non-negative integers",
              c->path);
    size_t v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
      size_t d = (size_t)(*c->p - '0');
      HDR_CHECK(v <= (SIZE_MAX - d) / 10, "'%s': .npy shape entry overflows", c->path);
      v = v * 10 + d;
      c->p++;
    }
    if (c->p < c->end && *c->p == 'L') c->p++; /* Python 2 long suffix */
    SUBQ_CHECK(ndim < SUBQ_NPY_MAXDIM, SUBQ_ERR_UNSUPPORTED,
               "'%s': .npy array has more than %d dimensions", c->path, SUBQ_NPY_MAXDIM);
    info->shape[ndim++] = v;
    skip_ws(c);
    trailing_comma = 0;
    if (c->p < c->end && *c->p == ',') {
      c->p++;
      trailing_comma = 1;
    } else {
      HDR_CHECK(c->p < c->end && *c->p == ')',
                "'%s': malformed .npy header: expected ',' or ')' in shape", c->path);
    }
  }
  c->p++; /* ')' */
  HDR_CHECK(ndim != 1 || trailing_comma,
            "'%s': malformed .npy header: 'shape' is not a tuple (a 1-tuple needs a comma)",
            c->path);
  info->ndim = ndim;
  return 0;
}

static int parse_descr(const char *path, const char *d, subq_dtype_t *t) {
  if (!strcmp(d, "<f8")) *t = SUBQ_F64;
  else if (!strcmp(d, "<f4")) *t = SUBQ_F32;
  else if (!strcmp(d, "<f2")) *t = SUBQ_F16;
  else if (!strcmp(d, "|u1") || !strcmp(d, "<u1") || !strcmp(d, ">u1")) *t = SUBQ_U8;
  else if (d[0] == '>')
    return SUBQ_FAIL(SUBQ_ERR_UNSUPPORTED, "'%s': big-endian dtype '%s' is not supported "
                     "(supported: '<f8', '<f4', '<f2', '|u1')", path, d);
  else
    return SUBQ_FAIL(SUBQ_ERR_UNSUPPORTED, "'%s': dtype '%s' is not supported (supported: "
                     "'<f8', '<f4', '<f2', '|u1')", path, d);
  return 0;
}

static int parse_header(const char *path, const char *h, size_t n, subq_npy_info_t *info) {
  cur_t c = {h, h, h + n, path};
  int have_descr = 0, have_fo = 0, have_shape = 0;
  char key[32], descr[64];
  SUBQ_CALL(expect(&c, '{'));
  for (;;) {
    skip_ws(&c);
    HDR_CHECK(c.p < c.end, "'%s': malformed .npy header: unterminated dict", path);
    if (*c.p == '}') break;
    SUBQ_CALL(parse_str(&c, key, sizeof key));
    SUBQ_CALL(expect(&c, ':'));
    if (!strcmp(key, "descr")) {
      HDR_CHECK(!have_descr, "'%s': .npy header repeats key 'descr'", path);
      skip_ws(&c);
      SUBQ_CHECK(c.p < c.end && *c.p != '[', SUBQ_ERR_UNSUPPORTED,
                 "'%s': structured dtypes are not supported", path);
      SUBQ_CALL(parse_str(&c, descr, sizeof descr));
      SUBQ_CALL(parse_descr(path, descr, &info->dtype));
      have_descr = 1;
    } else if (!strcmp(key, "fortran_order")) {
      HDR_CHECK(!have_fo, "'%s': .npy header repeats key 'fortran_order'", path);
      SUBQ_CALL(parse_bool(&c, &info->fortran_order));
      have_fo = 1;
    } else if (!strcmp(key, "shape")) {
      HDR_CHECK(!have_shape, "'%s': .npy header repeats key 'shape'", path);
      SUBQ_CALL(parse_shape(&c, info));
      have_shape = 1;
    } else {
      return SUBQ_FAIL(SUBQ_ERR_FORMAT, "'%s': .npy header has unexpected key '%s'", path, key);
    }
    skip_ws(&c);
    HDR_CHECK(c.p < c.end && (*c.p == ',' || *c.p == '}'),
              "'%s': malformed .npy header: expected ',' or '}' after key '%s'", path, key);
    if (*c.p == ',') c.p++;
  }
  c.p++; /* '}' */
  skip_ws(&c);
  HDR_CHECK(c.p == c.end, "'%s': malformed .npy header: characters after the dict", path);
  HDR_CHECK(have_descr && have_fo && have_shape,
            "'%s': .npy header lacks key '%s'", path,
            !have_descr ? "descr" : !have_fo ? "fortran_order" : "shape");
  return 0;
}

void subq_io_npy_shape_str(const subq_npy_info_t *info, char *buf, size_t cap) {
  size_t k = (size_t)snprintf(buf, cap, "(");
  for (int i = 0; i < info->ndim && k < cap; i++)
    k += (size_t)snprintf(buf + k, cap - k, "%zu%s", info->shape[i],
                          info->ndim == 1 ? "," : i + 1 < info->ndim ? ", " : "");
  if (k < cap) snprintf(buf + k, cap - k, ")");
}

static uint32_t le32(const unsigned char *b) {
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static int read_info(FILE *f, const char *path, subq_npy_info_t *info) {
  unsigned char pre[12];
  size_t got = fread(pre, 1, 10, f);
  HDR_CHECK(got == 10, "'%s': too short for a .npy file (%zu bytes)", path, got);
  HDR_CHECK(!memcmp(pre, NPY_MAGIC, 6), "'%s': not a .npy file (bad magic; expected "
            "\\x93NUMPY)", path);
  int major = pre[6], minor = pre[7];
  HDR_CHECK((major >= 1 && major <= 3) && minor == 0,
            "'%s': unsupported .npy format version %d.%d (supported: 1.0, 2.0, 3.0)", path,
            major, minor);
  size_t hlen, pre_len;
  if (major == 1) {
    hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    pre_len = 10;
  } else {
    HDR_CHECK(fread(pre + 10, 1, 2, f) == 2, "'%s': truncated .npy header", path);
    hlen = le32(pre + 8);
    pre_len = 12;
  }
  HDR_CHECK(hlen > 0 && hlen <= NPY_MAX_HEADER, "'%s': implausible .npy header length %zu",
            path, hlen);
  char *h = malloc(hlen);
  SUBQ_CHECK(h, SUBQ_ERR_MEM, "cannot allocate %zu bytes for the header of '%s'", hlen, path);
  got = fread(h, 1, hlen, f);
  int rc = 0;
  if (got != hlen)
    rc = SUBQ_FAIL(SUBQ_ERR_FORMAT, "'%s': truncated .npy header (%zu of %zu bytes)", path,
                   got, hlen);
  else
    rc = parse_header(path, h, hlen, info);
  free(h);
  if (rc) return subq_error_trace(rc, __FILE__, __LINE__, __func__);
  info->data_offset = pre_len + hlen;
  return 0;
}

int subq_npy_info(const char *path, subq_npy_info_t *info) {
  SUBQ_CHECK(path && info, SUBQ_ERR_ARG, "path or info is NULL");
  memset(info, 0, sizeof *info);
  FILE *f = NULL;
  SUBQ_CALL(subq_io_fopen_read(path, &f));
  struct stat st;
  int rc = read_info(f, path, info);
  if (!rc && fstat(fileno(f), &st) != 0)
    rc = SUBQ_FAIL(SUBQ_ERR_IO, "cannot stat '%s': %s", path, strerror(errno));
  fclose(f);
  if (rc) return subq_error_trace(rc, __FILE__, __LINE__, __func__);

  size_t nel = 1, bytes;
  for (int i = 0; i < info->ndim; i++)
    SUBQ_CHECK(!subq_size_mul(nel, info->shape[i], &nel), SUBQ_ERR_FORMAT,
               "'%s': .npy shape overflows size_t", path);
  SUBQ_CHECK(!subq_size_mul(nel, subq_dtype_size(info->dtype), &bytes), SUBQ_ERR_FORMAT,
             "'%s': .npy data size overflows size_t", path);
  size_t have = (size_t)st.st_size > info->data_offset ? (size_t)st.st_size - info->data_offset : 0;
  if (have != bytes) {
    char sh[256];
    subq_io_npy_shape_str(info, sh, sizeof sh);
    return SUBQ_FAIL(SUBQ_ERR_FORMAT, "'%s': %s: header says shape %s = %zu elements of %zu "
                     "bytes = %zu bytes of data, but the file holds %zu bytes after the "
                     "%zu-byte header", path, have < bytes ? "truncated data" :
                     "header does not match the data", sh, nel,
                     subq_dtype_size(info->dtype), bytes, have, info->data_offset);
  }
  return 0;
}

/* ---- row reader -------------------------------------------------------------------- */

static double decode(const unsigned char *b, subq_dtype_t t) {
  switch (t) {
  case SUBQ_F64: {
    uint64_t u = (uint64_t)le32(b) | (uint64_t)le32(b + 4) << 32;
    double d;
    memcpy(&d, &u, 8);
    return d;
  }
  case SUBQ_F32: {
    uint32_t u = le32(b);
    float f;
    memcpy(&f, &u, 4);
    return f;
  }
  case SUBQ_F16: return subq_half_to_float((uint16_t)(b[0] | b[1] << 8));
  case SUBQ_U8: return b[0];
  }
  return 0;
}

static int bad_value(const char *path, double v, size_t k, size_t rowlen) {
  if (isfinite(v))
    return SUBQ_FAIL(SUBQ_ERR_NUMERIC, "'%s': value %g at element %zu (row %zu, column %zu) "
                     "overflows float32", path, v, k, k / rowlen, k % rowlen);
  return SUBQ_FAIL(SUBQ_ERR_NUMERIC, "'%s': non-finite value %s at element %zu (row %zu, "
                   "column %zu)", path, isnan(v) ? "nan" : v > 0 ? "inf" : "-inf", k,
                   k / rowlen, k % rowlen);
}

static int npy_read(const char *path, const subq_npy_info_t *info, size_t r0, size_t r1,
                    double *outd, float *outf) {
  SUBQ_CHECK(path && info, SUBQ_ERR_ARG, "path or info is NULL");
  SUBQ_CHECK(info->ndim >= 1, SUBQ_ERR_UNSUPPORTED, "'%s': a 0-d .npy array has no rows",
             path);
  SUBQ_CHECK(!(info->fortran_order && info->ndim >= 2), SUBQ_ERR_UNSUPPORTED,
             "'%s': array is stored in Fortran (column-major) order with %d dimensions; "
             "row reads need C order (save it with numpy.ascontiguousarray)", path,
             info->ndim);
  SUBQ_CHECK(info->shape[0] > 0, SUBQ_ERR_FORMAT, "'%s' has 0 rows", path);
  SUBQ_CHECK(r0 <= r1 && r1 <= info->shape[0], SUBQ_ERR_ARG,
             "'%s': row range [%zu, %zu) is outside [0, %zu)", path, r0, r1, info->shape[0]);
  size_t rowlen = 1, es = subq_dtype_size(info->dtype), n, first;
  for (int i = 1; i < info->ndim; i++) rowlen *= info->shape[i]; /* checked by info */
  n = (r1 - r0) * rowlen;
  first = r0 * rowlen;
  if (n == 0) return 0;
  SUBQ_CHECK(outd || outf, SUBQ_ERR_ARG, "output buffer is NULL");

  FILE *f = NULL;
  SUBQ_CALL(subq_io_fopen_read(path, &f));
  unsigned char *buf = malloc(NPY_CHUNK * es);
  int rc = 0;
  if (!buf) rc = SUBQ_FAIL(SUBQ_ERR_MEM, "cannot allocate a read buffer for '%s'", path);
  else if (fseeko(f, (off_t)(info->data_offset + first * es), SEEK_SET) != 0)
    rc = SUBQ_FAIL(SUBQ_ERR_IO, "cannot seek in '%s': %s", path, strerror(errno));
  for (size_t done = 0; !rc && done < n;) {
    size_t m = n - done < NPY_CHUNK ? n - done : NPY_CHUNK;
    size_t got = fread(buf, es, m, f);
    if (got != m) {
      rc = SUBQ_FAIL(SUBQ_ERR_FORMAT, "'%s': truncated data: file ends before element %zu",
                     path, first + done + got);
      break;
    }
    for (size_t i = 0; i < m && !rc; i++) {
      double v = decode(buf + i * es, info->dtype);
      if (!isfinite(v) || (outf && !isfinite((float)v)))
        rc = bad_value(path, v, first + done + i, rowlen);
      else if (outf)
        outf[done + i] = (float)v;
      else
        outd[done + i] = v;
    }
    done += m;
  }
  free(buf);
  fclose(f);
  if (rc) return subq_error_trace(rc, __FILE__, __LINE__, __func__);
  return 0;
}

int subq_npy_read_rows(const char *path, const subq_npy_info_t *info, size_t r0, size_t r1,
                       double *out) {
  SUBQ_CALL(npy_read(path, info, r0, r1, out, NULL));
  return 0;
}

int subq_npy_read_rows_f32(const char *path, const subq_npy_info_t *info, size_t r0,
                           size_t r1, float *out) {
  SUBQ_CALL(npy_read(path, info, r0, r1, NULL, out));
  return 0;
}

/* ---- writer ------------------------------------------------------------------------ */

static void encode(const void *data, size_t i, subq_dtype_t t, unsigned char *b) {
  uint64_t u = 0;
  size_t es = subq_dtype_size(t);
  switch (t) {
  case SUBQ_F64: memcpy(&u, (const double *)data + i, 8); break;
  case SUBQ_F32: {
    uint32_t w;
    memcpy(&w, (const float *)data + i, 4);
    u = w;
    break;
  }
  case SUBQ_F16: u = ((const uint16_t *)data)[i]; break;
  case SUBQ_U8: u = ((const uint8_t *)data)[i]; break;
  }
  for (size_t k = 0; k < es; k++) b[k] = (unsigned char)(u >> (8 * k));
}

int subq_npy_write(const char *path, subq_dtype_t dtype, int ndim, const size_t *shape,
                   const void *data) {
  SUBQ_CHECK(path, SUBQ_ERR_ARG, "path is NULL");
  SUBQ_CHECK(ndim >= 0 && ndim <= SUBQ_NPY_MAXDIM, SUBQ_ERR_ARG,
             "'%s': ndim must be 0..%d, got %d", path, SUBQ_NPY_MAXDIM, ndim);
  SUBQ_CHECK(shape || ndim == 0, SUBQ_ERR_ARG, "'%s': shape is NULL", path);
  size_t es = subq_dtype_size(dtype);
  SUBQ_CHECK(es > 0, SUBQ_ERR_ARG, "'%s': unknown dtype %d", path, (int)dtype);
  static const char *descr[] = {"<f8", "<f4", "<f2", "|u1"};
  subq_npy_info_t info = {.dtype = dtype, .ndim = ndim};
  size_t nel = 1;
  for (int i = 0; i < ndim; i++) {
    info.shape[i] = shape[i];
    SUBQ_CHECK(!subq_size_mul(nel, shape[i], &nel), SUBQ_ERR_ARG,
               "'%s': shape overflows size_t", path);
  }
  SUBQ_CHECK(data || nel == 0, SUBQ_ERR_ARG, "'%s': data is NULL for %zu elements", path, nel);

  char sh[256], dict[400];
  subq_io_npy_shape_str(&info, sh, sizeof sh);
  int dl = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                    descr[dtype], sh);
  /* Pad with spaces so that magic + version + length + header is a multiple of 64 and
   * the header ends with '\n' (NEP 1; version 1.0 since the header is short). */
  size_t total = 10 + (size_t)dl + 1;
  total = (total + 63) / 64 * 64;
  size_t hlen = total - 10;
  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                           (unsigned char)(hlen >> 8)};
  char pad[64];
  memset(pad, ' ', sizeof pad);

  subq_io_atomic_t a;
  SUBQ_CALL(subq_io_atomic_open(path, &a));
  SUBQ_CALL(subq_io_atomic_write(&a, pre, sizeof pre));
  SUBQ_CALL(subq_io_atomic_write(&a, dict, (size_t)dl));
  SUBQ_CALL(subq_io_atomic_write(&a, pad, hlen - (size_t)dl - 1));
  SUBQ_CALL(subq_io_atomic_write(&a, "\n", 1));
  unsigned char *buf = malloc(NPY_CHUNK * es);
  if (!buf) {
    subq_io_atomic_abort(&a);
    return SUBQ_FAIL(SUBQ_ERR_MEM, "cannot allocate a write buffer for '%s'", path);
  }
  for (size_t done = 0; done < nel;) {
    size_t m = nel - done < NPY_CHUNK ? nel - done : NPY_CHUNK;
    for (size_t i = 0; i < m; i++) encode(data, done + i, dtype, buf + i * es);
    int rc = subq_io_atomic_write(&a, buf, m * es);
    if (rc) {
      free(buf);
      return subq_error_trace(rc, __FILE__, __LINE__, __func__);
    }
    done += m;
  }
  free(buf);
  SUBQ_CALL(subq_io_atomic_commit(&a));
  return 0;
}
