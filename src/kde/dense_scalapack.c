/* Dense kernel-matrix reference with ScaLAPACK: the kernel matrix is built directly in
 * the 2D block-cyclic layout (each process computes its own blocks) and its spectrum is
 * computed for the wanted end of the spectrum only, by pdsyevr (MRRR) on square process
 * grids and pdsyevx on the others; the same for the
 * normalised Laplacian of the kernel graph.
 * Debian ships no C headers for ScaLAPACK: the prototypes are declared here (gfortran
 * calling convention, hidden character lengths appended). */
#include <math.h>
#include <string.h>

#include "kde/kde_impl.h"

extern int numroc_(const int *n, const int *nb, const int *iproc, const int *isrcproc,
                   const int *nprocs);
extern void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb,
                      const int *irsrc, const int *icsrc, const int *ictxt, const int *lld,
                      int *info);
extern void pdsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *ia,
                     const int *ja, const int *desca, double *w, double *z, const int *iz,
                     const int *jz, const int *descz, double *work, const int *lwork,
                     int *iwork, const int *liwork, int *info, size_t ljobz, size_t luplo);
extern void pdsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *ia,
                    const int *ja, const int *desca, double *w, double *z, const int *iz,
                    const int *jz, const int *descz, double *work, const int *lwork, int *info,
                    size_t ljobz, size_t luplo);

extern void pdsyevx_(const char *jobz, const char *range, const char *uplo, const int *n,
                     double *a, const int *ia, const int *ja, const int *desca,
                     const double *vl, const double *vu, const int *il, const int *iu,
                     const double *abstol, int *m, int *nz, double *w, const double *orfac,
                     double *z, const int *iz, const int *jz, const int *descz, double *work,
                     const int *lwork, int *iwork, const int *liwork, int *ifail, int *iclustr,
                     double *gap, int *info, size_t ljobz, size_t lrange, size_t luplo);
extern void pdsyevr_(const char *jobz, const char *range, const char *uplo, const int *n,
                     double *a, const int *ia, const int *ja, const int *desca,
                     const double *vl, const double *vu, const int *il, const int *iu, int *m,
                     int *nz, double *w, double *z, const int *iz, const int *jz,
                     const int *descz, double *work, const int *lwork, int *iwork,
                     const int *liwork, int *info, size_t ljobz, size_t lrange, size_t luplo);

/* Block-cyclic owner and local index of global index i (blocks of nb over np processes,
 * source process 0). */
static inline int bc_owner_(size_t i, int nb, int np) { return (int)((i / (size_t)nb) % (size_t)np); }
static inline size_t bc_local_(size_t i, int nb, int np) {
  return (i / ((size_t)nb * (size_t)np)) * (size_t)nb + i % (size_t)nb;
}

/* Xr (mloc x d) = the points of this process row's matrix rows, Xc (nloc x d) = those of
 * its columns, by one broadcast of each rank's row block in turn. */
static int bc_points_(const subq_dmat_t *X, const subq_blacs_grid_t *g, int nb, double *Xr,
                      double *Xc) {
  const size_t d = X->d, maxloc = X->n / (size_t)X->size + 1;
  double *blk = NULL;
  SUBQ_CALL(subq_error_agree(X->comm, subq_malloc(maxloc, d * sizeof(double), &blk)));
  int e = 0;
  for (int r = 0; !e && r < X->size; r++) {
    size_t r0, nr;
    subq_dist_block(X->n, X->size, r, &r0, &nr);
    if (r == X->rank && nr) memcpy(blk, X->data, nr * d * sizeof *blk);
    if (MPI_Bcast(blk, (int)(nr * d), MPI_DOUBLE, r, X->comm) != MPI_SUCCESS) {
      e = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Bcast of row block %d failed", r);
      break;
    }
    for (size_t i = r0; i < r0 + nr; i++) {
      if (bc_owner_(i, nb, g->nprow) == g->myrow)
        memcpy(Xr + bc_local_(i, nb, g->nprow) * d, blk + (i - r0) * d, d * sizeof *blk);
      if (bc_owner_(i, nb, g->npcol) == g->mycol)
        memcpy(Xc + bc_local_(i, nb, g->npcol) * d, blk + (i - r0) * d, d * sizeof *blk);
    }
  }
  subq_free(&blk);
  return e;
}

