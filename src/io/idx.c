/* subq io: IDX files (LeCun's MNIST format, also used by Fashion-MNIST), plain or gzip.
 * See io_internal.h for the format description and the checks made. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "io/io_internal.h"

#define IDX_CHUNK (1u << 20) /* bytes per gzread */

static const char *idx_type_name(int t) {
  switch (t) {
  case 0x08: return "unsigned byte";
  case 0x09: return "signed byte";
  case 0x0B: return "short";
  case 0x0C: return "int";
  case 0x0D: return "float";
  case 0x0E: return "double";
  }
  return NULL;
}

/* A zlib error after a short read: corrupt data, or just the end of the file. */
static int gz_short(gzFile gz, const char *path, const char *what, size_t at, size_t want) {
  int zerr = Z_OK;
  const char *msg = gzerror(gz, &zerr);
  if (zerr != Z_OK && zerr != Z_BUF_ERROR)
    return SUBQ_FAIL(SUBQ_ERR_FORMAT, "'%s': corrupt data while reading the %s: %s", path,
                     what, msg);
  return SUBQ_FAIL(SUBQ_ERR_FORMAT, "'%s': truncated %s: file ends before byte %zu of %zu "
                   "bytes (uncompressed)", path, what, at, want);
}

static int gz_open(const char *path, gzFile *gz) {
  SUBQ_CALL(subq_io_check_not_dir(path));
  errno = 0;
  *gz = gzopen(path, "rb");
  SUBQ_CHECK(*gz, SUBQ_ERR_IO, "cannot open '%s': %s", path,
             errno ? strerror(errno) : "zlib could not allocate its state");
  gzbuffer(*gz, 1u << 17);
  return 0;
}

static int read_header(gzFile gz, const char *path, subq_idx_info_t *info) {
  unsigned char m[4], d[4];
  int got = gzread(gz, m, 4);
  if (got != 4) SUBQ_CALL(gz_short(gz, path, "IDX header", got > 0 ? (size_t)got : 0, 4));
  SUBQ_CHECK(m[0] == 0 && m[1] == 0 && idx_type_name(m[2]) && m[3] >= 1,
             SUBQ_ERR_FORMAT, "'%s': not an IDX file (magic 0x%02x%02x%02x%02x; expected "
             "0x0000TTNN with type TT in 08..0E and NN >= 1 dimensions)", path, m[0], m[1],
             m[2], m[3]);
  SUBQ_CHECK(m[2] == 0x08, SUBQ_ERR_UNSUPPORTED, "'%s': IDX data type 0x%02x (%s) is not "
             "supported; only unsigned byte (0x08)", path, m[2], idx_type_name(m[2]));
  SUBQ_CHECK(m[3] <= SUBQ_IDX_MAXDIM, SUBQ_ERR_UNSUPPORTED,
             "'%s': IDX file has %d dimensions (at most %d supported)", path, m[3],
             SUBQ_IDX_MAXDIM);
  info->ndim = m[3];
  size_t cols = 1;
  for (int i = 0; i < info->ndim; i++) {
    got = gzread(gz, d, 4);
    if (got != 4)
      SUBQ_CALL(gz_short(gz, path, "IDX header", 4 + 4 * (size_t)i + (got > 0 ? (size_t)got : 0),
                         4 + 4 * (size_t)info->ndim));
    info->dims[i] = (size_t)d[0] << 24 | (size_t)d[1] << 16 | (size_t)d[2] << 8 | d[3];
    if (i == 0)
      SUBQ_CHECK(info->dims[0] > 0, SUBQ_ERR_FORMAT, "'%s' has 0 rows", path);
    else
      SUBQ_CHECK(info->dims[i] > 0 && !subq_size_mul(cols, info->dims[i], &cols),
                 SUBQ_ERR_FORMAT, "'%s': IDX dimension %d is %zu", path, i, info->dims[i]);
  }
  info->rows = info->dims[0];
  info->cols = cols;
  info->data_offset = 4 + 4 * (size_t)info->ndim;
  info->gzip = !gzdirect(gz);
  return 0;
}

