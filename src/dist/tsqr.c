/* subq dist: TSQR, the R factor of a tall-skinny row-distributed matrix (Demmel,
 * Grigori, Hoemmen, Langou 2012, SIAM J. Sci. Comput. 34(1)): a sequential flat tree over
 * row chunks inside a rank (Sec. 4: each chunk is factored stacked under the running R,
 * so the working set stays in cache) and a binary tree over ranks (Sec. 3). */
#include <lapacke.h>
#include <string.h>

#include "dist_impl.h"
#include "subq/dist.h"

void subq_r_from_qr_colmajor_(size_t m, size_t d, const double *qr, size_t ld, double *R) {
  size_t k = m < d ? m : d;
  memset(R, 0, d * d * sizeof(double));
  for (size_t i = 0; i < k; i++)
    for (size_t j = i; j < d; j++) R[i * d + j] = qr[i + j * ld];
}

void subq_r_normalize_signs_(size_t d, double *R) {
  for (size_t i = 0; i < d; i++)
    if (R[i * d + i] < 0)
      for (size_t j = i; j < d; j++) R[i * d + j] = -R[i * d + j];
}

/* Workspace of one rank's TSQR. */
typedef struct {
  size_t d, chunk, ld;    /* columns, rows per chunk, leading dimension d + chunk */
  double *W, *tau, *work; /* ld x d column-major stack [R; chunk], d, lwork */
  lapack_int lwork;
} tsqr_ws_t;

static void ws_free(tsqr_ws_t *w) {
  subq_free(&w->W);
  subq_free(&w->tau);
  subq_free(&w->work);
}

static int ws_alloc(size_t d, size_t nloc, tsqr_ws_t *w) {
  memset(w, 0, sizeof(*w));
  w->d = d;
  /* About 2 MiB of stacked panel: in cache for the level-2 panel steps of dgeqrf. */
  size_t chunk = d > 0 ? (size_t)262144 / d : 1;
  if (chunk < 2 * d) chunk = 2 * d;
  if (chunk > nloc) chunk = nloc > d ? nloc : d;
  if (chunk == 0) chunk = 1;
  w->chunk = chunk;
  w->ld = d + chunk;
  SUBQ_CHECK(w->ld <= INT_MAX && d <= INT_MAX, SUBQ_ERR_ARG,
             "TSQR: panel %zu x %zu exceeds LAPACK int", w->ld, d);
  size_t cnt;
  SUBQ_CALL(subq_size_mul(w->ld, d > 0 ? d : 1, &cnt));
  SUBQ_CALL(SUBQ_ZALLOC(w->W, cnt));
  SUBQ_CALL(SUBQ_ALLOC(w->tau, d + 1));
  double q = 0;
  lapack_int info = LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, (lapack_int)w->ld, (lapack_int)d,
                                        w->W, (lapack_int)w->ld, w->tau, &q, -1);
  SUBQ_CHECK(info == 0, SUBQ_ERR_LAPACK, "dgeqrf workspace query: info = %d", (int)info);
  w->lwork = (lapack_int)q > 1 ? (lapack_int)q : 1;
  if (w->lwork < (lapack_int)(2 * d)) w->lwork = (lapack_int)(2 * d);
  SUBQ_CALL(SUBQ_ALLOC(w->work, (size_t)w->lwork));
  return 0;
}

/* QR of the m x d column-major panel in w->W (m <= ld); R (d x d row-major) <- its R. */
static int panel_qr(tsqr_ws_t *w, size_t m, double *R) {
  lapack_int info = LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, (lapack_int)m, (lapack_int)w->d,
                                        w->W, (lapack_int)w->ld, w->tau, w->work, w->lwork);
  SUBQ_CHECK(info == 0, SUBQ_ERR_LAPACK, "dgeqrf of a %zu x %zu panel: info = %d", m, w->d,
             (int)info);
  subq_r_from_qr_colmajor_(m, w->d, w->W, w->ld, R);
  return 0;
}