/* After a ScaLAPACK workspace query (error e on this rank): e agreed over comm and, when
 * none, qi = {LWORK, LIWORK} replaced by its maximum over the ranks (the queries differ
 * between processes, and some routines pass a process's share on to pdormtr, which
 * rejects a smaller figure than another process's). */
static int bc_query_max_(MPI_Comm comm, int e, double qi[2]) {
  e = subq_error_agree(comm, e);
  if (!e && MPI_Allreduce(MPI_IN_PLACE, qi, 2, MPI_DOUBLE, MPI_MAX, comm) != MPI_SUCCESS)
    e = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce of the workspace sizes failed");
  return e;
}

/* Largest n for which pdsyntrd may copy the matrix to the largest square sub-grid
 * (subq_scalapack_eig_set_tailored_max). */
static size_t tailored_max_ = 16000;

void subq_scalapack_eig_set_tailored_max(size_t n) { tailored_max_ = n; }

/* UPLO and workspace for the subset eigensolvers.  n <= tailored_max_: UPLO = 'L' and the
 * queried optimum q, with which their pdsyntrd copies the matrix to the largest square
 * sub-grid (one process of a 2 x 1 grid) and reduces it there with LAPACK's dsytrd or
 * pdsyttrd, 2.4x less CPU time than the in-place 2D reduction at n = 6000 on 2 processes
 * (8 n^2 bytes of workspace per rank).  Above: UPLO = 'U', which never takes that path
 * (its pdgemr2d buffer size overflows a 32-bit int above n = 16,383: "xxmr2d: out of
 * memory", ScaLAPACK 2.2), and the documented minimum instead of q (pdsyevr: 5n + 3 +
 * max(18 n, NP0 MQ0 + 2 nb^2) + (ceil(mz / P) + 2) n; pdsyevx: 5n + max(5 NN, NP0 MQ0 +
 * 2 nb^2) + ceil(mz / P) NN, NN = max(n, nb, 2); one bound covers both).  Either way plus
 * pdormtr's own minimum and, for pdsyevx, room to reorthogonalize a cluster of all mz
 * vectors. */
static int bc_subset_lwork_(int n, int nb, int nprow, int npcol, int mz, double q, int want_vecs) {
  int zero = 0, nn = n > nb ? n : nb, np = nprow * npcol, mzb = mz > nb ? mz : nb;
  nn = nn > 2 ? nn : 2;
  const double np0 = numroc_(&n, &nb, &zero, &zero, &nprow);
  const double mq0 = numroc_(&mzb, &nb, &zero, &zero, &npcol);
  const double need = 6.0 * n + 3 + fmax(fmax(18.0 * n, 5.0 * nn), np0 * mq0 + 2.0 * nb * nb) +
                      ((mz + np - 1) / np + 2.0) * nn;
  const double ormtr = fmax(nb * (nb - 1) / 2.0, 2.0 * (n + nb) * nb) + (double)nb * nb;
  const double extra = 4.0 * n + 1000 + ormtr + (want_vecs ? (double)mz * n : 0);
  const int tailored = (size_t)n <= tailored_max_;
  return (int)fmin(2147483000.0, (tailored ? q * 1.1 : fmin(q * 1.1, need)) + extra);
}

static const char *bc_uplo_(int n) { return (size_t)n <= tailored_max_ ? "L" : "U"; }

/* After a subset eigensolver (name): its info and counts checked, agreed, and w[0..iu-il]
 * taken from rank 0 (W is documented as global; every rank then reports the same). */
static int bc_subset_done_(MPI_Comm comm, const char *name, int n, int info, int m, int nz,
                           int il, int iu, int want_vecs, double *w) {
  int e = 0;
  if (info) e = SUBQ_FAIL(SUBQ_ERR_LAPACK, "%s of the %d x %d matrix: info = %d", name, n, n, info);
  else if (m != iu - il + 1 || (want_vecs && nz != m))
    e = SUBQ_FAIL(SUBQ_ERR_LAPACK, "%s found %d eigenvalues and %d vectors of %d..%d", name, m,
                  nz, il, iu);
  e = subq_error_agree(comm, e);
  if (!e && MPI_Bcast(w, iu - il + 1, MPI_DOUBLE, 0, comm) != MPI_SUCCESS)
    e = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Bcast of the eigenvalues failed");
  return e;
}

