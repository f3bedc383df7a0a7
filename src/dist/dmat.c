/* subq dist: row-block distributed dense matrices: creation, loading, gather, product
 * with a small replicated matrix. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "dist_impl.h"
#include "subq/dist.h"

void subq_dist_block(size_t n, int size, int rank, size_t *r0, size_t *nloc) {
  size_t p = (size_t)(size > 0 ? size : 1), r = (size_t)(rank > 0 ? rank : 0);
  size_t q = n / p, rem = n % p;
  *nloc = q + (r < rem ? 1 : 0);
  *r0 = r * q + (r < rem ? r : rem);
}

static int dmat_alloc_local(MPI_Comm comm, size_t n, size_t d, subq_dtype_t dtype,
                            subq_dmat_t **out) {
  subq_dmat_t *A = NULL;
  SUBQ_CALL(SUBQ_ZALLOC(A, 1));
  A->comm = comm;
  MPI_Comm_rank(comm, &A->rank);
  MPI_Comm_size(comm, &A->size);
  A->n = n;
  A->d = d;
  A->dtype = dtype;
  subq_dist_block(n, A->size, A->rank, &A->r0, &A->nloc);
  size_t cnt = 0;
  int e = subq_size_mul(A->nloc, d, &cnt);
  if (!e) e = subq_calloc(cnt, subq_dtype_size(dtype), &A->data);
  if (e) {
    subq_free(&A);
    return subq_error_trace(e, __FILE__, __LINE__, __func__);
  }
  *out = A;
  return 0;
}

int subq_dmat_create(MPI_Comm comm, size_t n, size_t d, subq_dtype_t dtype, subq_dmat_t **A) {
  SUBQ_CHECK(A != NULL, SUBQ_ERR_ARG, "output pointer A is NULL");
  *A = NULL;
  SUBQ_CHECK(comm != MPI_COMM_NULL, SUBQ_ERR_ARG, "communicator is MPI_COMM_NULL");
  /* The dtype check is part of the agreed phase: a bad value on one rank fails all. */
  subq_dmat_t *M = NULL;
  int e = 0;
  if (dtype != SUBQ_F64 && dtype != SUBQ_F32)
    e = SUBQ_FAIL(SUBQ_ERR_ARG, "dmat dtype must be float64 or float32, got %d", (int)dtype);
  else
    e = dmat_alloc_local(comm, n, d, dtype, &M);
  e = subq_error_agree(comm, e);
  if (e) {
    subq_dmat_destroy(&M);
    return subq_error_trace(e, __FILE__, __LINE__, __func__);
  }
  *A = M;
  return 0;
}

void subq_dmat_destroy(subq_dmat_t **A) {
  if (!A || !*A) return;
  subq_free(&(*A)->data);
  subq_free(A);
}

void subq_dmat_rows_f64_(const subq_dmat_t *A, size_t i0, size_t m, double *out) {
  size_t cnt = m * A->d, off = i0 * A->d;
  if (A->dtype == SUBQ_F64) {
    memcpy(out, subq_dmat_f64_(A) + off, cnt * sizeof(double));
  } else {
    const float *src = subq_dmat_f32_(A) + off;
    for (size_t k = 0; k < cnt; k++) out[k] = src[k];
  }
}

/* Local part of subq_dmat_load: open the source, check the shape, read our rows. */
static int load_local(MPI_Comm comm, const char *spec, subq_dtype_t dtype, subq_dmat_t **out) {
  subq_source_t *src = NULL;
  subq_dmat_t *A = NULL;
  double *buf = NULL;
  int e = subq_source_open(spec, &src);
  if (e) return subq_error_trace(e, __FILE__, __LINE__, __func__);
  size_t n = subq_source_rows(src), d = subq_source_cols(src);
  e = dmat_alloc_local(comm, n, d, dtype, &A);
  if (!e && A->nloc > 0) {
    if (dtype == SUBQ_F64) {
      e = subq_source_read(src, A->r0, A->r0 + A->nloc, subq_dmat_f64_(A));
    } else {
      e = subq_malloc(A->nloc * d, sizeof(double), &buf);
      if (!e) e = subq_source_read(src, A->r0, A->r0 + A->nloc, buf);
      if (!e) {
        float *dst = subq_dmat_f32_(A);
        for (size_t k = 0; k < A->nloc * d && !e; k++) {
          dst[k] = (float)buf[k];
          if (!isfinite(dst[k]))
            e = SUBQ_FAIL(SUBQ_ERR_NUMERIC, "'%s': value %g at row %zu, column %zu overflows "
                          "float32 (use float64)", spec, buf[k], A->r0 + k / d, k % d);
        }
      }
    }
  }
  subq_free(&buf);
  subq_source_close(&src);
  if (e) {
    subq_dmat_destroy(&A);
    return subq_error_trace(e, __FILE__, __LINE__, __func__);
  }
  *out = A;
  return 0;
}

