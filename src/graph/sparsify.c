/* Spectral sparsification of a kernel graph by KDE-based importance sampling of edges
 * (BIKSZ arXiv 2212.00642, Section 4; Spielman-Srivastava 2011), and the PETSc MPIAIJ
 * Laplacian of the result.  See include/subq/graph.h for the scheme. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph_impl.h"

enum { BATCH = 8192 };

int subq_sparsifier_create(MPI_Comm comm, subq_sparsifier_t **out) {
  SUBQ_CHECK(out != NULL, SUBQ_ERR_ARG, "output pointer is NULL");
  SUBQ_CHECK(comm != MPI_COMM_NULL, SUBQ_ERR_ARG, "communicator is MPI_COMM_NULL");
  subq_sparsifier_t *sp = NULL;
  SUBQ_CALL(SUBQ_ZALLOC(sp, 1));
  int e = SUBQ_ZALLOC(sp->petsc, 1);
  if (e) {
    subq_free(&sp);
    return subq_error_trace(e, __FILE__, __LINE__, __func__);
  }
  sp->comm = comm;
  sp->eps = 0.5;
  sp->oversample = 0.5;
  sp->kde_type = SUBQ_KDE_SAMPLING;
  sp->per_group = 8; /* m in {8,16,32,64} measured: same spectral error, fewest evaluations (results/graph) */
  sp->groups = 1;
  sp->leaf = 32;
  *out = sp;
  return SUBQ_OK;
}

void subq_sparsifier_destroy(subq_sparsifier_t **psp) {
  if (!psp || !*psp) return;
  subq_sparsifier_t *sp = *psp;
  if (sp->L) (void)MatDestroy(&sp->L);
  subq_free(&sp->edges);
  subq_free(&sp->w);
  subq_free(&sp->petsc);
  subq_free(psp);
}

int subq_sparsifier_set_eps(subq_sparsifier_t *sp, double eps, double oversample) {
  SUBQ_CHECK(sp != NULL, SUBQ_ERR_ARG, "sparsifier is NULL");
  SUBQ_CHECK(eps > 0 && eps < 1, SUBQ_ERR_ARG, "eps must be in (0, 1), got %g", eps);
  SUBQ_CHECK(oversample > 0 && isfinite(oversample), SUBQ_ERR_ARG,
             "oversampling constant C must be finite and > 0, got %g", oversample);
  sp->eps = eps;
  sp->oversample = oversample;
  return SUBQ_OK;
}

int subq_sparsifier_set_samples(subq_sparsifier_t *sp, size_t samples) {
  SUBQ_CHECK(sp != NULL, SUBQ_ERR_ARG, "sparsifier is NULL");
  sp->samples_fixed = samples;
  return SUBQ_OK;
}

int subq_sparsifier_set_kde(subq_sparsifier_t *sp, subq_kde_type_t type, size_t per_group,
                            size_t groups, size_t leaf_size) {
  SUBQ_CHECK(sp != NULL, SUBQ_ERR_ARG, "sparsifier is NULL");
  SUBQ_CHECK(type >= SUBQ_KDE_EXACT && type <= SUBQ_KDE_HBE, SUBQ_ERR_ARG, "unknown KDE type %d",
             (int)type);
  SUBQ_CHECK(leaf_size >= 1, SUBQ_ERR_ARG, "leaf size must be >= 1, got 0");
  sp->kde_type = type;
  sp->per_group = per_group;
  sp->groups = groups;
  sp->leaf = leaf_size;
  return SUBQ_OK;
}

int subq_sparsifier_set_seed(subq_sparsifier_t *sp, uint64_t seed) {
  SUBQ_CHECK(sp != NULL, SUBQ_ERR_ARG, "sparsifier is NULL");
  sp->seed = seed;
  return SUBQ_OK;
}

typedef subq_graph_edge_t edge_t;

static size_t find_(size_t *par, size_t a) {
  while (par[a] != a) a = par[a] = par[par[a]];
  return a;
}

/* Sort, merge duplicates, count components (union-find); replicated and deterministic. */
static int merge_(subq_sparsifier_t *sp, edge_t *E, size_t T) {
  const size_t m = subq_graph_merge_edges_(E, T);
  size_t n = sp->X->n, *par = NULL;
  SUBQ_CALL(SUBQ_ALLOC(sp->edges, 2 * m + 2));
  SUBQ_CALL(SUBQ_ALLOC(sp->w, m + 1));
  SUBQ_CALL(SUBQ_ALLOC(par, n));
  for (size_t i = 0; i < n; i++) par[i] = i;
  size_t comps = n;
  for (size_t e = 0; e < m; e++) {
    sp->edges[2 * e] = E[e].i;
    sp->edges[2 * e + 1] = E[e].j;
    sp->w[e] = E[e].w;
    size_t a = find_(par, E[e].i), b = find_(par, E[e].j);
    if (a != b) {
      par[a] = b;
      comps--;
    }
  }
  subq_free(&par);
  sp->m = m;
  sp->st.edges = m;
  sp->st.components = comps;
  return SUBQ_OK;
}