/* Eigenvalues il..iu (1-based, ascending) of the block-cyclic symmetric A (destroyed) by
 * pdsyevr (MRRR; Vomel, Parlett et al., ScaLAPACK 2.0): w (n) holds them in w[0..iu-il]
 * on every rank; Z (same layout as A) their eigenvectors in columns 0..iu-il when
 * want_vecs.  Only the tridiagonal reduction is O(n^3): no full spectrum, no
 * back-transformation of unwanted vectors.  Phases agreed so that no rank enters a
 * ScaLAPACK collective another skips. */
static int bc_syevr_(MPI_Comm comm, int n, int nb, int nprow, int npcol, double *A,
                     const int *desc, int il, int iu, double *w, double *Z, int want_vecs) {
  int one = 1, lwork = -1, liwork = -1, info = 0, iq = 0, m = 0, nz = 0;
  /* the workspace queries write (pdsyevx: and broadcast) WORK(1..3), IWORK(1) */
  double q[4] = {0, 0, 0, 0}, vl = 0, vu = 0;
  double *work = NULL;
  int *iwork = NULL;
  const char *jobz = want_vecs ? "V" : "N";
  double *z = want_vecs ? Z : A; /* not referenced with JOBZ = 'N' */
  pdsyevr_(jobz, "I", bc_uplo_(n), &n, A, &one, &one, desc, &vl, &vu, &il, &iu, &m, &nz, w, z, &one,
           &one, desc, q, &lwork, &iq, &liwork, &info, 1, 1, 1);
  int e = info ? SUBQ_FAIL(SUBQ_ERR_LAPACK, "pdsyevr workspace query: info = %d", info) : 0;
  /* the query can differ between processes: use the maximum over ranks, with a margin
   * (pdormtr's own minimum for the back-transformation, as for pdsyevd) */
  double qi[2] = {q[0], (double)iq};
  e = bc_query_max_(comm, e, qi);
  lwork = bc_subset_lwork_(n, nb, nprow, npcol, iu - il + 1, qi[0], 0);
  liwork = (int)qi[1] + 8 * n + 100;
  if (!e) e = SUBQ_ALLOC(work, (size_t)lwork);
  if (!e) e = SUBQ_ALLOC(iwork, (size_t)liwork);
  e = subq_error_agree(comm, e);
  if (!e) {
    pdsyevr_(jobz, "I", bc_uplo_(n), &n, A, &one, &one, desc, &vl, &vu, &il, &iu, &m, &nz, w, z, &one,
             &one, desc, work, &lwork, iwork, &liwork, &info, 1, 1, 1);
    e = bc_subset_done_(comm, "pdsyevr", n, info, m, nz, il, iu, want_vecs, w);
  }
  subq_free(&work);
  subq_free(&iwork);
  return e;
}

/* Fallback of bc_syevr_: the whole spectrum of the block-cyclic K (destroyed): w (n,
 * ascending) on every rank;
 * Z (same layout as K) with the eigenvectors when want_vecs.  Phases agreed so that no
 * rank enters a ScaLAPACK collective another skips. */
