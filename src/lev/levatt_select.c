/* LevAttention universal set (Kannan, Bhattacharyya, Kacham, Woodruff 2024, arXiv
 * 2410.05462, Sections 3-4): leverage scores of the symmetric tensor power of the keys,
 * streamed in two passes with a D x D workspace, distributed by one Allreduce of the Gram
 * matrix.  API and the math in include/subq/levatt.h. */
#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "subq/core.h"
#include "subq/levatt.h"
#include "subq/sketch.h"
#include "dist/dist_impl.h"
#include "lev/levatt_impl.h"

void subq_levatt_opts_default(subq_levatt_opts_t *o) {
  o->p = 2;
  o->eps = 0.01;
  o->topk = 0;
  o->max_features = 4096;
  o->features = SUBQ_LEVATT_FEATURES_AUTO;
  o->sketch_dim = 0;
  o->seed = 0;
  o->passes = 2;
  o->ridge = 0;
}

void subq_levatt_account_(subq_levatt_t *L, long long delta) {
  L->bytes = (size_t)((long long)L->bytes + delta);
  if (L->bytes > L->bytes_peak) L->bytes_peak = L->bytes;
}

/* D = C(d+m-1, m), or 0 if it exceeds cap. */
static size_t features_(size_t d, size_t m, size_t cap) {
  double c = 1;
  for (size_t t = 1; t <= m; t++) {
    c = c * (double)(d + t - 1) / (double)t;
    if (c > (double)cap) return 0;
  }
  return (size_t)llround(c);
}

/* Enumerate the multisets i_1 <= ... <= i_m of {0..d-1} in lexicographic order with
 * coefficient sqrt(m! / prod_a c_a!), so that <phi(x), phi(y)> = (x.y)^m. */
static void build_features_(subq_levatt_t *L) {
  size_t m = L->m, d = L->d;
  int cur[64];
  for (size_t t = 0; t < m; t++) cur[t] = 0;
  double mfact = 1;
  for (size_t t = 2; t <= m; t++) mfact *= (double)t;
  for (size_t f = 0; f < L->D; f++) {
    double denom = 1, run = 1;
    for (size_t t = 0; t < m; t++) {
      L->fidx[f * m + t] = cur[t];
      if (t > 0 && cur[t] == cur[t - 1]) {
        run += 1;
        denom *= run;
      } else {
        run = 1;
      }
    }
    L->fcoef[f] = sqrt(mfact / denom);
    /* next nondecreasing sequence */
    long t = (long)m - 1;
    while (t >= 0 && cur[t] == (int)d - 1) t--;
    if (t < 0) break;
    cur[t]++;
    for (size_t u = (size_t)t + 1; u < m; u++) cur[u] = cur[t];
  }
}