/* Sources of samples [b0, b0 + bs): stratified (sample t has source floor(t n / T), so
 * vertex i has c_i = ceil((i+1) T / n) - ceil(i T / n) >= 1 samples) when T >= n, else
 * uniform on [0, n) from the counter RNG.  scale[t] = 1 / (2 c_i) or n / (2 T). */
static void sources_(const subq_sparsifier_t *sp, size_t T, size_t b0, size_t bs, size_t *src,
                     double *scale) {
  const uint64_t n = sp->X->n;
  for (size_t t = 0; t < bs; t++) {
    const uint64_t g = b0 + t;
    if (T >= n) {
      const uint64_t i = g * n / T;
      const uint64_t c = ((i + 1) * T + n - 1) / n - (i * T + n - 1) / n;
      src[t] = (size_t)i;
      scale[t] = 1.0 / (2.0 * (double)c);
    } else {
      src[t] = (size_t)subq_rng_below(sp->seed, SUBQ_GRAPH_STREAM_SPARSIFY, g, n);
      scale[t] = (double)n / (2.0 * (double)T);
    }
  }
}

/* Tree, T samples; fills E (T entries, weight 0 for a sample of kernel value 0).
 * Collective. */
static int sample_(subq_sparsifier_t *sp, size_t T, edge_t *E) {
  const subq_dmat_t *X = sp->X;
  subq_kde_t *o = NULL;
  subq_kde_tree_t *tree = NULL;
  size_t *src = NULL, *nbr = NULL;
  double *q = NULL, *kv = NULL, *deg = NULL, *scale = NULL;
  int e = SUBQ_ALLOC(src, BATCH);
  if (!e) e = SUBQ_ALLOC(nbr, BATCH);
  if (!e) e = SUBQ_ALLOC(q, BATCH);
  if (!e) e = SUBQ_ALLOC(kv, BATCH);
  if (!e) e = SUBQ_ALLOC(deg, BATCH);
  if (!e) e = SUBQ_ALLOC(scale, BATCH);
  if (!e) e = subq_kde_create(sp->comm, sp->kde_type, &o);
  if (!e) e = subq_kde_set_kernel(o, sp->kernel);
  if (!e) e = subq_kde_set_samples(o, sp->per_group, sp->groups);
  if (!e) e = subq_kde_set_seed(o, sp->seed);
  e = subq_error_agree(sp->comm, e);
  if (!e) e = subq_kde_setup(o, X);
  if (!e) e = subq_kde_tree_create(o, X, sp->leaf, &tree);
  sp->st.kde_evals = 0;
  double t0 = subq_wtime();
  for (size_t b0 = 0; !e && b0 < T; b0 += BATCH) {
    size_t bs = b0 + BATCH < T ? BATCH : T - b0;
    uint64_t ev = 0;
    sources_(sp, T, b0, bs, src, scale);
    e = subq_kde_tree_sample_neighbors_prob(tree, bs, src, sp->seed, nbr, q, kv, deg, &ev);
    sp->st.sample_evals += ev;
    for (size_t t = 0; !e && t < bs; t++)
      if (!(deg[t] > 1e-300))
        e = SUBQ_FAIL(SUBQ_ERR_NUMERIC, "vertex %zu has estimated degree %g: the kernel graph is "
                      "disconnected or near-disconnected (bandwidth h = %g too small?)", src[t],
                      deg[t], sp->kernel.h);
    for (size_t t = 0; !e && t < bs; t++) {
      size_t i = src[t], j = nbr[t];
      E[b0 + t].i = i < j ? i : j;
      E[b0 + t].j = i < j ? j : i;
      E[b0 + t].w = kv[t] > 0 ? scale[t] * kv[t] / q[t] : 0.0;
    }
    subq_progress("sparsify", (double)(b0 + bs), (double)T, t0);
  }
  if (!e) e = subq_kde_tree_stats(tree, &sp->st.tree);
  subq_kde_tree_destroy(&tree);
  subq_kde_destroy(&o);
  subq_free(&src), subq_free(&nbr), subq_free(&q), subq_free(&kv), subq_free(&deg);
  subq_free(&scale);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : SUBQ_OK;
}