static int bc_syev_(MPI_Comm comm, int n, int nb, double *K, const int *desc, double *w,
                    double *Z, int want_vecs) {
  int one = 1, lwork = -1, liwork = -1, info = 0, iq = 0;
  double q = 0;
  double *work = NULL;
  int *iwork = NULL;
  if (want_vecs)
    pdsyevd_("V", "L", &n, K, &one, &one, desc, w, Z, &one, &one, desc, &q, &lwork, &iq,
             &liwork, &info, 1, 1);
  else
    pdsyev_("N", "L", &n, K, &one, &one, desc, w, Z, &one, &one, desc, &q, &lwork, &info, 1, 1);
  int e = info ? SUBQ_FAIL(SUBQ_ERR_LAPACK, "%s workspace query: info = %d",
                           want_vecs ? "pdsyevd" : "pdsyev", info) : 0;
  /* the query differs between processes, and pdsyevd passes its own share on to pdormtr,
   * which (3 x 1 grid, n = 157, nb = 64) rejects a process's own smaller figure without
   * setting info: use the maximum over ranks, with a margin */
  double qi[2] = {q, (double)iq};
  e = bc_query_max_(comm, e, qi);
  q = qi[0];
  iq = (int)qi[1];
  /* pdsyevd's query under-sizes pdormtr's share for small n (n = 1..5 on one process,
   * nb = 64: "PDORMTR parameter number 16 had an illegal value", again without info, and
   * the back-transformed eigenvectors are garbage): add pdormtr's own minimum,
   * max(nb (nb - 1)/2, (nqc0 + mpc0) nb) + nb^2 with nqc0, mpc0 <= n + nb */
  const double ormtr = fmax(nb * (nb - 1) / 2.0, 2.0 * (n + nb) * nb) + (double)nb * nb;
  lwork = (int)fmin(2147483000.0, q * 1.1 + 4.0 * n + 1000 + (want_vecs ? ormtr : 0));
  liwork = iq + 8 * n + 100;
  if (!e) e = SUBQ_ALLOC(work, (size_t)lwork);
  if (!e && want_vecs) e = SUBQ_ALLOC(iwork, (size_t)liwork);
  e = subq_error_agree(comm, e);
  if (!e) {
    if (want_vecs)
      pdsyevd_("V", "L", &n, K, &one, &one, desc, w, Z, &one, &one, desc, work, &lwork, iwork,
               &liwork, &info, 1, 1);
    else
      pdsyev_("N", "L", &n, K, &one, &one, desc, w, Z, &one, &one, desc, work, &lwork, &info,
              1, 1);
    e = info ? SUBQ_FAIL(SUBQ_ERR_LAPACK, "%s of the %d x %d kernel matrix: info = %d",
                         want_vecs ? "pdsyevd" : "pdsyev", n, n, info) : 0;
    e = subq_error_agree(comm, e);
  }
  /* W is documented as global, but for small n (5, 9, 10 on 2 or 3 processes) pdsyevd
   * leaves other processes' copies stale: take rank 0's */
  if (!e && MPI_Bcast(w, n, MPI_DOUBLE, 0, comm) != MPI_SUCCESS)
    e = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Bcast of the eigenvalues failed");
  subq_free(&work);
  subq_free(&iwork);
  return e;
}

/* The same as bc_syevr_ by pdsyevx (tridiagonalization, bisection, inverse iteration with
 * reorthogonalization inside clusters, pdormtr), for non-square process grids, where
 * pdsyevr's parallel MRRR was seen to fail on degenerate spectra (2 and 3 processes, 6
 * duplicate pairs at h = 1e-200: DSTEGR2A rejects its input).  The workspace gets room for
 * a cluster as large as the wanted range, so that no eigenvector is left unorthogonalized
 * (info = 2 would be an error here).  UPLO and workspace: bc_subset_lwork_. */
