/* subq dist: bridge to ScaLAPACK: BLACS grids, row-block <-> 2D block-cyclic
 * redistribution (one MPI_Alltoallv each way), and the R factor by pdgeqrf.
 * Debian ships no C headers for ScaLAPACK/BLACS: the prototypes are declared here. */
#include <string.h>

#include "dist_impl.h"
#include "subq/dist.h"

extern int Csys2blacs_handle(MPI_Comm comm);
extern void Cfree_blacs_system_handle(int handle);
extern void Cblacs_gridinit(int *ctxt, const char *order, int nprow, int npcol);
extern void Cblacs_gridinfo(int ctxt, int *nprow, int *npcol, int *myrow, int *mycol);
extern void Cblacs_gridexit(int ctxt);
extern int numroc_(const int *n, const int *nb, const int *iproc, const int *isrcproc,
                   const int *nprocs);
extern void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb,
                      const int *irsrc, const int *icsrc, const int *ictxt, const int *lld,
                      int *info);
extern void pdgeqrf_(const int *m, const int *n, double *a, const int *ia, const int *ja,
                     const int *desca, double *tau, double *work, const int *lwork, int *info);

int subq_blacs_grid_create(MPI_Comm comm, int nprow, int npcol, subq_blacs_grid_t **g) {
  SUBQ_CHECK(g != NULL, SUBQ_ERR_ARG, "output pointer g is NULL");
  *g = NULL;
  SUBQ_CHECK(comm != MPI_COMM_NULL, SUBQ_ERR_ARG, "communicator is MPI_COMM_NULL");
  int size;
  MPI_Comm_size(comm, &size);
  if (nprow <= 0 && npcol <= 0) {
    npcol = 1;
    for (int c = 1; c * c <= size; c++)
      if (size % c == 0) npcol = c;
    nprow = size / npcol;
  }
  subq_blacs_grid_t *G = NULL;
  int e0 = 0;
  if (nprow <= 0 || npcol <= 0 || nprow * npcol != size)
    e0 = SUBQ_FAIL(SUBQ_ERR_ARG, "BLACS grid %d x %d does not match the %d ranks of the communicator",
                   nprow, npcol, size);
  else
    e0 = SUBQ_ZALLOC(G, 1);
  e0 = subq_error_agree(comm, e0);
  if (e0) {
    subq_free(&G);
    return subq_error_trace(e0, __FILE__, __LINE__, __func__);
  }
  G->comm = comm;
  G->sys_handle = Csys2blacs_handle(comm);
  G->ctxt = G->sys_handle;
  Cblacs_gridinit(&G->ctxt, "Row", nprow, npcol);
  Cblacs_gridinfo(G->ctxt, &G->nprow, &G->npcol, &G->myrow, &G->mycol);
  int bad = G->ctxt < 0 || G->myrow < 0 || G->nprow != nprow || G->npcol != npcol;
  int e = bad ? SUBQ_FAIL(SUBQ_ERR_LAPACK, "Cblacs_gridinit %d x %d failed", nprow, npcol) : 0;
  e = subq_error_agree(comm, e);
  if (e) {
    if (G->ctxt >= 0 && !bad) Cblacs_gridexit(G->ctxt);
    Cfree_blacs_system_handle(G->sys_handle);
    subq_free(&G);
    return subq_error_trace(e, __FILE__, __LINE__, __func__);
  }
  *g = G;
  return 0;
}

void subq_blacs_grid_destroy(subq_blacs_grid_t **g) {
  if (!g || !*g) return;
  Cblacs_gridexit((*g)->ctxt);
  Cfree_blacs_system_handle((*g)->sys_handle);
  subq_free(g);
}

void subq_bcmat_destroy(subq_bcmat_t **B) {
  if (!B || !*B) return;
  subq_free(&(*B)->data);
  subq_free(B);
}

/* Redistribution plan between the row blocks of an n x d matrix and a block-cyclic
 * layout: owner rank of every (row, column) and the local block-cyclic index. */
