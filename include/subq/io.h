/* subq io: readers for .npy (v1-3), IDX (optionally gzip), CSV, data specifications,
 * KV dumps; atomic writers for .npy and summary.json.  Every reader validates the header
 * against the file size and rejects NaN/Inf values; every error names the file and the
 * problem.  Readers read only the requested rows (each rank reads its own block).
 *
 * Nothing in this module is collective: each function works on the calling rank alone
 * (distributed loading, with agreed errors, is subq_dmat_load in dist.h).  Errors are
 * returned as SUBQ_ERR_* codes with a message (subq_error_message) that names the file
 * or spec and the problem; nothing here exits.  Shapes are in elements, sizes in bytes. */
#ifndef SUBQ_IO_H
#define SUBQ_IO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { SUBQ_F64 = 0, SUBQ_F32 = 1, SUBQ_F16 = 2, SUBQ_U8 = 3 } subq_dtype_t;
/* Bytes per element of a dtype (8, 4, 2, 1); 0 for a value outside the enum. */
size_t subq_dtype_size(subq_dtype_t t);
/* IEEE 754 binary16 <-> binary32.  half -> float is exact (zeros, subnormals, inf, NaN
 * payload kept).  float -> half rounds to nearest, ties to even; |f| >= 65520 gives
 * +-inf, magnitudes below 2^-25 give +-0, subnormal halves (k * 2^-24) are produced,
 * NaN stays a quiet NaN.  Pure functions, no errors. */
float subq_half_to_float(uint16_t h);
uint16_t subq_float_to_half(float f);

/* ---- .npy ------------------------------------------------------------------------ */
/* Format: NumPy Enhancement Proposal 1 ("A Simple File Format for NumPy Arrays") and
 * numpy/lib/format.py: "\x93NUMPY", version bytes, header length (uint16 LE for 1.0,
 * uint32 LE for 2.0/3.0), a Python dict literal {'descr', 'fortran_order', 'shape'}
 * padded with spaces and '\n', then the data. */
#define SUBQ_NPY_MAXDIM 8
typedef struct {
  subq_dtype_t dtype;
  int ndim;
  size_t shape[SUBQ_NPY_MAXDIM];
  int fortran_order;   /* 1 if 'fortran_order': True (rejected by the row readers) */
  size_t data_offset;  /* bytes from file start to the first element */
} subq_npy_info_t;

/* Parse the header of a .npy file (format versions 1.0, 2.0, 3.0; little-endian
 * '<f2','<f4','<f8', '|u1' (also '<u1'/'>u1')).  Checks magic, version, header length,
 * the dict syntax (exactly the three keys, no repeats, shape a tuple of non-negative
 * integers, ndim <= SUBQ_NPY_MAXDIM), dtype, and that the file holds exactly
 * prod(shape) * dtype size bytes after the header (a truncated file or a header that
 * lies about the shape is an error).  Arrays with 0 rows are accepted here (the row
 * readers and data sources reject them).  Not collective.
 * Errors: SUBQ_ERR_ARG (NULL argument), SUBQ_ERR_IO (cannot open), SUBQ_ERR_FORMAT
 * (anything malformed; message names the path and the problem), SUBQ_ERR_UNSUPPORTED
 * (big-endian, other dtypes, structured dtypes, ndim > SUBQ_NPY_MAXDIM). */
int subq_npy_info(const char *path, subq_npy_info_t *info);

/* Read rows [r0, r1) of the first dimension, converting to double (or float for _f32);
 * a row is prod(shape[1:]) elements (1 for a 1-D array); out is (r1-r0) x rowlen
 * row-major, caller-allocated.  Seeks to data_offset + r0 * rowlen * size and reads only
 * those rows.  info comes from subq_npy_info on the same file.  Not collective.
 * Errors: SUBQ_ERR_UNSUPPORTED (Fortran order with ndim >= 2 - 1-D arrays are fine
 * either way -, or a 0-d array), SUBQ_ERR_FORMAT ("has 0 rows"; data truncated since
 * the header was read), SUBQ_ERR_ARG (r0 > r1 or r1 > shape[0]), SUBQ_ERR_IO,
 * SUBQ_ERR_NUMERIC (a NaN/Inf value, or for _f32 a value that overflows float; the
 * message names the file, the flat element index and its row and column). */