static int bc_syevx_(MPI_Comm comm, int n, int nb, int nprow, int npcol, double *A,
                     const int *desc, int il, int iu, double *w, double *Z, int want_vecs) {
  const int nprocs = nprow * npcol;
  int one = 1, lwork = -1, liwork = -1, info = 0, m = 0, nz = 0;
  double q[4] = {0, 0, 0, 0}, vl = 0, vu = 0, abstol = 0, orfac = -1; /* q: WORK(1..3) */
  int iq = 0;
  double *work = NULL, *gap = NULL;
  int *iwork = NULL, *ifail = NULL, *iclustr = NULL;
  const char *jobz = want_vecs ? "V" : "N";
  double *z = want_vecs ? Z : A;
  int e = SUBQ_ALLOC(ifail, (size_t)n);
  if (!e) e = SUBQ_ALLOC(iclustr, 2 * (size_t)nprocs + 2);
  if (!e) e = SUBQ_ALLOC(gap, (size_t)nprocs + 1);
  e = subq_error_agree(comm, e);
  if (!e) {
    pdsyevx_(jobz, "I", bc_uplo_(n), &n, A, &one, &one, desc, &vl, &vu, &il, &iu, &abstol, &m, &nz, w,
             &orfac, z, &one, &one, desc, q, &lwork, &iq, &liwork, ifail, iclustr, gap, &info,
             1, 1, 1);
    if (info) e = SUBQ_FAIL(SUBQ_ERR_LAPACK, "pdsyevx workspace query: info = %d", info);
  }
  double qi[2] = {q[0], (double)iq};
  e = bc_query_max_(comm, e, qi);
  lwork = bc_subset_lwork_(n, nb, nprow, npcol, iu - il + 1, qi[0], want_vecs);
  liwork = (int)qi[1] + 8 * n + 100;
  if (!e) e = SUBQ_ALLOC(work, (size_t)lwork);
  if (!e) e = SUBQ_ALLOC(iwork, (size_t)liwork);
  e = subq_error_agree(comm, e);
  if (!e) {
    pdsyevx_(jobz, "I", bc_uplo_(n), &n, A, &one, &one, desc, &vl, &vu, &il, &iu, &abstol, &m, &nz, w,
             &orfac, z, &one, &one, desc, work, &lwork, iwork, &liwork, ifail, iclustr, gap,
             &info, 1, 1, 1);
    e = bc_subset_done_(comm, "pdsyevx", n, info, m, nz, il, iu, want_vecs, w);
  }
  subq_free(&work);
  subq_free(&iwork);
  subq_free(&ifail);
  subq_free(&iclustr);
  subq_free(&gap);
  return e;
}

/* Global index of local row (column) l of a block-cyclic dimension on p processes. */
static inline size_t bc_global_(int l, int nb, int p, int me) {
  return ((size_t)l / (size_t)nb * (size_t)p + (size_t)me) * (size_t)nb + (size_t)l % (size_t)nb;
}

/* In place on the local part (column-major mloc x nloc, leading dimension lld) of the
 * block-cyclic K: K -> N = I - D^{-1/2} W D^{-1/2}, W = K with a zero diagonal, d_i = the
 * row sums of W (one Allreduce of 2 n doubles).  Errors: SUBQ_ERR_NUMERIC (a degree
 * <= 1e-300: disconnected kernel graph), SUBQ_ERR_MEM, SUBQ_ERR_MPI (agreed). */
static int bc_normalised_laplacian_(const subq_dmat_t *X, const subq_blacs_grid_t *g,
                                    const subq_kernel_t *kernel, int nb, int mloc, int nloc,
                                    int lld, double *K) {
  const size_t n = X->n;
  double *rs = NULL; /* rs[i] = local part of row sum i, rs[n + i] = K_ii where owned */
  int e = SUBQ_ZALLOC(rs, 2 * n);
  e = subq_error_agree(X->comm, e);
  if (e) return e;
  for (int lj = 0; lj < nloc; lj++) {
    const size_t j = bc_global_(lj, nb, g->npcol, g->mycol);
    for (int li = 0; li < mloc; li++) {
      const size_t i = bc_global_(li, nb, g->nprow, g->myrow);
      const double v = K[(size_t)lj * (size_t)lld + (size_t)li];
      rs[i] += v;
      if (i == j) rs[n + i] = v;
    }
  }
  if (MPI_Allreduce(MPI_IN_PLACE, rs, (int)(2 * n), MPI_DOUBLE, MPI_SUM, X->comm) != MPI_SUCCESS)
    e = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce of the degrees failed");
  for (size_t i = 0; !e && i < n; i++) {
    const double deg = rs[i] - rs[n + i];
    if (!(deg > 1e-300))
      e = SUBQ_FAIL(SUBQ_ERR_NUMERIC, "vertex %zu has degree %g: disconnected kernel graph "
                    "(bandwidth h = %g too small?)", i, deg, kernel->h);
    else rs[i] = 1.0 / sqrt(deg);
  }
  for (int lj = 0; !e && lj < nloc; lj++) {
    const size_t j = bc_global_(lj, nb, g->npcol, g->mycol);
    for (int li = 0; li < mloc; li++) {
      const size_t i = bc_global_(li, nb, g->nprow, g->myrow);
      double *v = &K[(size_t)lj * (size_t)lld + (size_t)li];
      *v = i == j ? 1.0 : -*v * rs[i] * rs[j];
    }
  }
  subq_free(&rs);
  return e;
}