int subq_levatt_create(MPI_Comm comm, size_t d, const subq_levatt_opts_t *o,
                       subq_levatt_t **out) {
  *out = NULL;
  int err = SUBQ_OK;
  subq_levatt_opts_t def;
  subq_levatt_opts_default(&def);
  if (!o) o = &def;
  size_t m = (size_t)(o->p / 2), D = 0, cap = o->max_features ? o->max_features : 4096;
  int sketch = o->features == SUBQ_LEVATT_FEATURES_SKETCH;
  if (d == 0) err = SUBQ_FAIL(SUBQ_ERR_ARG, "key dimension d must be >= 1, got 0");
  else if (o->p < 2 || o->p % 2)
    err = SUBQ_FAIL(SUBQ_ERR_ARG, "the tensor-power method needs an even p >= 2, got p = %d", o->p);
  else if (m > 64) err = SUBQ_FAIL(SUBQ_ERR_ARG, "p must be <= 128, got %d", o->p);
  else if (o->topk == 0 && !(o->eps > 0 && o->eps < 1))
    err = SUBQ_FAIL(SUBQ_ERR_ARG, "eps must be in (0, 1), got %g", o->eps);
  else if (o->topk > 0 && o->eps != 0)
    err = SUBQ_FAIL(SUBQ_ERR_ARG, "give eps or topk, not both (eps %g, topk %zu)", o->eps, o->topk);
  else if (o->features < SUBQ_LEVATT_FEATURES_AUTO || o->features > SUBQ_LEVATT_FEATURES_SKETCH)
    err = SUBQ_FAIL(SUBQ_ERR_ARG, "features must be auto, exact or sketch, got %d", o->features);
  else if (o->passes != 1 && o->passes != 2)
    err = SUBQ_FAIL(SUBQ_ERR_ARG, "passes must be 1 (online scores) or 2 (exact), got %d", o->passes);
  else if (!(o->ridge >= 0) || !isfinite(o->ridge))
    err = SUBQ_FAIL(SUBQ_ERR_ARG, "ridge must be a finite lambda >= 0, got %g", o->ridge);
  else if (!sketch && !(D = features_(d, m, cap))) {
    if (o->features == SUBQ_LEVATT_FEATURES_EXACT)
      err = SUBQ_FAIL(SUBQ_ERR_UNSUPPORTED,
                      "p = %d with d = %zu needs C(d+p/2-1, p/2) > %zu tensor-power features "
                      "(exact features requested; use the sketch path or raise max_features)",
                      o->p, d, cap);
    sketch = 1;
  }
  if (!err && sketch) {
    D = o->sketch_dim ? o->sketch_dim : cap;
    if (D > (size_t)1 << 20)
      err = SUBQ_FAIL(SUBQ_ERR_ARG, "sketch_dim must be <= 2^20, got %zu", D);
  }
  subq_levatt_t *L = NULL;
  if (!err) err = subq_calloc(1, sizeof *L, &L);
  if (!err) {
    L->comm = comm;
    MPI_Comm_rank(comm, &L->rank);
    MPI_Comm_size(comm, &L->size);
    L->o = *o;
    L->o.max_features = cap;
    L->d = d;
    L->m = m;
    L->D = D;
    err = SUBQ_ZALLOC(L->G, D * D);
    if (!err) err = SUBQ_ZALLOC(L->piv, D);
    if (!err) subq_levatt_account_(L, (long long)(D * D * sizeof(double) + D * sizeof(lapack_int)));
    if (!err && sketch) {
      /* Gaussian degree-2 sketch (PolySketchFormer Alg. 1) for p = 2, 4; TensorSketch above.
       * Counter-based: identical on every rank. */
      subq_sketch_type_t t = m <= 2 ? SUBQ_SKETCH_GAUSSIAN : SUBQ_SKETCH_TENSOR;
      err = subq_polysketch_create(t, (int)d, (int)D, (int)m, o->seed, SUBQ_LEVATT_SKETCH_STREAM, &L->ps);
      if (!err) subq_levatt_account_(L, (long long)((t == SUBQ_SKETCH_GAUSSIAN ? 2 * d * D + 256 * D : m * d + 4 * D) * sizeof(double)));
    } else if (!err && m > 1) {
      err = SUBQ_ALLOC(L->fidx, D * m);
      if (!err) err = SUBQ_ALLOC(L->fcoef, D);
      if (!err) {
        subq_levatt_account_(L, (long long)(D * m * sizeof(int) + D * sizeof(double)));
        build_features_(L);
      }
    }
  }
  err = subq_error_agree(comm, err);
  if (err) {
    subq_levatt_destroy(&L);
    return err;
  }
  *out = L;
  return SUBQ_OK;
}

void subq_levatt_destroy(subq_levatt_t **Lp) {
  if (!Lp || !*Lp) return;
  subq_levatt_t *L = *Lp;
  subq_polysketch_destroy(&L->ps);
  subq_free(&L->fidx);
  subq_free(&L->fcoef);
  subq_free(&L->G);
  subq_free(&L->M);
  subq_free(&L->piv);
  subq_free(&L->phi);
  subq_free(&L->y);
  subq_free(&L->ct);
  subq_free(&L->ci);
  subq_free(&L->U);
  subq_free(&L->F);
  subq_free(&L->Z);
  subq_free(&L->R);
  subq_free(&L->T);
  subq_free(&L->Gc);
  subq_free(Lp);
}

/* Chunk buffers: phi for `rows` rows (m > 1 or sketched), y for min(rows, block rows) rows
 * of up to D scores when need_y. */