int subq_npy_read_rows(const char *path, const subq_npy_info_t *info, size_t r0, size_t r1,
                       double *out);
int subq_npy_read_rows_f32(const char *path, const subq_npy_info_t *info, size_t r0,
                           size_t r1, float *out);

/* Write an array (C order, little-endian, format version 1.0, header padded with spaces
 * so that the data starts at a multiple of 64 bytes) atomically: to "path.tmp.<pid>",
 * fflush + fsync, then rename.  data holds prod(shape) elements of dtype (SUBQ_F16 as
 * uint16_t bit patterns); ndim 0..SUBQ_NPY_MAXDIM.  Not collective (call on one rank).
 * Errors: SUBQ_ERR_ARG (ndim, dtype, NULL shape/data), SUBQ_ERR_IO naming the path. */
int subq_npy_write(const char *path, subq_dtype_t dtype, int ndim, const size_t *shape,
                   const void *data);

/* ---- data sources (design.md "Data specifications") ------------------------------- */
/* spec: fmnist:train[:N] | fmnist:test[:N] | digits[:N] | npy:PATH | idx:PATH | csv:PATH |
 * synthetic:gauss:N,D[,seed] | synthetic:illcond:N,D[,seed].
 *
 * fmnist:*   Fashion-MNIST (Xiao, Rasul, Vollgraf 2017) from Debian's
 *            dataset-fashion-mnist: $SUBQ_FMNIST_DIR or /usr/share/datasets/fashion-mnist,
 *            {train,t10k}-images-idx3-ubyte.gz; 60000 / 10000 rows of 784 = 28x28 pixels
 *            (row-major image), value/255 in [0, 1].  N keeps the first N rows.
 * digits     scikit-learn's digits.csv.gz (python3-sklearn; $SUBQ_DIGITS_PATH overrides
 *            the search): 1797 rows of the 64 feature columns (8x8 images, values 0..16);
 *            the file's last column, the class label, is dropped.
 * npy:PATH   a .npy file (see above), 2-D (rows, cols) or 1-D (rows, one column); an
 *            array of 3 or more dimensions is refused (SUBQ_ERR_FORMAT naming the shape).
 * idx:PATH   an IDX file of unsigned bytes (LeCun's MNIST format, plain or gzip);
 *            rows = dims[0], cols = prod(dims[1:]), values byte/255.
 * csv:PATH   numeric CSV (plain or gzip; no header; blank lines skipped); all columns.
 * synthetic:gauss:N,D[,seed]    A[i][j] = subq_rng_gauss(seed, SUBQ_STREAM_SYNTHETIC,
 *            i*D + j), i.i.d. N(0,1); seed defaults to 0.  Any rank generates any row.
 * synthetic:illcond:N,D[,seed]  A[i][j] = G[i][j] * s_j with G the gauss matrix above
 *            (same seed and stream) and s_j = subq_source_illcond_scale(j, D) =
 *            10^(-10 j / (D-1)) (s_0 = 1, s_{D-1} = 1e-10; s = 1 when D = 1): columns
 *            scaled geometrically from 1 to 1e-10.  The j-th singular value of A lies in
 *            [sigma_min(G) s_j, sigma_max(G) s_j], and for N >> D sigma(G) is within
 *            sqrt(N) (1 +- sqrt(D/N)), so cond(A) is about 1e10. */
#define SUBQ_STREAM_SYNTHETIC 0x73796e7468ULL /* "synth": RNG stream of synthetic data */
typedef struct subq_source subq_source_t;

/* Open a data source: parse the spec, read only headers (CSV sources, which have no
 * header, are scanned once to count and check rows).  Not collective.
 * Errors: SUBQ_ERR_ARG (unknown kind, N or D not a positive integer, N larger than the
 * file's rows; the message quotes the spec), SUBQ_ERR_IO (file missing; for fmnist and
 * digits the message names the Debian package), SUBQ_ERR_FORMAT / SUBQ_ERR_UNSUPPORTED /
 * SUBQ_ERR_NUMERIC (file content, as the readers), SUBQ_ERR_MEM. */