/* The routine of the last successful dense reference (subq_scalapack_eig_last_routine). */
static const char *last_routine_ = "none";

/* Shared body of the two dense ScaLAPACK references: build K block-cyclic (n^2
 * evaluations), optionally turn it into the normalised Laplacian, and compute the
 * eigenvalues il..iu (ascending) into w[0..iu-il], with their eigenvectors gathered as
 * local rows of X (X->nloc x (iu-il+1), column c = eigenvalue il+c) when vecs. */
static int bc_dense_eig_(const subq_dmat_t *X, const subq_kernel_t *kernel, int laplacian,
                         int il, int iu, int nprow, int npcol, int nb, double *w, double *vecs,
                         double *norm2, uint64_t *evals) {
  const size_t n = X->n, d = X->d, k = (size_t)(iu - il + 1);
  /* pdsyevr hands pdormtr a workspace of max(18 n, NP00 MQ00 + 2 nb^2), MQ00 = numroc of
   * the number of wanted vectors, which is below pdormtr's own minimum (NqC0 + MpC0) nb +
   * nb^2 when fewer than nb vectors are wanted (ScaLAPACK 2.2; pdormtr then rejects LWORK
   * without setting info and the vectors are not back-transformed): with vectors, ask for
   * at least min(n, nb) of them, extending the range away from the wanted end */
  int jl = il, ju = iu;
  if (vecs && (int)k < (nb < (int)n ? nb : (int)n)) {
    const int want = nb < (int)n ? nb : (int)n;
    if (iu == (int)n) jl = (int)n - want + 1;
    else ju = want;
  }
  subq_blacs_grid_t *g = NULL;
  SUBQ_CALL(subq_blacs_grid_create(X->comm, nprow, npcol, &g));
  int ni = (int)n, zero = 0, info = 0;
  int mloc = numroc_(&ni, &nb, &g->myrow, &zero, &g->nprow);
  int nloc = numroc_(&ni, &nb, &g->mycol, &zero, &g->npcol);
  int lld = mloc > 1 ? mloc : 1, desc[9];
  descinit_(desc, &ni, &ni, &nb, &nb, &zero, &zero, &g->ctxt, &lld, &info);
  int e = info ? SUBQ_FAIL(SUBQ_ERR_LAPACK, "descinit: info = %d (n %d, nb %d)", info, ni, nb) : 0;
  double *K = NULL, *Z = NULL, *Xr = NULL, *Xc = NULL, *wl = NULL, *Vf = NULL;
  const size_t nel = (size_t)lld * (size_t)(nloc > 0 ? nloc : 1);
  if (!e) e = SUBQ_ALLOC(K, nel);
  if (!e && vecs) e = SUBQ_ALLOC(Z, nel);
  if (!e) e = subq_malloc((size_t)mloc + 1, d * sizeof(double), &Xr);
  if (!e) e = subq_malloc((size_t)nloc + 1, d * sizeof(double), &Xc);
  if (!e) e = SUBQ_ALLOC(wl, n);
  if (!e && vecs) e = subq_calloc(n, k * sizeof(double), &Vf);
  e = subq_error_agree(X->comm, e);
  if (!e) e = bc_points_(X, g, nb, Xr, Xc);
  e = subq_error_agree(X->comm, e);
  /* local part, column-major mloc x nloc = row-major nloc x mloc of k(Xc_j, Xr_i) */
  double red[2] = {0, 0}; /* ||K||_F^2, kernel evaluations */
  if (!e && mloc > 0 && nloc > 0) {
    e = subq_kernel_block(kernel, (size_t)nloc, (size_t)mloc, d, Xc, NULL, Xr, NULL, K);
    double s = 0;
    for (size_t i = 0; i < (size_t)mloc * (size_t)nloc; i++) s += K[i] * K[i];
    red[0] = s;
    red[1] = (double)mloc * (double)nloc;
  }
  e = subq_error_agree(X->comm, e);
  if (!e && MPI_Allreduce(MPI_IN_PLACE, red, 2, MPI_DOUBLE, MPI_SUM, X->comm) != MPI_SUCCESS)
    e = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce of ||K||_F failed");
  e = subq_error_agree(X->comm, e);
  if (!e && laplacian) e = bc_normalised_laplacian_(X, g, kernel, nb, mloc, nloc, lld, K);
  const int square = g->nprow == g->npcol;
  int fell_back = 0;
  if (!e && square)
    e = bc_syevr_(X->comm, ni, nb, g->nprow, g->npcol, K, desc, jl, ju, wl, Z, vecs != NULL);
  else if (!e)
    e = bc_syevx_(X->comm, ni, nb, g->nprow, g->npcol, K, desc, jl, ju, wl, Z, vecs != NULL);
  if (e == SUBQ_ERR_LAPACK) {
    /* the subset solvers fail on some highly degenerate spectra (pdsyevr's parallel MRRR on a kernel
     * matrix of duplicate pairs at a tiny bandwidth: DSTEGR2A rejects its input and no
     * eigenvalue comes back, detected above): rebuild the matrix and take the whole
     * spectrum by pdsyevd / pdsyev instead */
    subq_log(SUBQ_LOG_WARN, "%s failed on the %zu x %zu matrix; retrying with %s (whole spectrum)",
             square ? "pdsyevr" : "pdsyevx", n, n, vecs ? "pdsyevd" : "pdsyev");
    subq_error_clear();
    e = 0;
    if (mloc > 0 && nloc > 0)
      e = subq_kernel_block(kernel, (size_t)nloc, (size_t)mloc, d, Xc, NULL, Xr, NULL, K);
    e = subq_error_agree(X->comm, e);
    if (!e && laplacian) e = bc_normalised_laplacian_(X, g, kernel, nb, mloc, nloc, lld, K);
    if (!e) e = bc_syev_(X->comm, ni, nb, K, desc, wl, Z, vecs != NULL);
    jl = 1; /* the whole spectrum: eigenvalue il is at column il - 1 */
    fell_back = 1;
  }
  subq_free(&Xr);
  subq_free(&Xc);
  if (!e)
    last_routine_ = fell_back ? (vecs ? "scalapack-pdsyevd" : "scalapack-pdsyev")
                              : square ? "scalapack-pdsyevr" : "scalapack-pdsyevx";
  const size_t off = (size_t)(il - jl);
  if (!e) {
    memcpy(w, wl + off, k * sizeof *w);
    if (norm2) *norm2 = red[0];
    if (evals) *evals = (uint64_t)red[1];
  }
  if (!e && vecs) {
    /* columns off..off+k-1 of Z into Vf (n x k row-major), summed over ranks */
    for (size_t c = 0; c < k; c++) {
      if (bc_owner_(c + off, nb, g->npcol) != g->mycol) continue;
      const double *zc = Z + bc_local_(c + off, nb, g->npcol) * (size_t)lld;
      for (int li = 0; li < mloc; li++) Vf[bc_global_(li, nb, g->nprow, g->myrow) * k + c] = zc[li];
    }
    if (MPI_Allreduce(MPI_IN_PLACE, Vf, (int)(n * k), MPI_DOUBLE, MPI_SUM, X->comm) != MPI_SUCCESS)
      e = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce of the eigenvectors failed");
    /* sign convention of subq_kernel_dense_eig: entries sum to >= 0 */
    for (size_t c = 0; !e && c < k; c++) {
      double sum = 0;
      for (size_t i = 0; i < n; i++) sum += Vf[i * k + c];
      if (sum < 0)
        for (size_t i = 0; i < n; i++) Vf[i * k + c] = -Vf[i * k + c];
    }
    if (!e) memcpy(vecs, Vf + X->r0 * k, X->nloc * k * sizeof *vecs);
  }
  subq_free(&K);
  subq_free(&Z);
  subq_free(&wl);
  subq_free(&Vf);
  subq_blacs_grid_destroy(&g);
  return e;
}