int subq_levatt_reserve_(subq_levatt_t *L, size_t rows, int need_y) {
  const int need_phi = L->m > 1 || L->ps;
  const size_t br = subq_gram_block_rows_(L->D);
  const size_t cap = rows > L->cap_rows ? rows : L->cap_rows;
  size_t ycap = need_y ? (rows < br ? rows : br) : 0;
  if (ycap < L->y_rows) ycap = L->y_rows;
  if (cap == L->cap_rows && ycap == L->y_rows) return SUBQ_OK;
  long long old = (long long)((L->cap_rows * (size_t)need_phi + L->y_rows) * L->D * sizeof(double));
  subq_free(&L->phi);
  subq_free(&L->y);
  L->cap_rows = L->y_rows = 0;
  size_t nel, ynel;
  SUBQ_CALL(subq_size_mul(cap, L->D, &nel));
  SUBQ_CALL(subq_size_mul(ycap, L->D, &ynel));
  if (need_phi) SUBQ_CALL(SUBQ_ALLOC(L->phi, nel));
  if (ycap) SUBQ_CALL(SUBQ_ALLOC(L->y, ynel));
  L->cap_rows = cap;
  L->y_rows = ycap;
  subq_levatt_account_(L, (long long)((nel * (size_t)need_phi + ynel) * sizeof(double)) - old);
  return SUBQ_OK;
}

/* phi(K) for rows keys; returns the pointer to use (K itself when m == 1, exact). */
const double *subq_levatt_features_of_(subq_levatt_t *L, size_t rows, const double *K) {
  if (L->ps) {
    subq_polysketch_features(L->ps, rows, K, L->d, L->phi, L->D); /* lds valid: no error */
    return L->phi;
  }
  if (L->m == 1) return K;
  const size_t D = L->D, m = L->m, d = L->d;
  const int *restrict fi = L->fidx;
  const double *restrict fc = L->fcoef;
  double *restrict phi = L->phi;
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < rows; i++) {
    const double *k = K + i * d;
    for (size_t f = 0; f < D; f++) {
      double v = fc[f];
      for (size_t t = 0; t < m; t++) v *= k[fi[f * m + t]];
      phi[i * D + f] = v;
    }
  }
  return phi;
}

int subq_levatt_gram_add(subq_levatt_t *L, size_t rows, const double *K) {
  SUBQ_CHECK(L && (K || rows == 0), SUBQ_ERR_ARG, "NULL argument");
  SUBQ_CHECK(L->state == ST_GRAM, SUBQ_ERR_ARG, "gram_add after factor: start a new object");
  if (rows == 0) return SUBQ_OK;
  if (L->m == 1 && !L->ps && subq_gram_block_rows_(L->D) != SIZE_MAX) {
    SUBQ_CALL(subq_levatt_gram_add_keys_(L, rows, K)); /* features = keys, blocked */
  } else {
    SUBQ_CALL(subq_levatt_check_finite_(L, rows, K, L->n_gram, "pass 1"));
    SUBQ_CALL(subq_levatt_reserve_(L, rows, 0));
    /* Row-major upper triangle of G = column-major lower triangle (what dpstrf reads). */
    subq_gram_update_(L->D, L->G, rows, subq_levatt_features_of_(L, rows, K));
  }
  L->n_gram += rows;
  return SUBQ_OK;
}

/* Rank 0: pivoted Cholesky P^T G P = L L^T (dpstrf) and the scoring matrix
 * M = P_{:,1:r} L11^{-T} (D x r, row-major; dtrtri of L11), so that a key's scores are
 * z = phi M = (L11^{-1} (P^T phi)_{1:r})^T and tau = |z|^2: one dgemm per chunk. */