int subq_sparsifier_setup(subq_sparsifier_t *sp, const subq_dmat_t *X,
                          const subq_kernel_t *kernel) {
  SUBQ_CHECK(sp != NULL, SUBQ_ERR_ARG, "sparsifier is NULL");
  int e = 0, cmp = MPI_UNEQUAL;
  if (!X || !kernel) e = SUBQ_FAIL(SUBQ_ERR_ARG, "X or kernel is NULL");
  else if (sp->ready) e = SUBQ_FAIL(SUBQ_ERR_ARG, "sparsifier is already set up");
  else if (X->dtype != SUBQ_F64) e = SUBQ_FAIL(SUBQ_ERR_ARG, "points must be float64");
  else if (X->n < 2) e = SUBQ_FAIL(SUBQ_ERR_ARG, "a kernel graph needs n >= 2 points, got %zu", X->n);
  else if (MPI_Comm_compare(X->comm, sp->comm, &cmp) != MPI_SUCCESS ||
           (cmp != MPI_IDENT && cmp != MPI_CONGRUENT))
    e = SUBQ_FAIL(SUBQ_ERR_ARG, "the points' communicator differs from the sparsifier's");
  else if (subq_kernel_check(kernel)) e = SUBQ_ERR_ARG;
  if (!e) { /* PetscInitialize's own calls (first use in the process) count as PETSc's */
    subq_comm_counters_t s0;
    subq_sparsifier_petsc_begin_(&s0);
    e = subq_petsc_init();
    subq_sparsifier_petsc_end_(sp, &s0);
  }
  SUBQ_CALL(subq_error_agree(sp->comm, e));
  double t0 = subq_wtime();
  sp->X = X;
  sp->kernel = *kernel;
  memset(&sp->st, 0, sizeof sp->st);
  const size_t n = X->n;
  size_t T = sp->samples_fixed;
  if (T == 0) {
    double t = ceil(sp->oversample * (double)n * log((double)n) / (sp->eps * sp->eps));
    T = t < 1 ? 1 : (size_t)t;
  }
  sp->st.n = n;
  sp->st.samples = T;
  sp->st.dense_edges = 0.5 * (double)n * (double)(n - 1);
  edge_t *E = NULL;
  e = subq_malloc(T, sizeof *E, &E);
  SUBQ_CALL(subq_error_agree(sp->comm, e));
  subq_comm_counters_t c0, c1, cd;
  subq_comm_snapshot(&c0);
  e = sample_(sp, T, E);
  subq_comm_snapshot(&c1);
  subq_comm_diff(&c0, &c1, &cd);
  const subq_comm_count_t ct = subq_comm_total(&cd, SUBQ_COMM_DATA);
  sp->st.sample_messages = ct.calls;
  sp->st.sample_bytes_sent = ct.bytes_sent;
  if (!e) e = merge_(sp, E, T);
  subq_free(&E);
  e = subq_error_agree(sp->comm, e);
  double t1 = subq_wtime();
  if (!e) e = subq_sparsifier_assemble_(sp);
  e = subq_error_agree(sp->comm, e);
  if (!e) e = subq_time_max(sp->comm, t1 - t0, &sp->st.time_s);
  if (!e) e = subq_time_max(sp->comm, subq_wtime() - t1, &sp->st.assemble_s);
  if (e) {
    subq_free(&sp->edges);
    subq_free(&sp->w);
    if (sp->L) (void)MatDestroy(&sp->L);
    sp->X = NULL;
    return subq_error_trace(e, __FILE__, __LINE__, __func__);
  }
  sp->ready = 1;
  return SUBQ_OK;
}

/* ---- PETSc assembly ------------------------------------------------------------------ */