typedef struct {
  int size, *grid_rank; /* grid_rank[prow * npcol + pcol] = MPI rank in comm */
  int *cnt_rb, *dsp_rb; /* per-rank counts on the row-block side */
  int *cnt_bc, *dsp_bc; /* per-rank counts on the block-cyclic side */
} redist_t;

static void redist_free(redist_t *r) {
  subq_free(&r->grid_rank);
  subq_free(&r->cnt_rb);
  subq_free(&r->dsp_rb);
  subq_free(&r->cnt_bc);
  subq_free(&r->dsp_bc);
}

static inline int bc_owner(size_t i, int mb, int np) { return (int)((i / (size_t)mb) % (size_t)np); }
static inline size_t bc_local(size_t i, int mb, int np) {
  return (i / ((size_t)mb * (size_t)np)) * (size_t)mb + i % (size_t)mb;
}

/* Counts: rank q of the row-block side sends to/receives from each grid process the
 * elements of its rows that the process owns. */
static int redist_plan(const subq_dmat_t *A, const subq_bcmat_t *B, redist_t *r) {
  const subq_blacs_grid_t *g = B->grid;
  int P = A->size;
  memset(r, 0, sizeof(*r));
  r->size = P;
  SUBQ_CALL(SUBQ_ALLOC(r->grid_rank, P));
  SUBQ_CALL(SUBQ_ZALLOC(r->cnt_rb, P));
  SUBQ_CALL(SUBQ_ZALLOC(r->dsp_rb, P));
  SUBQ_CALL(SUBQ_ZALLOC(r->cnt_bc, P));
  SUBQ_CALL(SUBQ_ZALLOC(r->dsp_bc, P));
  int me = g->myrow * g->npcol + g->mycol, *all = NULL;
  SUBQ_CALL(SUBQ_ALLOC(all, P));
  int m = MPI_Allgather(&me, 1, MPI_INT, all, 1, MPI_INT, A->comm);
  if (m == MPI_SUCCESS)
    for (int q = 0; q < P; q++) r->grid_rank[all[q]] = q;
  subq_free(&all);
  if (m != MPI_SUCCESS) return subq_error_mpi(m, __FILE__, __LINE__, __func__, "MPI_Allgather");
  /* Columns per process column. */
  size_t *ncol_pc = NULL;
  SUBQ_CALL(SUBQ_ZALLOC(ncol_pc, g->npcol));
  for (size_t j = 0; j < A->d; j++) ncol_pc[bc_owner(j, B->nb, g->npcol)]++;
  /* Row-block side: my rows by process row. */
  size_t tot = 0;
  for (size_t i = A->r0; i < A->r0 + A->nloc; i++) {
    int pr = bc_owner(i, B->mb, g->nprow);
    for (int pc = 0; pc < g->npcol; pc++)
      r->cnt_rb[r->grid_rank[pr * g->npcol + pc]] += (int)ncol_pc[pc];
  }
  /* Block-cyclic side: rows of each row-block rank that are in my process row. */
  size_t mycols = ncol_pc[g->mycol];
  subq_free(&ncol_pc);
  for (int q = 0; q < P; q++) {
    size_t q0, qn, c = 0;
    subq_dist_block(A->n, P, q, &q0, &qn);
    for (size_t i = q0; i < q0 + qn; i++) c += bc_owner(i, B->mb, g->nprow) == g->myrow;
    r->cnt_bc[q] = (int)(c * mycols);
  }
  size_t s1 = 0, s2 = 0;
  for (int q = 0; q < P; q++) {
    r->dsp_rb[q] = (int)s1;
    r->dsp_bc[q] = (int)s2;
    s1 += (size_t)r->cnt_rb[q];
    s2 += (size_t)r->cnt_bc[q];
  }
  tot = s1 > s2 ? s1 : s2;
  SUBQ_CHECK(tot <= (size_t)INT_MAX, SUBQ_ERR_ARG,
             "redistribution of %zu local elements exceeds MPI's int counts", tot);
  return 0;
}

