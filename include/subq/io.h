/* subq io: readers for .npy (v1-3), IDX (optionally gzip), CSV, data specifications,
 * KV dumps; atomic writers for .npy and summary.json.  Every reader validates the header
 * against the file size and rejects NaN/Inf values; every error names the file and the
 * problem.  Readers read only the requested rows (each rank reads its own block). */
#ifndef SUBQ_IO_H
#define SUBQ_IO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { SUBQ_F64 = 0, SUBQ_F32 = 1, SUBQ_F16 = 2, SUBQ_U8 = 3 } subq_dtype_t;
/* Bytes per element of a dtype. */
size_t subq_dtype_size(subq_dtype_t t);
/* IEEE half -> float and float -> half (round to nearest even). */
float subq_half_to_float(uint16_t h);
uint16_t subq_float_to_half(float f);

/* ---- .npy ------------------------------------------------------------------------ */
#define SUBQ_NPY_MAXDIM 8
typedef struct {
  subq_dtype_t dtype;
  int ndim;
  size_t shape[SUBQ_NPY_MAXDIM];
  int fortran_order;   /* 1 if 'fortran_order': True (rejected by the row readers) */
  size_t data_offset;  /* bytes from file start to the first element */
} subq_npy_info_t;

/* Parse the header of a .npy file (format versions 1.0, 2.0, 3.0; little-endian
 * '<f2','<f4','<f8', '|u1').  Checks magic, version, header syntax, dtype, and that the
 * file holds exactly prod(shape) elements after the header.
 * Errors: SUBQ_ERR_IO (cannot open), SUBQ_ERR_FORMAT (anything malformed; message
 * names the path and the problem), SUBQ_ERR_UNSUPPORTED (big-endian, other dtypes). */
int subq_npy_info(const char *path, subq_npy_info_t *info);

/* Read rows [r0, r1) of the first dimension, converting to double (or float for _f32);
 * a row is prod(shape[1:]) elements; out is (r1-r0) x rowlen row-major.  Fortran order
 * with ndim >= 2 is rejected with SUBQ_ERR_UNSUPPORTED.  Non-finite values give
 * SUBQ_ERR_NUMERIC naming the file and the element index. */
int subq_npy_read_rows(const char *path, const subq_npy_info_t *info, size_t r0, size_t r1,
                       double *out);
int subq_npy_read_rows_f32(const char *path, const subq_npy_info_t *info, size_t r0,
                           size_t r1, float *out);

/* Write an array (C order) atomically: to "path.tmp.<pid>" then rename.  data holds
 * prod(shape) elements of dtype.  Errors: SUBQ_ERR_IO naming the path. */
int subq_npy_write(const char *path, subq_dtype_t dtype, int ndim, const size_t *shape,
                   const void *data);

/* ---- data sources (design.md "Data specifications") ------------------------------- */
/* spec: fmnist:train[:N] | fmnist:test[:N] | digits | npy:PATH | idx:PATH | csv:PATH |
 * synthetic:gauss:N,D[,seed] | synthetic:illcond:N,D[,seed]. */
typedef struct subq_source subq_source_t;

/* Open a data source: parse the spec, read only headers.  Not collective.
 * Errors: SUBQ_ERR_ARG (bad spec, named), SUBQ_ERR_IO / SUBQ_ERR_FORMAT (file). */
int subq_source_open(const char *spec, subq_source_t **s);
size_t subq_source_rows(const subq_source_t *s);
size_t subq_source_cols(const subq_source_t *s);
const char *subq_source_describe(const subq_source_t *s); /* e.g. "fmnist:train (60000x784)" */
/* Read rows [r0, r1) as float64, row-major (r1-r0) x cols.  Fashion-MNIST pixels are
 * value/255.  Errors as the readers above. */
int subq_source_read(subq_source_t *s, size_t r0, size_t r1, double *out);
void subq_source_close(subq_source_t **s);

/* ---- atomic files and summary.json ----------------------------------------------- */
/* Write buf[0..n) to path via "path.tmp.<pid>" + fsync + rename. Errors: SUBQ_ERR_IO. */
int subq_file_write_atomic(const char *path, const void *buf, size_t n);
/* mkdir -p.  Errors: SUBQ_ERR_IO naming the path. */
int subq_mkdir_p(const char *path);

/* A small JSON object builder for summary.json (keys in insertion order). */
typedef struct subq_json subq_json_t;
int subq_json_create(subq_json_t **j);
void subq_json_destroy(subq_json_t **j);
int subq_json_num(subq_json_t *j, const char *key, double v);   /* NaN/Inf -> null */
int subq_json_int(subq_json_t *j, const char *key, long long v);
int subq_json_str(subq_json_t *j, const char *key, const char *v);
int subq_json_bool(subq_json_t *j, const char *key, int v);
int subq_json_num_array(subq_json_t *j, const char *key, const double *v, size_t n);
/* Nested object: begin, add fields, end. */
int subq_json_begin(subq_json_t *j, const char *key);
int subq_json_end(subq_json_t *j);
/* The text so far, closed ("{...}").  Valid until the next call on j. */
const char *subq_json_text(subq_json_t *j);
/* Write the closed object atomically. */
int subq_json_write(subq_json_t *j, const char *path);

#ifdef __cplusplus
}
#endif
#endif