static PetscErrorCode assemble_petsc_(subq_sparsifier_t *sp) {
  const subq_dmat_t *X = sp->X;
  const size_t lo = X->r0, hi = X->r0 + X->nloc, nl = X->nloc;
  PetscInt *dnz, *onz;
  PetscFunctionBeginUser;
  PetscCall(PetscCalloc2(nl + 1, &dnz, nl + 1, &onz));
  for (size_t i = 0; i < nl; i++) dnz[i] = 1; /* diagonal */
  for (size_t e = 0; e < sp->m; e++) {
    size_t a = sp->edges[2 * e], b = sp->edges[2 * e + 1];
    int ina = a >= lo && a < hi, inb = b >= lo && b < hi;
    if (ina) (inb ? dnz : onz)[a - lo]++;
    if (inb) (ina ? dnz : onz)[b - lo]++;
  }
  PetscCall(MatCreateAIJ(sp->comm, (PetscInt)nl, (PetscInt)nl, (PetscInt)X->n, (PetscInt)X->n, 0,
                         dnz, 0, onz, &sp->L));
  PetscCall(MatSetOption(sp->L, MAT_NEW_NONZERO_ALLOCATION_ERR, PETSC_TRUE));
  for (size_t i = lo; i < hi; i++) PetscCall(MatSetValue(sp->L, (PetscInt)i, (PetscInt)i, 0.0, ADD_VALUES));
  for (size_t e = 0; e < sp->m; e++) {
    PetscInt a = (PetscInt)sp->edges[2 * e], b = (PetscInt)sp->edges[2 * e + 1];
    PetscScalar w = sp->w[e];
    int ina = (size_t)a >= lo && (size_t)a < hi, inb = (size_t)b >= lo && (size_t)b < hi;
    if (ina) {
      PetscCall(MatSetValue(sp->L, a, a, w, ADD_VALUES));
      PetscCall(MatSetValue(sp->L, a, b, -w, ADD_VALUES));
    }
    if (inb) {
      PetscCall(MatSetValue(sp->L, b, b, w, ADD_VALUES));
      PetscCall(MatSetValue(sp->L, b, a, -w, ADD_VALUES));
    }
  }
  PetscCall(MatAssemblyBegin(sp->L, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(sp->L, MAT_FINAL_ASSEMBLY));
  PetscCall(MatSetOption(sp->L, MAT_SYMMETRIC, PETSC_TRUE));
  PetscCall(PetscFree2(dnz, onz));
  PetscFunctionReturn(0);
}

void subq_sparsifier_petsc_begin_(subq_comm_counters_t *s0) { subq_comm_snapshot(s0); }

void subq_sparsifier_petsc_end_(const subq_sparsifier_t *sp, const subq_comm_counters_t *s0) {
  subq_comm_counters_t s1, d;
  subq_comm_snapshot(&s1);
  subq_comm_diff(s0, &s1, &d);
  const subq_comm_count_t t = subq_comm_total(&d, SUBQ_COMM_DATA);
  sp->petsc->calls += t.calls;
  sp->petsc->bytes_sent += t.bytes_sent;
  sp->petsc->bytes_recv += t.bytes_recv;
}

int subq_sparsifier_assemble_(subq_sparsifier_t *sp) {
  SUBQ_CHECK(sp->X->n <= (size_t)PETSC_MAX_INT, SUBQ_ERR_UNSUPPORTED,
             "n = %zu exceeds PETSc's 32-bit indices", sp->X->n);
  subq_comm_counters_t s0;
  subq_sparsifier_petsc_begin_(&s0);
  PetscErrorCode ierr = assemble_petsc_(sp);
  subq_sparsifier_petsc_end_(sp, &s0);
  SUBQ_PETSC(ierr);
  return SUBQ_OK;
}

PetscErrorCode subq_graph_vec_(const subq_sparsifier_t *sp, Vec *v) {
  PetscFunctionBeginUser;
  PetscCall(VecCreateMPI(sp->comm, (PetscInt)sp->X->nloc, (PetscInt)sp->X->n, v));
  PetscFunctionReturn(0);
}

/* ---- access, products, saving -------------------------------------------------------- */

int subq_sparsifier_edges(const subq_sparsifier_t *sp, size_t *m, const size_t **edges,
                          const double **w) {
  SUBQ_CHECK(sp && sp->ready, SUBQ_ERR_ARG, "sparsifier is not set up");
  if (m) *m = sp->m;
  if (edges) *edges = sp->edges;
  if (w) *w = sp->w;
  return SUBQ_OK;
}

int subq_sparsifier_stats(const subq_sparsifier_t *sp, subq_sparsifier_stats_t *st) {
  SUBQ_CHECK(sp && sp->ready && st, SUBQ_ERR_ARG, "sparsifier is not set up or st is NULL");
  *st = sp->st;
  st->petsc_messages = sp->petsc->calls;
  st->petsc_bytes_sent = sp->petsc->bytes_sent;
  return SUBQ_OK;
}

int subq_sparsifier_get_mat(const subq_sparsifier_t *sp, void *mat) {
  SUBQ_CHECK(sp && sp->ready && mat, SUBQ_ERR_ARG, "sparsifier is not set up or mat is NULL");
  *(Mat *)mat = sp->L;
  return SUBQ_OK;
}

static PetscErrorCode apply_(const subq_sparsifier_t *sp, size_t r, const double *V, double *Y) {
  Vec x, y;
  const size_t nl = sp->X->nloc;
  PetscFunctionBeginUser;
  PetscCall(subq_graph_vec_(sp, &x));
  PetscCall(VecDuplicate(x, &y));
  for (size_t c = 0; c < r; c++) {
    PetscScalar *px;
    const PetscScalar *py;
    PetscCall(VecGetArray(x, &px));
    for (size_t i = 0; i < nl; i++) px[i] = V[i * r + c];
    PetscCall(VecRestoreArray(x, &px));
    PetscCall(MatMult(sp->L, x, y));
    PetscCall(VecGetArrayRead(y, &py));
    for (size_t i = 0; i < nl; i++) Y[i * r + c] = py[i];
    PetscCall(VecRestoreArrayRead(y, &py));
  }
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&y));
  PetscFunctionReturn(0);
}