static int factor_root_(subq_levatt_t *L) {
  const size_t D = L->D;
  double maxd = 0;
  for (size_t a = 0; a < D; a++) maxd = fmax(maxd, L->G[a * D + a]);
  L->r = 0;
  if (maxd <= 0) return SUBQ_OK;
  double nmax = (double)(L->n_global > D ? L->n_global : D);
  double tol = maxd * nmax * DBL_EPSILON;
  lapack_int rank = 0;
  lapack_int info = LAPACKE_dpstrf(LAPACK_COL_MAJOR, 'L', (lapack_int)D, L->G, (lapack_int)D,
                                   L->piv, &rank, tol);
  SUBQ_CHECK(info >= 0, SUBQ_ERR_LAPACK, "dpstrf returned info = %d (D = %zu)", (int)info, D);
  L->r = (size_t)rank;
  if (!L->r) return SUBQ_OK;
  info = LAPACKE_dtrtri(LAPACK_COL_MAJOR, 'L', 'N', rank, L->G, (lapack_int)D);
  SUBQ_CHECK(info == 0, SUBQ_ERR_LAPACK, "dtrtri of the %zu x %zu Cholesky factor returned info = %d",
             L->r, L->r, (int)info);
  /* Linv(b, a) (col-major, b >= a) goes to M(piv[a]-1, b). */
  const size_t r = L->r;
  memset(L->M, 0, D * r * sizeof *L->M);
  for (size_t a = 0; a < r; a++)
    for (size_t b = a; b < r; b++) L->M[((size_t)L->piv[a] - 1) * r + b] = L->G[a * D + b];
  return SUBQ_OK;
}

int subq_levatt_factor(subq_levatt_t *L) {
  SUBQ_CHECK(L, SUBQ_ERR_ARG, "NULL object");
  int err = L->state == ST_GRAM ? SUBQ_OK : SUBQ_FAIL(SUBQ_ERR_ARG, "factor called twice");
  SUBQ_CALL(subq_error_agree(L->comm, err));
  if (L->o.passes == 1) return subq_levatt_online_prefix_(L);
  const size_t D = L->D;
  unsigned long long nl = L->n_gram, ng = 0;
  SUBQ_MPI(MPI_Allreduce(&nl, &ng, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, L->comm));
  L->n_global = (size_t)ng;
  /* The one collective of the method on D^2 numbers (paper, Section 4). */
  SUBQ_MPI(MPI_Allreduce(MPI_IN_PLACE, L->G, (int)(D * D), MPI_DOUBLE, MPI_SUM, L->comm));
  err = SUBQ_ALLOC(L->M, D * D);
  if (!err) subq_levatt_account_(L, (long long)(D * D * sizeof(double)));
  err = subq_error_agree(L->comm, err);
  if (!err && L->rank == 0) err = factor_root_(L);
  SUBQ_CALL(subq_error_agree(L->comm, err));
  unsigned long long r = L->r;
  SUBQ_MPI(MPI_Bcast(&r, 1, MPI_UNSIGNED_LONG_LONG, 0, L->comm));
  L->r = (size_t)r;
  /* Every rank scores with rank 0's M (D x r), so scores agree bitwise across np. */
  if (L->r) SUBQ_MPI(MPI_Bcast(L->M, (int)(D * L->r), MPI_DOUBLE, 0, L->comm));
  L->state = ST_FACTORED;
  return SUBQ_OK;
}

/* Candidate order: larger tau first, then smaller global index. */
static int better_(double ta, int64_t ia, double tb, int64_t ib) {
  return ta > tb || (ta == tb && ia < ib);
}

int subq_levatt_push_(subq_levatt_t *L, double t, int64_t g) {
  if (L->o.topk == 0) {
    if (!(t >= L->o.eps)) return SUBQ_OK;
    if (L->nc == L->capc) {
      size_t cap = L->capc ? 2 * L->capc : 256;
      double *ct = realloc(L->ct, cap * sizeof *ct);
      SUBQ_CHECK(ct, SUBQ_ERR_MEM, "cannot grow the candidate list to %zu", cap);
      L->ct = ct;
      int64_t *ci = realloc(L->ci, cap * sizeof *ci);
      SUBQ_CHECK(ci, SUBQ_ERR_MEM, "cannot grow the candidate list to %zu", cap);
      L->ci = ci;
      subq_levatt_account_(L, (long long)((cap - L->capc) * (sizeof(double) + sizeof(int64_t))));
      L->capc = cap;
    }
    L->ct[L->nc] = t;
    L->ci[L->nc++] = g;
    return SUBQ_OK;
  }
  /* top-k: min-heap whose root is the worst kept candidate. */
  size_t k = L->o.topk, pos;
  if (L->nc < k) {
    pos = L->nc++;
    while (pos > 0) {
      size_t par = (pos - 1) / 2;
      if (!better_(L->ct[par], L->ci[par], t, g)) break;
      L->ct[pos] = L->ct[par];
      L->ci[pos] = L->ci[par];
      pos = par;
    }
  } else {
    if (!better_(t, g, L->ct[0], L->ci[0])) return SUBQ_OK;
    pos = 0;
    for (;;) {
      size_t c = 2 * pos + 1;
      if (c >= k) break;
      if (c + 1 < k && better_(L->ct[c], L->ci[c], L->ct[c + 1], L->ci[c + 1])) c++;
      if (!better_(t, g, L->ct[c], L->ci[c])) break;
      L->ct[pos] = L->ct[c];
      L->ci[pos] = L->ci[c];
      pos = c;
    }
  }
  L->ct[pos] = t;
  L->ci[pos] = g;
  return SUBQ_OK;
}