/* Allocate B (descriptor, local storage) for the global shape of A. */
static int bcmat_alloc(const subq_dmat_t *A, const subq_blacs_grid_t *g, int mb, int nb,
                       subq_bcmat_t **out) {
  subq_bcmat_t *B = NULL;
  SUBQ_CALL(SUBQ_ZALLOC(B, 1));
  *out = B;
  B->grid = g;
  B->m = A->n;
  B->n = A->d;
  B->mb = mb;
  B->nb = nb;
  int m = (int)A->n, n = (int)A->d, zero = 0, info = 0;
  B->mloc = numroc_(&m, &mb, &g->myrow, &zero, &g->nprow);
  B->nloc = numroc_(&n, &nb, &g->mycol, &zero, &g->npcol);
  int lld = B->mloc > 1 ? B->mloc : 1;
  descinit_(B->desc, &m, &n, &mb, &nb, &zero, &zero, &g->ctxt, &lld, &info);
  SUBQ_CHECK(info == 0, SUBQ_ERR_LAPACK, "descinit: info = %d (m %d, n %d, mb %d, nb %d)",
             info, m, n, mb, nb);
  SUBQ_CALL(SUBQ_ZALLOC(B->data, (size_t)lld * (size_t)(B->nloc > 0 ? B->nloc : 1)));
  return 0;
}

static int check_shapes(const subq_dmat_t *A, const subq_blacs_grid_t *g, int mb, int nb) {
  SUBQ_CHECK(A->n <= INT_MAX && A->d <= INT_MAX, SUBQ_ERR_ARG,
             "ScaLAPACK needs int dimensions, got %zu x %zu", A->n, A->d);
  SUBQ_CHECK(mb > 0 && nb > 0, SUBQ_ERR_ARG, "block sizes must be positive, got %d x %d", mb, nb);
  int cmp = MPI_UNEQUAL;
  MPI_Comm_compare(A->comm, g->comm, &cmp);
  SUBQ_CHECK(cmp == MPI_IDENT || cmp == MPI_CONGRUENT, SUBQ_ERR_ARG,
             "the BLACS grid and the matrix use different communicators");
  return 0;
}

int subq_dmat_to_block_cyclic(const subq_dmat_t *A, const subq_blacs_grid_t *g, int mb,
                              int nb, subq_bcmat_t **out) {
  SUBQ_CHECK(A && g && out, SUBQ_ERR_ARG, "NULL argument");
  *out = NULL;
  SUBQ_CALL(check_shapes(A, g, mb, nb));
  subq_bcmat_t *B = NULL;
  redist_t r;
  memset(&r, 0, sizeof(r));
  double *sbuf = NULL, *rbuf = NULL, *row = NULL;
  int *cur = NULL;
  int e = bcmat_alloc(A, g, mb, nb, &B);
  if (!e) e = redist_plan(A, B, &r);
  if (!e) e = subq_malloc((size_t)r.dsp_rb[r.size - 1] + (size_t)r.cnt_rb[r.size - 1] + 1, sizeof(double), &sbuf);
  if (!e) e = subq_malloc((size_t)r.dsp_bc[r.size - 1] + (size_t)r.cnt_bc[r.size - 1] + 1, sizeof(double), &rbuf);
  if (!e) e = SUBQ_ALLOC(cur, r.size);
  if (!e) e = SUBQ_ALLOC(row, A->d + 1);
  e = subq_error_agree(A->comm, e);
  if (!e) {
    size_t d = A->d;
    memcpy(cur, r.dsp_rb, sizeof(int) * (size_t)r.size);
    for (size_t i = 0; i < A->nloc; i++) {
      subq_dmat_rows_f64_(A, i, 1, row);
      int pr = bc_owner(A->r0 + i, mb, g->nprow);
      for (size_t j = 0; j < d; j++) {
        int q = r.grid_rank[pr * g->npcol + bc_owner(j, nb, g->npcol)];
        sbuf[cur[q]++] = row[j];
      }
    }
    int m = MPI_Alltoallv(sbuf, r.cnt_rb, r.dsp_rb, MPI_DOUBLE, rbuf, r.cnt_bc, r.dsp_bc,
                          MPI_DOUBLE, A->comm);
    if (m != MPI_SUCCESS) e = subq_error_mpi(m, __FILE__, __LINE__, __func__, "MPI_Alltoallv");
    for (int q = 0; !e && q < r.size; q++) {
      size_t q0, qn, k = (size_t)r.dsp_bc[q], lld = (size_t)B->desc[8];
      subq_dist_block(A->n, r.size, q, &q0, &qn);
      for (size_t i = q0; i < q0 + qn; i++) {
        if (bc_owner(i, mb, g->nprow) != g->myrow) continue;
        size_t li = bc_local(i, mb, g->nprow);
        for (size_t j = 0; j < d; j++)
          if (bc_owner(j, nb, g->npcol) == g->mycol)
            B->data[li + bc_local(j, nb, g->npcol) * lld] = rbuf[k++];
      }
    }
    e = subq_error_agree(A->comm, e);
  }
  redist_free(&r);
  subq_free(&sbuf);
  subq_free(&rbuf);
  subq_free(&cur);
  subq_free(&row);
  if (e) {
    subq_bcmat_destroy(&B);
    return subq_error_trace(e, __FILE__, __LINE__, __func__);
  }
  *out = B;
  return 0;
}