int subq_source_open(const char *spec, subq_source_t **s);
size_t subq_source_rows(const subq_source_t *s);
size_t subq_source_cols(const subq_source_t *s);
const char *subq_source_describe(const subq_source_t *s); /* e.g. "fmnist:train (60000x784)" */
/* Read rows [r0, r1) as float64, row-major (r1-r0) x cols, caller-allocated; reads only
 * those rows (IDX.gz and CSV decompress/scan up to r1).  Fashion-MNIST pixels are
 * value/255.  Not collective.  Errors: SUBQ_ERR_ARG (range), then as the readers. */
int subq_source_read(subq_source_t *s, size_t r0, size_t r1, double *out);
void subq_source_close(subq_source_t **s); /* accepts NULL and *s == NULL */
/* Column scale s_j of synthetic:illcond (see above): 10^(-10 j/(d-1)), 1 when d < 2. */
double subq_source_illcond_scale(size_t j, size_t d);

/* ---- atomic files and summary.json ----------------------------------------------- */
/* Write buf[0..n) to path via "path.tmp.<pid>" + fflush + fsync + rename (+ fsync of the
 * directory, best effort): readers see the old file or the whole new one.  Not
 * collective.  Errors: SUBQ_ERR_ARG (NULL), SUBQ_ERR_IO naming the path. */
int subq_file_write_atomic(const char *path, const void *buf, size_t n);
/* mkdir -p (mode 0777 & ~umask); existing directories are fine.  Not collective.
 * Errors: SUBQ_ERR_IO naming the path and the component that failed (e.g. a file). */
int subq_mkdir_p(const char *path);

/* A small JSON (RFC 8259) object builder for summary.json (keys in insertion order,
 * indented output).  Strings are escaped ('"', '\\', control characters); numbers are
 * written with the fewest of 15..17 significant digits that round-trip exactly; NaN and
 * Inf become null; a NULL string value becomes null; arrays hold values, objects or
 * arrays.  Not collective, not thread-safe per object.  Every adder returns SUBQ_ERR_ARG
 * (NULL builder or key) or SUBQ_ERR_MEM, and on error leaves the text unchanged. */
typedef struct subq_json subq_json_t;
int subq_json_create(subq_json_t **j);
void subq_json_destroy(subq_json_t **j); /* accepts NULL and *j == NULL */
int subq_json_num(subq_json_t *j, const char *key, double v);   /* NaN/Inf -> null */
int subq_json_int(subq_json_t *j, const char *key, long long v);
int subq_json_str(subq_json_t *j, const char *key, const char *v);
int subq_json_bool(subq_json_t *j, const char *key, int v);
int subq_json_num_array(subq_json_t *j, const char *key, const double *v, size_t n);
/* Nested object: begin, add fields, end (at most 32 levels of objects and arrays; end
 * without begin is SUBQ_ERR_ARG). */
int subq_json_begin(subq_json_t *j, const char *key);
int subq_json_end(subq_json_t *j);
/* Array: begin_array(j, key), then elements, then end_array(j).  Elements are added with
 * the same calls and key = NULL: subq_json_num(j, NULL, v) etc. for values,
 * subq_json_begin(j, NULL) ... subq_json_end(j) for an object, begin_array(j, NULL) for a
 * nested array.  A key inside an array, a NULL key inside an object, and ending an array
 * with subq_json_end (or an object with subq_json_end_array) are SUBQ_ERR_ARG.  Output:
 *   "per_layer": [
 *     {
 *       "layer": 0
 *     }
 *   ]                         (an empty array is written "[]"). */
int subq_json_begin_array(subq_json_t *j, const char *key);
int subq_json_end_array(subq_json_t *j);
/* The text so far, with every open object closed ("{...}").  Valid until the next call
 * on j; NULL if out of memory. */
const char *subq_json_text(subq_json_t *j);
/* Write the closed object plus '\n' atomically (as subq_file_write_atomic).
 * Errors: SUBQ_ERR_ARG, SUBQ_ERR_MEM, SUBQ_ERR_IO naming the path. */
int subq_json_write(subq_json_t *j, const char *path);

#ifdef __cplusplus
}
#endif
#endif