int subq_levatt_score(subq_levatt_t *L, size_t rows, const double *K, size_t g0, double *tau) {
  SUBQ_CHECK(L && (K || rows == 0), SUBQ_ERR_ARG, "NULL argument");
  SUBQ_CHECK(L->state == ST_FACTORED, SUBQ_ERR_ARG, "score needs factor first (and no select yet)");
  if (rows == 0) return SUBQ_OK;
  if (L->o.topk && !L->ct) {
    SUBQ_CALL(SUBQ_ALLOC(L->ct, L->o.topk));
    SUBQ_CALL(SUBQ_ALLOC(L->ci, L->o.topk));
    L->capc = L->o.topk;
    subq_levatt_account_(L, (long long)(L->o.topk * (sizeof(double) + sizeof(int64_t))));
  }
  if (L->o.passes == 1) {
    SUBQ_CALL(subq_levatt_check_finite_(L, rows, K, L->n_scored, "online pass"));
    SUBQ_CALL(subq_levatt_reserve_(L, rows, 0));
    SUBQ_CALL(subq_levatt_online_score_(L, rows, subq_levatt_features_of_(L, rows, K), g0, tau));
    L->n_scored += rows;
    return SUBQ_OK;
  }
  SUBQ_CALL(subq_levatt_reserve_(L, rows, 1));
  const size_t D = L->D, r = L->r, b = subq_block_rows_even_(rows, L->y_rows);
  const double *phi = subq_levatt_features_of_(L, rows, K);
  double *restrict y = L->y;
  /* Z = Phi M (rows x r), the scores' coordinates (factor_root_), in blocks of b rows
   * (subq_gram_block_rows_) so that each block's product and its row norms stay in cache. */
  for (size_t i0 = 0; i0 < rows; i0 += b) {
    const size_t nb = rows - i0 < b ? rows - i0 : b;
    /* NaN/Inf keys would give NaN scores, silently outside U; the check's sequential read
     * also brings the block into cache for the product (measured: score pass 17% faster
     * when the chunk is out of cache) */
    SUBQ_CALL(subq_levatt_check_finite_(L, nb, K + i0 * L->d, L->n_scored + i0, "pass 2"));
    if (r) cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nb, (int)r, (int)D, 1.0,
                       phi + i0 * D, (int)D, L->M, (int)r, 0.0, y, (int)r);
    for (size_t i = 0; i < nb; i++) {
      double t = 0;
#pragma omp simd reduction(+ : t)
      for (size_t a = 0; a < r; a++) t += y[i * r + a] * y[i * r + a];
      if (tau) tau[i0 + i] = t;
      L->sum_tau += t;
      if (t > L->max_tau) L->max_tau = t;
      SUBQ_CALL(subq_levatt_push_(L, t, (int64_t)(g0 + i0 + i)));
    }
  }
  L->n_scored += rows;
  return SUBQ_OK;
}

static int cmp_i64_(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}
static int cmp_pair_(const void *a, const void *b) {
  const double *x = a, *y = b;
  if (better_(x[0], (int64_t)x[1], y[0], (int64_t)y[1])) return -1;
  if (better_(y[0], (int64_t)y[1], x[0], (int64_t)x[1])) return 1;
  return 0;
}