int subq_dmat_from_block_cyclic(const subq_bcmat_t *B, subq_dmat_t *A) {
  SUBQ_CHECK(A && B, SUBQ_ERR_ARG, "NULL argument");
  SUBQ_CHECK(A->n == B->m && A->d == B->n, SUBQ_ERR_ARG,
             "shape mismatch: row-block %zu x %zu, block-cyclic %zu x %zu", A->n, A->d, B->m,
             B->n);
  const subq_blacs_grid_t *g = B->grid;
  SUBQ_CALL(check_shapes(A, g, B->mb, B->nb));
  int mb = B->mb, nb = B->nb;
  redist_t r;
  double *sbuf = NULL, *rbuf = NULL;
  int *cur = NULL;
  int e = redist_plan(A, B, &r);
  if (!e) e = subq_malloc((size_t)r.dsp_bc[r.size - 1] + (size_t)r.cnt_bc[r.size - 1] + 1, sizeof(double), &sbuf);
  if (!e) e = subq_malloc((size_t)r.dsp_rb[r.size - 1] + (size_t)r.cnt_rb[r.size - 1] + 1, sizeof(double), &rbuf);
  if (!e) e = SUBQ_ALLOC(cur, r.size);
  e = subq_error_agree(A->comm, e);
  if (!e) {
    size_t d = A->d, lld = (size_t)B->desc[8];
    size_t k = 0;
    for (int q = 0; q < r.size; q++) {
      size_t q0, qn;
      subq_dist_block(A->n, r.size, q, &q0, &qn);
      for (size_t i = q0; i < q0 + qn; i++) {
        if (bc_owner(i, mb, g->nprow) != g->myrow) continue;
        size_t li = bc_local(i, mb, g->nprow);
        for (size_t j = 0; j < d; j++)
          if (bc_owner(j, nb, g->npcol) == g->mycol)
            sbuf[k++] = B->data[li + bc_local(j, nb, g->npcol) * lld];
      }
    }
    int m = MPI_Alltoallv(sbuf, r.cnt_bc, r.dsp_bc, MPI_DOUBLE, rbuf, r.cnt_rb, r.dsp_rb,
                          MPI_DOUBLE, A->comm);
    if (m != MPI_SUCCESS) e = subq_error_mpi(m, __FILE__, __LINE__, __func__, "MPI_Alltoallv");
    if (!e) {
      memcpy(cur, r.dsp_rb, sizeof(int) * (size_t)r.size);
      for (size_t i = 0; i < A->nloc; i++) {
        int pr = bc_owner(A->r0 + i, mb, g->nprow);
        for (size_t j = 0; j < d; j++) {
          int q = r.grid_rank[pr * g->npcol + bc_owner(j, nb, g->npcol)];
          double v = rbuf[cur[q]++];
          if (A->dtype == SUBQ_F64)
            subq_dmat_f64_(A)[i * d + j] = v;
          else
            subq_dmat_f32_(A)[i * d + j] = (float)v;
        }
      }
    }
    e = subq_error_agree(A->comm, e);
  }
  redist_free(&r);
  subq_free(&sbuf);
  subq_free(&rbuf);
  subq_free(&cur);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : 0;
}