int subq_kernel_dense_eig_scalapack(const subq_dmat_t *X, const subq_kernel_t *kernel,
                                    size_t k, int nprow, int npcol, int nb, double *lambda,
                                    double *vecs, double *best_err_fro, double *norm_fro,
                                    uint64_t *evals) {
  int e = 0;
  if (!X || !kernel || !lambda) e = SUBQ_FAIL(SUBQ_ERR_ARG, "X, kernel or lambda is NULL");
  else if (X->dtype != SUBQ_F64) e = SUBQ_FAIL(SUBQ_ERR_ARG, "points must be float64");
  else if (subq_kernel_check(kernel)) e = SUBQ_ERR_ARG;
  else if (k == 0 || k > X->n) e = SUBQ_FAIL(SUBQ_ERR_ARG, "k must be in 1..n = %zu, got %zu", X->n, k);
  else if (X->n > 46340) e = SUBQ_FAIL(SUBQ_ERR_ARG, "n = %zu too large for the dense ScaLAPACK reference (max 46340)", X->n);
  SUBQ_CALL(subq_error_agree(X ? X->comm : MPI_COMM_WORLD, e));
  if (nb <= 0) nb = 64;
  const size_t n = X->n;
  double *w = NULL, *V = NULL, norm2 = 0;
  e = SUBQ_ALLOC(w, k);
  if (!e && vecs) e = subq_malloc(X->nloc + 1, k * sizeof(double), &V);
  e = subq_error_agree(X->comm, e);
  /* the top k: eigenvalues n-k+1..n in ascending order, returned descending */
  if (!e) e = bc_dense_eig_(X, kernel, 0, (int)(n - k + 1), (int)n, nprow, npcol, nb, w, V,
                            &norm2, evals);
  if (!e) {
    double l2 = 0;
    for (size_t j = 0; j < k; j++) {
      lambda[j] = w[k - 1 - j];
      l2 += lambda[j] * lambda[j];
    }
    if (best_err_fro) *best_err_fro = sqrt(fmax(0.0, norm2 - l2));
    if (norm_fro) *norm_fro = sqrt(norm2);
    for (size_t i = 0; vecs && i < X->nloc; i++)
      for (size_t j = 0; j < k; j++) vecs[i * k + j] = V[i * k + (k - 1 - j)];
  }
  subq_free(&w);
  subq_free(&V);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : SUBQ_OK;
}