int subq_levatt_select(subq_levatt_t *L, size_t *nU) {
  SUBQ_CHECK(L && nU, SUBQ_ERR_ARG, "NULL argument");
  int err = L->state == ST_FACTORED ? SUBQ_OK : SUBQ_FAIL(SUBQ_ERR_ARG, "select needs factor and score first");
  SUBQ_CALL(subq_error_agree(L->comm, err));
  /* Global figures: keys scored, sum and max of tau, peak workspace. */
  double loc[2] = {(double)L->n_scored, L->sum_tau}, glob[2];
  double mx[2] = {L->max_tau, (double)L->bytes_peak}, gmx[2];
  SUBQ_MPI(MPI_Allreduce(loc, glob, 2, MPI_DOUBLE, MPI_SUM, L->comm));
  SUBQ_MPI(MPI_Allreduce(mx, gmx, 2, MPI_DOUBLE, MPI_MAX, L->comm));
  size_t n = (size_t)glob[0];
  if (L->o.passes == 1) {
    L->n_global = n;
    SUBQ_CALL(subq_levatt_online_finish_(L)); /* collective, agreed */
  }
  err = SUBQ_OK;
  if (n != L->n_global)
    err = SUBQ_FAIL(SUBQ_ERR_ARG, "pass 2 scored %zu keys but pass 1 saw %zu", n, L->n_global);
  else if (L->o.topk > n)
    err = SUBQ_FAIL(SUBQ_ERR_ARG, "topk = %zu exceeds the number of keys n = %zu", L->o.topk, n);
  SUBQ_CALL(subq_error_agree(L->comm, err));
  /* Gather the candidates as (tau, index) pairs; indices < 2^53 are exact in a double. */
  int nc = (int)L->nc, *cnt = NULL, *dis = NULL;
  double *mine = NULL, *all = NULL;
  err = SUBQ_ALLOC(cnt, L->size);
  if (!err) err = SUBQ_ALLOC(dis, L->size);
  if (!err) err = SUBQ_ALLOC(mine, 2 * L->nc);
  err = subq_error_agree(L->comm, err);
  if (!err) {
    for (size_t c = 0; c < L->nc; c++) {
      mine[2 * c] = L->ct[c];
      mine[2 * c + 1] = (double)L->ci[c];
    }
    int two = 2 * nc;
    err = MPI_Allgather(&two, 1, MPI_INT, cnt, 1, MPI_INT, L->comm) == MPI_SUCCESS
              ? SUBQ_OK : SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allgather of candidate counts failed");
  }
  long total = 0;
  if (!err) {
    for (int q = 0; q < L->size; q++) {
      dis[q] = (int)total;
      total += cnt[q];
    }
    err = subq_malloc((size_t)total, sizeof(double), &all);
  }
  err = subq_error_agree(L->comm, err);
  if (!err && MPI_Allgatherv(mine, 2 * nc, MPI_DOUBLE, all, cnt, dis, MPI_DOUBLE, L->comm) != MPI_SUCCESS)
    err = SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allgatherv of candidates failed");
  size_t npairs = (size_t)total / 2, keep = npairs;
  if (!err && L->o.topk) {
    qsort(all, npairs, 2 * sizeof(double), cmp_pair_);
    keep = L->o.topk < npairs ? L->o.topk : npairs;
  }
  if (!err) err = SUBQ_ALLOC(L->U, keep);
  if (!err) {
    for (size_t c = 0; c < keep; c++) L->U[c] = (int64_t)all[2 * c + 1];
    qsort(L->U, keep, sizeof(int64_t), cmp_i64_);
    L->nU = keep;
    subq_levatt_account_(L, (long long)(keep * sizeof(int64_t)));
  }
  subq_free(&cnt);
  subq_free(&dis);
  subq_free(&mine);
  subq_free(&all);
  SUBQ_CALL(subq_error_agree(L->comm, err));
  subq_levatt_info_t *inf = &L->info;
  inf->n = n;
  inf->d = L->d;
  inf->features = L->D;
  inf->sketched = L->ps != NULL;
  inf->rank = L->r;
  inf->sum_scores = glob[1];
  inf->max_score = gmx[0];
  inf->universal_set_size = L->nU;
  inf->passes = L->o.passes;
  if (L->o.passes == 2) { /* online: sum_bound and ridge_* set by subq_levatt_online_finish_ */
    inf->sum_bound = (double)L->r;
    inf->ridge_min = inf->ridge_max = 0;
  }
  inf->bound = L->o.topk ? (double)L->o.topk : inf->sum_bound / L->o.eps;
  inf->workspace_bytes = (size_t)fmax(gmx[1], (double)L->bytes_peak);
  L->state = ST_SELECTED;
  /* One pass: the CMP bound on the sum of online scores (include/subq/levatt.h). */
  if (L->o.passes == 1 && inf->sum_scores > inf->sum_bound * (1 + 1e-9) + 1e-9)
    return SUBQ_FAIL(SUBQ_ERR_NUMERIC,
                     "online scores sum to %.6g, above the bound sum_k log(1 + sigma_k^2/lambda) "
                     "= %.6g (lambda = %g): inaccurate scores", inf->sum_scores, inf->sum_bound,
                     inf->ridge_min);
  /* The theorem's bound |U| <= rank/eps (paper, Section 3), checked at run time. */
  if (L->o.passes == 2 && !L->o.topk && (double)L->nU > inf->bound * (1 + 1e-9))
    return SUBQ_FAIL(SUBQ_ERR_NUMERIC,
                     "universal set size %zu exceeds rank/eps = %zu/%g = %g: inaccurate scores "
                     "(sum of scores %.6g)", L->nU, L->r, L->o.eps, inf->bound, inf->sum_scores);
  *nU = L->nU;
  return SUBQ_OK;
}