/* Put R (d x d row-major, upper) into rows [0, d) of the panel, column-major. */
static void panel_put_r(tsqr_ws_t *w, const double *R) {
  size_t d = w->d, ld = w->ld;
  for (size_t j = 0; j < d; j++)
    for (size_t i = 0; i < d; i++) w->W[i + j * ld] = i <= j ? R[i * d + j] : 0.0;
}

/* Flat tree over the local rows: R <- R factor of the local block (zero if no rows). */
static int tsqr_local(const subq_dmat_t *A, tsqr_ws_t *w, double *R) {
  size_t d = A->d, ld = w->ld;
  memset(R, 0, d * d * sizeof(double));
  if (d == 0) return 0;
  for (size_t i0 = 0; i0 < A->nloc; i0 += w->chunk) {
    size_t m = A->nloc - i0 < w->chunk ? A->nloc - i0 : w->chunk;
    size_t top = i0 == 0 ? 0 : d; /* the first chunk has no R above it */
    if (top) panel_put_r(w, R);
    double *P = w->W + top;
    if (A->dtype == SUBQ_F64) {
      const double *src = subq_dmat_f64_(A) + i0 * d;
      for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < d; j++) P[i + j * ld] = src[i * d + j];
    } else {
      const float *src = subq_dmat_f32_(A) + i0 * d;
      for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < d; j++) P[i + j * ld] = src[i * d + j];
    }
    SUBQ_CALL(panel_qr(w, top + m, R));
  }
  return 0;
}

/* Binary tree over ranks; on return rank 0 holds the R factor of A.  Errors are kept
 * local (the communication pattern is completed regardless) and agreed by the caller. */
static int tsqr_tree(const subq_dmat_t *A, tsqr_ws_t *w, double *R, double *Rp) {
  size_t d = A->d;
  int err = 0;
  for (int step = 1; step < A->size; step *= 2) {
    if (A->rank % (2 * step) == step) {
      int m = MPI_Send(R, (int)(d * d), MPI_DOUBLE, A->rank - step, 17, A->comm);
      if (m != MPI_SUCCESS && !err) err = subq_error_mpi(m, __FILE__, __LINE__, __func__, "MPI_Send");
      break;
    }
    if (A->rank % (2 * step) == 0 && A->rank + step < A->size) {
      int m = MPI_Recv(Rp, (int)(d * d), MPI_DOUBLE, A->rank + step, 17, A->comm,
                       MPI_STATUS_IGNORE);
      if (m != MPI_SUCCESS && !err) err = subq_error_mpi(m, __FILE__, __LINE__, __func__, "MPI_Recv");
      if (err) continue;
      /* Stack [R; Rp] (2d x d; ld >= 2d since chunk >= d) and factor. */
      panel_put_r(w, R);
      for (size_t j = 0; j < d; j++)
        for (size_t i = 0; i < d; i++) w->W[d + i + j * w->ld] = i <= j ? Rp[i * d + j] : 0.0;
      err = panel_qr(w, 2 * d, R);
    }
  }
  return err;
}

int subq_dmat_tsqr(const subq_dmat_t *A, double *R) {
  SUBQ_CHECK(A != NULL && R != NULL, SUBQ_ERR_ARG, "NULL argument (A %p, R %p)",
             (const void *)A, (void *)R);
  SUBQ_CHECK(A->d <= 46340, SUBQ_ERR_ARG, "TSQR: d = %zu too large (max 46340)", A->d);
  size_t d = A->d;
  if (d == 0) return 0;
  tsqr_ws_t w;
  double *Rp = NULL;
  int e = ws_alloc(d, A->nloc, &w);
  if (!e) e = SUBQ_ALLOC(Rp, d * d);
  if (!e) e = tsqr_local(A, &w, R);
  e = subq_error_agree(A->comm, e);
  if (!e) e = subq_error_agree(A->comm, tsqr_tree(A, &w, R, Rp));
  if (!e) {
    subq_r_normalize_signs_(d, R);
    int m = MPI_Bcast(R, (int)(d * d), MPI_DOUBLE, 0, A->comm);
    if (m != MPI_SUCCESS) e = subq_error_mpi(m, __FILE__, __LINE__, __func__, "MPI_Bcast");
  }
  ws_free(&w);
  subq_free(&Rp);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : 0;
}