int subq_laplacian_dense_eigs_scalapack(const subq_dmat_t *X, const subq_kernel_t *kernel,
                                        size_t k, int nprow, int npcol, int nb,
                                        double *lambda) {
  int e = 0;
  if (!X || !kernel || !lambda) e = SUBQ_FAIL(SUBQ_ERR_ARG, "X, kernel or lambda is NULL");
  else if (X->dtype != SUBQ_F64) e = SUBQ_FAIL(SUBQ_ERR_ARG, "points must be float64");
  else if (subq_kernel_check(kernel)) e = SUBQ_ERR_ARG;
  else if (k == 0 || k >= X->n)
    e = SUBQ_FAIL(SUBQ_ERR_ARG, "k must be in 1..n-1 = %zu, got %zu", X->n ? X->n - 1 : 0, k);
  else if (X->n > 46340) e = SUBQ_FAIL(SUBQ_ERR_ARG, "n = %zu too large for the dense ScaLAPACK reference (max 46340)", X->n);
  SUBQ_CALL(subq_error_agree(X ? X->comm : MPI_COMM_WORLD, e));
  if (nb <= 0) nb = 64;
  double *w = NULL;
  e = SUBQ_ALLOC(w, k + 1);
  e = subq_error_agree(X->comm, e);
  /* eigenvalues 1..k+1 of N; the first is 0 (eigenvector D^{1/2} 1) */
  if (!e) e = bc_dense_eig_(X, kernel, 1, 1, (int)(k + 1), nprow, npcol, nb, w, NULL, NULL, NULL);
  if (!e) memcpy(lambda, w + 1, k * sizeof *lambda);
  subq_free(&w);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : SUBQ_OK;
}

const char *subq_scalapack_eig_last_routine(void) { return last_routine_; }