int subq_dmat_load(MPI_Comm comm, const char *spec, subq_dtype_t dtype, subq_dmat_t **A) {
  SUBQ_CHECK(A != NULL, SUBQ_ERR_ARG, "output pointer A is NULL");
  *A = NULL;
  SUBQ_CHECK(comm != MPI_COMM_NULL, SUBQ_ERR_ARG, "communicator is MPI_COMM_NULL");
  subq_dmat_t *M = NULL;
  int e = 0;
  if (!spec || !*spec)
    e = SUBQ_FAIL(SUBQ_ERR_ARG, "data specification is empty");
  else if (dtype != SUBQ_F64 && dtype != SUBQ_F32)
    e = SUBQ_FAIL(SUBQ_ERR_ARG, "dmat dtype must be float64 or float32, got %d", (int)dtype);
  else
    e = load_local(comm, spec, dtype, &M);
  /* Every rank must see the same global shape (e.g. the same file on all nodes); ranks
   * that failed take no part in the comparison. */
  {
    unsigned long long hi[2] = {0, 0}, lo[2] = {ULLONG_MAX, ULLONG_MAX}, mx[2], mn[2];
    if (M) {
      hi[0] = lo[0] = M->n;
      hi[1] = lo[1] = M->d;
    }
    if (MPI_Allreduce(hi, mx, 2, MPI_UNSIGNED_LONG_LONG, MPI_MAX, comm) != MPI_SUCCESS ||
        MPI_Allreduce(lo, mn, 2, MPI_UNSIGNED_LONG_LONG, MPI_MIN, comm) != MPI_SUCCESS) {
      if (!e) e = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce of the matrix shape failed");
    } else if (!e && (mx[0] != mn[0] || mx[1] != mn[1])) {
      e = SUBQ_FAIL(SUBQ_ERR_FORMAT,
                    "'%s' has different shapes on different ranks (%llux%llu here)", spec,
                    hi[0], hi[1]);
    }
  }
  e = subq_error_agree(comm, e);
  if (e) {
    subq_dmat_destroy(&M);
    return subq_error_trace(e, __FILE__, __LINE__, __func__);
  }
  *A = M;
  return 0;
}

/* Counts and displacements for a Gatherv of rows of `width` elements; 0 or ARG. */
static int gather_counts(MPI_Comm comm, size_t n, size_t width, int **counts, int **displs) {
  int size;
  MPI_Comm_size(comm, &size);
  SUBQ_CALL(SUBQ_ALLOC(*counts, size));
  SUBQ_CALL(SUBQ_ALLOC(*displs, size));
  for (int r = 0; r < size; r++) {
    size_t r0, nl;
    subq_dist_block(n, size, r, &r0, &nl);
    if (nl > 0 && (nl > (size_t)INT_MAX / (width ? width : 1) ||
                   r0 > (size_t)INT_MAX / (width ? width : 1) ||
                   (r0 + nl) * width > (size_t)INT_MAX))
      return SUBQ_FAIL(SUBQ_ERR_ARG,
                       "matrix too large to gather: %zu x %zu elements exceed MPI's int counts",
                       n, width);
    (*counts)[r] = (int)(nl * width);
    (*displs)[r] = (int)(r0 * width);
  }
  return 0;
}