int subq_sparsifier_apply(const subq_sparsifier_t *sp, size_t r, const double *V, double *Y) {
  SUBQ_CHECK(sp && sp->ready, SUBQ_ERR_ARG, "sparsifier is not set up");
  SUBQ_CHECK(sp->X->nloc == 0 || (V && Y), SUBQ_ERR_ARG, "V or Y is NULL");
  subq_comm_counters_t s0;
  subq_sparsifier_petsc_begin_(&s0);
  PetscErrorCode ierr = apply_(sp, r, V, Y);
  subq_sparsifier_petsc_end_(sp, &s0);
  SUBQ_PETSC(ierr);
  return SUBQ_OK;
}

int subq_sparsifier_save(const subq_sparsifier_t *sp, const char *path) {
  SUBQ_CHECK(sp && sp->ready && path, SUBQ_ERR_ARG, "sparsifier is not set up or path is NULL");
  PetscViewer v = NULL;
  subq_comm_counters_t s0;
  subq_sparsifier_petsc_begin_(&s0);
  PetscErrorCode ierr = PetscViewerBinaryOpen(sp->comm, path, FILE_MODE_WRITE, &v);
  if (ierr) {
    subq_sparsifier_petsc_end_(sp, &s0);
    subq_petsc_error_(ierr, __FILE__, __LINE__, __func__, "PetscViewerBinaryOpen");
    return SUBQ_FAIL(SUBQ_ERR_IO, "cannot open '%s' for writing the PETSc matrix", path);
  }
  ierr = MatView(sp->L, v);
  PetscErrorCode ierr2 = PetscViewerDestroy(&v);
  subq_sparsifier_petsc_end_(sp, &s0);
  SUBQ_PETSC(ierr);
  SUBQ_PETSC(ierr2);
  return SUBQ_OK;
}

int subq_sparsifier_quadratic_ratios(const subq_sparsifier_t *sp, const subq_dmat_t *X,
                                     const subq_kernel_t *kernel, size_t r, const double *V,
                                     double *ratio) {
  SUBQ_CHECK(sp && sp->ready && ratio, SUBQ_ERR_ARG, "sparsifier is not set up or ratio is NULL");
  SUBQ_CHECK(r >= 1, SUBQ_ERR_ARG, "number of vectors r must be >= 1, got 0");
  const size_t nl = X->nloc;
  double *Y = NULL, *Z = NULL, *q = NULL;
  int e = subq_malloc(nl + 1, r * sizeof(double), &Y);
  if (!e) e = subq_malloc(nl + 1, r * sizeof(double), &Z);
  if (!e) e = SUBQ_ZALLOC(q, 2 * r);
  e = subq_error_agree(X->comm, e);
  if (!e) e = subq_laplacian_apply(X, kernel, r, V, Y, NULL);
  if (!e) e = subq_error_agree(X->comm, subq_sparsifier_apply(sp, r, V, Z));
  if (!e) {
    for (size_t i = 0; i < nl; i++)
      for (size_t c = 0; c < r; c++) {
        q[c] += V[i * r + c] * Y[i * r + c];
        q[r + c] += V[i * r + c] * Z[i * r + c];
      }
    if (MPI_Allreduce(MPI_IN_PLACE, q, (int)(2 * r), MPI_DOUBLE, MPI_SUM, X->comm) != MPI_SUCCESS)
      e = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce of the quadratic forms failed");
  }
  for (size_t c = 0; !e && c < r; c++) ratio[c] = q[c] > 0 ? q[r + c] / q[c] : NAN;
  subq_free(&Y);
  subq_free(&Z);
  subq_free(&q);
  return e ? subq_error_trace(e, __FILE__, __LINE__, __func__) : SUBQ_OK;
}