/* R (d x d row-major, this rank's entries only, zero elsewhere) from the pdgeqrf
 * factor in B. */
static void bc_extract_r(const subq_bcmat_t *B, double *R) {
  const subq_blacs_grid_t *g = B->grid;
  size_t d = B->n, kmax = B->m < d ? B->m : d, lld = (size_t)B->desc[8];
  size_t mb = (size_t)B->mb, nb = (size_t)B->nb;
  memset(R, 0, d * d * sizeof(double));
  for (int lj = 0; lj < B->nloc; lj++) {
    size_t j = ((size_t)lj / nb * (size_t)g->npcol + (size_t)g->mycol) * nb + (size_t)lj % nb;
    for (int li = 0; li < B->mloc; li++) {
      size_t i = ((size_t)li / mb * (size_t)g->nprow + (size_t)g->myrow) * mb + (size_t)li % mb;
      if (i <= j && i < kmax) R[i * d + j] = B->data[(size_t)li + (size_t)lj * lld];
    }
  }
}

/* pdgeqrf on B in place, in phases so that no rank enters a ScaLAPACK collective that
 * another rank skips: allocate tau (agree), workspace query (collective), allocate work
 * (agree), factor (collective), agree on info. */
static int bc_qr(subq_bcmat_t *B, MPI_Comm comm) {
  int m = (int)B->m, n = (int)B->n, one = 1, lwork = -1, info = 0;
  double q = 0, *tau = NULL, *work = NULL;
  int e = subq_error_agree(comm, SUBQ_ALLOC(tau, (size_t)B->nloc + 1));
  if (!e) {
    pdgeqrf_(&m, &n, B->data, &one, &one, B->desc, tau, &q, &lwork, &info);
    e = info ? SUBQ_FAIL(SUBQ_ERR_LAPACK, "pdgeqrf workspace query: info = %d", info) : 0;
    lwork = (int)q + 1;
    if (!e) e = SUBQ_ALLOC(work, (size_t)lwork);
    e = subq_error_agree(comm, e);
  }
  if (!e) {
    pdgeqrf_(&m, &n, B->data, &one, &one, B->desc, tau, work, &lwork, &info);
    e = info ? SUBQ_FAIL(SUBQ_ERR_LAPACK, "pdgeqrf of %d x %d: info = %d", m, n, info) : 0;
    e = subq_error_agree(comm, e);
  }
  subq_free(&tau);
  subq_free(&work);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : 0;
}

int subq_dmat_qr_scalapack(const subq_dmat_t *A, int nprow, int npcol, int mb, double *R) {
  SUBQ_CHECK(A != NULL && R != NULL, SUBQ_ERR_ARG, "NULL argument (A %p, R %p)",
             (const void *)A, (void *)R);
  SUBQ_CHECK(A->d <= 46340, SUBQ_ERR_ARG, "d = %zu too large (max 46340)", A->d);
  if (A->d == 0) return 0;
  if (A->n == 0) {
    memset(R, 0, A->d * A->d * sizeof(double));
    return 0;
  }
  if (mb <= 0) mb = 64;
  subq_blacs_grid_t *g = NULL;
  subq_bcmat_t *B = NULL;
  SUBQ_CALL(subq_blacs_grid_create(A->comm, nprow, npcol, &g));
  int e = subq_dmat_to_block_cyclic(A, g, mb, mb, &B);
  if (!e) e = bc_qr(B, A->comm);
  if (!e) {
    bc_extract_r(B, R);
    int m = MPI_Allreduce(MPI_IN_PLACE, R, (int)(A->d * A->d), MPI_DOUBLE, MPI_SUM, A->comm);
    if (m != MPI_SUCCESS) e = subq_error_mpi(m, __FILE__, __LINE__, __func__, "MPI_Allreduce");
    subq_r_normalize_signs_(A->d, R);
  }
  subq_bcmat_destroy(&B);
  subq_blacs_grid_destroy(&g);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : 0;
}