static int gatherv_f64(MPI_Comm comm, size_t n, size_t width, const double *local,
                       size_t nloc, int root, double *full) {
  int *counts = NULL, *displs = NULL, rank;
  MPI_Comm_rank(comm, &rank);
  int e = gather_counts(comm, n, width, &counts, &displs);
  if (!e && rank == root && !full)
    e = SUBQ_FAIL(SUBQ_ERR_ARG, "output buffer `full` is NULL on the root rank %d", root);
  e = subq_error_agree(comm, e);
  if (!e) {
    int m = MPI_Gatherv(local, (int)(nloc * width), MPI_DOUBLE, full, counts, displs,
                        MPI_DOUBLE, root, comm);
    if (m != MPI_SUCCESS) e = subq_error_mpi(m, __FILE__, __LINE__, __func__, "MPI_Gatherv");
  }
  subq_free(&counts);
  subq_free(&displs);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : 0;
}

int subq_dmat_gather(const subq_dmat_t *A, int root, double *full) {
  SUBQ_CHECK(A != NULL, SUBQ_ERR_ARG, "matrix A is NULL");
  SUBQ_CHECK(root >= 0 && root < A->size, SUBQ_ERR_ARG, "root rank %d out of range [0, %d)",
             root, A->size);
  if (A->dtype == SUBQ_F64)
    return gatherv_f64(A->comm, A->n, A->d, subq_dmat_f64_(A), A->nloc, root, full);
  double *tmp = NULL;
  int e = subq_malloc(A->nloc * A->d, sizeof(double), &tmp);
  SUBQ_AGREE(A->comm, e);
  subq_dmat_rows_f64_(A, 0, A->nloc, tmp);
  e = gatherv_f64(A->comm, A->n, A->d, tmp, A->nloc, root, full);
  subq_free(&tmp);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : 0;
}

int subq_dist_gather_vec(MPI_Comm comm, size_t n, const double *local, int root,
                         double *full) {
  int size, rank;
  SUBQ_CHECK(comm != MPI_COMM_NULL, SUBQ_ERR_ARG, "communicator is MPI_COMM_NULL");
  MPI_Comm_size(comm, &size);
  MPI_Comm_rank(comm, &rank);
  SUBQ_CHECK(root >= 0 && root < size, SUBQ_ERR_ARG, "root rank %d out of range [0, %d)",
             root, size);
  size_t r0, nloc;
  subq_dist_block(n, size, rank, &r0, &nloc);
  return gatherv_f64(comm, n, 1, local, nloc, root, full);
}

int subq_dmat_mul_small(const subq_dmat_t *A, const double *B, size_t k, subq_dmat_t **C) {
  SUBQ_CHECK(A != NULL && B != NULL && C != NULL, SUBQ_ERR_ARG,
             "NULL argument (A %p, B %p, C %p)", (const void *)A, (const void *)B, (void *)C);
  *C = NULL;
  SUBQ_CHECK(A->d <= INT_MAX && k <= INT_MAX && A->nloc <= INT_MAX, SUBQ_ERR_ARG,
             "dimensions exceed BLAS int: nloc %zu, d %zu, k %zu", A->nloc, A->d, k);
  subq_dmat_t *M = NULL;
  SUBQ_CALL(subq_dmat_create(A->comm, A->n, k, A->dtype, &M));
  float *Bf = NULL;
  int e = 0;
  if (A->dtype == SUBQ_F32) e = subq_malloc(A->d * k, sizeof(float), &Bf);
  e = subq_error_agree(A->comm, e);
  if (e) {
    subq_dmat_destroy(&M);
    return subq_error_trace(e, __FILE__, __LINE__, __func__);
  }
  int m = (int)A->nloc, kk = (int)k, d = (int)A->d;
  if (m > 0 && kk > 0) {
    if (A->dtype == SUBQ_F64) {
      if (d > 0)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, kk, d, 1.0,
                    subq_dmat_f64_(A), d, B, kk, 0.0, subq_dmat_f64_(M), kk);
    } else {
      for (size_t t = 0; t < A->d * k; t++) Bf[t] = (float)B[t];
      if (d > 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, kk, d, 1.0f,
                    subq_dmat_f32_(A), d, Bf, kk, 0.0f, subq_dmat_f32_(M), kk);
    }
  }
  subq_free(&Bf);
  *C = M;
  return 0;
}