int subq_levatt_universal_set(const subq_levatt_t *L, int64_t *idx) {
  SUBQ_CHECK(L && (idx || (L && L->nU == 0)), SUBQ_ERR_ARG, "NULL argument");
  SUBQ_CHECK(L->state == ST_SELECTED, SUBQ_ERR_ARG, "universal_set needs select first");
  if (L->nU) memcpy(idx, L->U, L->nU * sizeof *idx);
  return SUBQ_OK;
}

int subq_levatt_info(const subq_levatt_t *L, subq_levatt_info_t *info) {
  SUBQ_CHECK(L && info, SUBQ_ERR_ARG, "NULL argument");
  SUBQ_CHECK(L->state == ST_SELECTED, SUBQ_ERR_ARG, "info needs select first");
  *info = L->info;
  return SUBQ_OK;
}

int subq_levatt_key_reads(const subq_levatt_t *L) {
  return L->o.passes == 2 || L->size > 1 ? 2 : 1;
}

int subq_levatt_universal(MPI_Comm comm, const subq_levatt_opts_t *o, size_t d, size_t nloc,
                          const double *K, size_t g0, size_t chunk, double *tau, int64_t **U,
                          size_t *nU, subq_levatt_info_t *info) {
  SUBQ_CHECK(U && nU, SUBQ_ERR_ARG, "NULL argument");
  *U = NULL;
  *nU = 0;
  subq_levatt_t *L = NULL;
  SUBQ_CALL(subq_levatt_create(comm, d, o, &L));
  if (chunk == 0) chunk = nloc ? nloc : 1;
  int err = SUBQ_OK;
  for (size_t i = 0; i < nloc && !err && subq_levatt_key_reads(L) == 2; i += chunk)
    err = subq_levatt_gram_add(L, nloc - i < chunk ? nloc - i : chunk, K + i * d);
  err = subq_error_agree(comm, err);
  if (!err) err = subq_levatt_factor(L);
  if (!err) {
    for (size_t i = 0; i < nloc && !err; i += chunk)
      err = subq_levatt_score(L, nloc - i < chunk ? nloc - i : chunk, K + i * d, g0 + i,
                              tau ? tau + i : NULL);
    err = subq_error_agree(comm, err);
  }
  if (!err) err = subq_levatt_select(L, nU);
  if (!err) err = SUBQ_ALLOC(*U, *nU);
  if (!err) err = subq_levatt_universal_set(L, *U);
  if (!err && info) err = subq_levatt_info(L, info);
  subq_levatt_destroy(&L);
  if (err) subq_free(U);
  return err;
}
