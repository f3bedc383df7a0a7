/* subq io internals shared by the files of src/io (not installed, not public API).
 * Tests may include it (tests get src/ on their include path). */
#ifndef SUBQ_IO_INTERNAL_H
#define SUBQ_IO_INTERNAL_H

#include <stdio.h>

#include "subq/core.h"
#include "subq/io.h"

/* ---- atomic file writer (fileutil.c) ---------------------------------------------- */
/* Writes go to "path.tmp.<pid>"; commit does fflush + fsync + fclose + rename (and a
 * best-effort fsync of the directory); abort closes and unlinks the temporary. */
typedef struct {
  FILE *f;
  char *tmp;
  const char *path; /* borrowed from the caller; must outlive the writer */
} subq_io_atomic_t;

int subq_io_atomic_open(const char *path, subq_io_atomic_t *a);
int subq_io_atomic_write(subq_io_atomic_t *a, const void *buf, size_t n);
int subq_io_atomic_commit(subq_io_atomic_t *a);
void subq_io_atomic_abort(subq_io_atomic_t *a);

/* Check before opening `path` for reading: a directory is SUBQ_ERR_IO "'PATH' is a
 * directory (expected a file)"; anything else (missing, unreadable) is left to the open
 * that follows, which names the system error.  Used by every reader in src/io. */
int subq_io_check_not_dir(const char *path);

/* The shape of a .npy header as Python writes it, "(2, 3, 4)" or "(5,)", into buf. */
void subq_io_npy_shape_str(const subq_npy_info_t *info, char *buf, size_t cap);
/* fopen(path, "rb") after subq_io_check_not_dir.  Errors: SUBQ_ERR_IO naming the path. */
int subq_io_fopen_read(const char *path, FILE **f);

/* ---- IDX (idx.c) -------------------------------------------------------------------
 * Y. LeCun, C. Cortes, C. Burges, "THE MNIST DATABASE of handwritten digits", section
 * "FILE FORMATS FOR THE MNIST DATABASE": magic = two zero bytes, a type byte (0x08 =
 * unsigned byte, 0x09 signed byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double) and
 * a byte with the number of dimensions; then each dimension as a big-endian uint32;
 * then the data, C order.  Only unsigned byte data is supported.  Files are read
 * through zlib, so plain and gzip-compressed files both work. */
#define SUBQ_IDX_MAXDIM 8
typedef struct {
  int ndim;
  size_t dims[SUBQ_IDX_MAXDIM];
  size_t rows, cols;  /* dims[0], prod(dims[1:]) (1 for a 1-D file) */
  size_t data_offset; /* 4 + 4*ndim bytes of (uncompressed) header */
  int gzip;           /* 1 if the file is gzip-compressed */
} subq_idx_info_t;

/* Parse the header; check magic, type, dims (none 0) and the data size: for a plain file
 * the file size must be exactly header + prod(dims) bytes; for a gzip file the size in
 * the gzip trailer (ISIZE, RFC 1952, uncompressed size mod 2^32 of the last member) must
 * match, which catches truncated files and headers that lie about the dims.
 * Errors: SUBQ_ERR_IO, SUBQ_ERR_FORMAT, SUBQ_ERR_UNSUPPORTED (type other than 0x08). */
int subq_io_idx_info(const char *path, subq_idx_info_t *info);
/* Rows [r0, r1) as double value/255 (row-major, (r1-r0) x cols).  Skips to row r0 with
 * gzseek (decompresses and discards for gzip files).  Errors: SUBQ_ERR_ARG (range),
 * SUBQ_ERR_IO, SUBQ_ERR_FORMAT (truncated or corrupt data). */
int subq_io_idx_read_rows(const char *path, const subq_idx_info_t *info, size_t r0,
                          size_t r1, double *out);

/* ---- CSV (csv.c) -------------------------------------------------------------------
 * Numeric CSV, comma-separated, no header, optionally gzip-compressed; blank lines are
 * skipped; "\r\n" line ends are accepted; fields are parsed with strtod and may carry
 * spaces or tabs around them. */
typedef struct {
  size_t rows, cols;
} subq_csv_info_t;

/* Scan the whole file once: count rows and columns, check every field.
 * Errors: SUBQ_ERR_IO, SUBQ_ERR_FORMAT (ragged rows, non-numeric or empty fields, no
 * rows; message names file, line and column), SUBQ_ERR_NUMERIC (nan/inf fields). */
int subq_io_csv_scan(const char *path, subq_csv_info_t *info);
/* Data rows [r0, r1) (counting non-blank lines), first ncols_out of cols columns each,
 * into out ((r1-r0) x ncols_out, row-major).  Errors as subq_io_csv_scan. */
int subq_io_csv_read_rows(const char *path, size_t cols, size_t ncols_out, size_t r0,
                          size_t r1, double *out);

#endif