/* Compare the data size the header implies with the file (plain) or gzip trailer. */
static int check_size(const char *path, const subq_idx_info_t *info) {
  size_t data, total;
  SUBQ_CHECK(!subq_size_mul(info->rows, info->cols, &data) && data <= SIZE_MAX - 64,
             SUBQ_ERR_FORMAT, "'%s': IDX dims overflow size_t", path);
  total = info->data_offset + data;
  FILE *f = NULL;
  SUBQ_CALL(subq_io_fopen_read(path, &f));
  struct stat st;
  unsigned char t[4];
  int ok = fstat(fileno(f), &st) == 0;
  size_t fsize = ok ? (size_t)st.st_size : 0, have;
  if (!info->gzip) {
    fclose(f);
    have = fsize;
  } else {
    ok = ok && fsize >= 18 && fseeko(f, -4, SEEK_END) == 0 && fread(t, 1, 4, f) == 4;
    fclose(f);
    SUBQ_CHECK(ok, SUBQ_ERR_FORMAT, "'%s': truncated gzip file (%zu bytes)", path, fsize);
    have = (size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 | (size_t)t[3] << 24;
    total &= 0xffffffffu; /* ISIZE is the size mod 2^32 */
  }
  SUBQ_CHECK(have == total, SUBQ_ERR_FORMAT, "'%s': IDX header says %zu rows x %zu columns "
             "= %zu bytes with the header, but the %s %zu bytes (truncated file, or a header "
             "that does not match the data)", path, info->rows, info->cols,
             info->data_offset + data, info->gzip ? "gzip trailer (ISIZE, mod 2^32) says"
             : "file has", have);
  return 0;
}

int subq_io_idx_info(const char *path, subq_idx_info_t *info) {
  SUBQ_CHECK(path && info, SUBQ_ERR_ARG, "path or info is NULL");
  memset(info, 0, sizeof *info);
  gzFile gz;
  SUBQ_CALL(gz_open(path, &gz));
  int rc = read_header(gz, path, info);
  gzclose(gz);
  if (rc) return subq_error_trace(rc, __FILE__, __LINE__, __func__);
  SUBQ_CALL(check_size(path, info));
  return 0;
}

int subq_io_idx_read_rows(const char *path, const subq_idx_info_t *info, size_t r0,
                          size_t r1, double *out) {
  SUBQ_CHECK(path && info, SUBQ_ERR_ARG, "path or info is NULL");
  SUBQ_CHECK(r0 <= r1 && r1 <= info->rows, SUBQ_ERR_ARG,
             "'%s': row range [%zu, %zu) is outside [0, %zu)", path, r0, r1, info->rows);
  size_t n = (r1 - r0) * info->cols, start = info->data_offset + r0 * info->cols;
  if (n == 0) return 0;
  SUBQ_CHECK(out, SUBQ_ERR_ARG, "output buffer is NULL");
  gzFile gz;
  SUBQ_CALL(gz_open(path, &gz));
  unsigned char *buf = malloc(IDX_CHUNK);
  int rc = 0;
  if (!buf) rc = SUBQ_FAIL(SUBQ_ERR_MEM, "cannot allocate a read buffer for '%s'", path);
  else if (gzseek(gz, (z_off_t)start, SEEK_SET) != (z_off_t)start)
    rc = gz_short(gz, path, "IDX data", 0, start);
  for (size_t done = 0; !rc && done < n;) {
    unsigned m = (unsigned)(n - done < IDX_CHUNK ? n - done : IDX_CHUNK);
    int got = gzread(gz, buf, m);
    if (got != (int)m) {
      rc = gz_short(gz, path, "IDX data", start + done + (got > 0 ? (size_t)got : 0),
                    info->data_offset + info->rows * info->cols);
      break;
    }
    for (unsigned i = 0; i < m; i++) out[done + i] = buf[i] / 255.0;
    done += m;
  }
  free(buf);
  gzclose(gz);
  if (rc) return subq_error_trace(rc, __FILE__, __LINE__, __func__);
  return 0;
}
