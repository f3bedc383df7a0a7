/* DEANN KDE: exact contribution of the query's approximate near neighbours plus random
 * sampling of the rest -- Karppa, Aumueller, Pagh 2022, "DEANN: Speeding up Kernel-Density
 * Estimation using Approximate Nearest Neighbor Search" (AISTATS, PMLR 151), Algorithm 1:
 * KDE(y) ~ sum_{x in S(y)} k(x, y) + estimate of sum_{x not in S(y)} k(x, y).  Its point is
 * the regime where random sampling and hashing fail: a small density (tiny tau), where
 * the few near neighbours carry most of the mass and uniform samples almost never hit them.
 *
 * The ANN index is an inverted file over a coarse clustering (IVF; Jegou, Douze, Schmid
 * 2011, "Product quantization for nearest neighbor search", TPAMI, Sec. IV.A, whose coarse
 * quantizer is k-means): C initial centres are data points drawn uniformly from the counter
 * RNG (seed, stream 'DEANN centre', j), refined by 2 Lloyd iterations; every point is
 * assigned to its nearest centre (ties: lower centre index), and S(y) = all members of the
 * `probe` clusters whose centres are nearest to y.  Random part: as
 * DEANN's, m uniform samples per group, but drawn from all of X with the members of S(y)
 * contributing 0, scaled by n/m: unbiased for sum_{x not in S(y)} k(x, y) (simpler to
 * distribute than sampling X minus S(y)).  Estimate: exact part + median of the group
 * means of the random part.  Unbiased; exact when S(y) holds every point with k > 0.
 *
 * Cost per query: C distances to the centres (counted as kernel evaluations, once) +
 * |S(y)| + m * groups evaluations.  Setup: 3 n C distances, 12 bytes per point.
 * Distributed: centres gathered with one MPI_Allreduce at setup, each Lloyd step one
 * MPI_Allreduce of the C x d sums; each rank keeps the cluster ids of its own points; the
 * exact and sampled parts of each rank are summed by the oracle's usual MPI_Allreduce.
 * Initial centres and samples depend only on the seed and global indices; the Lloyd sums
 * agree across rank counts to rounding, so results do too (an assignment could differ
 * only for a point equidistant from two centres to ~1e-16). */
#include <math.h>
#include <string.h>

#include "kde/kde_impl.h"

typedef struct {
  size_t C;        /* clusters */
  double *cent;    /* C x d centre coordinates (replicated) */
  uint32_t *cl;    /* nloc cluster ids of the local points */
  size_t *off;     /* C + 1 offsets into mem */
  size_t *mem;     /* local row indices grouped by cluster */
  double *cdist;   /* workspace: C distances */
  size_t *order;   /* workspace: C centre indices */
  unsigned char *probed; /* workspace: C flags */
} deann_t;

size_t subq_kde_deann_clusters_(const subq_kde_t *k) {
  if (k->clusters) return k->clusters < k->n ? k->clusters : k->n;
  size_t c = (size_t)ceil(sqrt((double)k->n));
  return c < 1 ? 1 : c;
}

#define LLOYD 2 /* Lloyd iterations after the random initial centres */

/* Nearest centre of every local point (scalar distances; ties: lower index). */
static void assign_(const subq_kde_t *k, deann_t *D) {
  const size_t C = D->C, d = k->d;
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < k->nloc; i++) {
    double best = INFINITY;
    uint32_t bj = 0;
    for (size_t j = 0; j < C; j++) {
      double c = subq_kde_dist_(k->kernel.type, k->X + i * d, D->cent + j * d, d);
      if (c < best) {
        best = c;
        bj = (uint32_t)j;
      }
    }
    D->cl[i] = bj;
  }
}

static int setup_(subq_kde_t *k) {
  SUBQ_CHECK(k->per_group >= 1 && k->groups >= 1, SUBQ_ERR_ARG,
             "DEANN needs >= 1 sample per group and >= 1 group, got %zu, %zu", k->per_group,
             k->groups);
  deann_t *D = NULL;
  SUBQ_CALL(SUBQ_ZALLOC(D, 1));
  k->impl = D;
  const size_t C = subq_kde_deann_clusters_(k), d = k->d, nl = k->nloc;
  D->C = C;
  int e = subq_malloc(C, d * sizeof(double), &D->cent);
  if (!e) e = SUBQ_ALLOC(D->cl, nl + 1);
  if (!e) e = SUBQ_ALLOC(D->off, C + 1);
  if (!e) e = SUBQ_ALLOC(D->mem, nl + 1);
  if (!e) e = SUBQ_ALLOC(D->cdist, C);
  if (!e) e = SUBQ_ALLOC(D->order, C);
  if (!e) e = SUBQ_ALLOC(D->probed, C);
  /* every rank reaches the collective, so a failed allocation cannot hang the others */
  SUBQ_CALL(subq_error_agree(k->comm, e));
  memset(D->cent, 0, C * d * sizeof *D->cent);
  const uint64_t st = subq_kde_stream_(k, SUBQ_KDE_P_DEANN_C);
  for (size_t j = 0; j < C; j++) {
    uint64_t g = k->g0 + subq_rng_below(k->seed, st, j, k->n);
    if (g >= k->lo && g < k->lo + nl) memcpy(D->cent + j * d, k->X + (g - k->lo) * d, d * sizeof(double));
  }
  SUBQ_MPI(MPI_Allreduce(MPI_IN_PLACE, D->cent, (int)(C * d), MPI_DOUBLE, MPI_SUM, k->comm));
  /* LLOYD Lloyd iterations (k-means; sums and counts by one MPI_Allreduce each), then the
   * final assignment.  Empty clusters keep their centre. */
  double *sum = NULL;
  e = subq_calloc(C * d + C, sizeof(double), &sum);
  SUBQ_CALL(subq_error_agree(k->comm, e));
  for (int it = 0; it <= LLOYD; it++) {
    assign_(k, D);
    if (it == LLOYD) break;
    memset(sum, 0, (C * d + C) * sizeof *sum);
    for (size_t i = 0; i < nl; i++) {
      const double *x = k->X + i * d;
      double *s = sum + (size_t)D->cl[i] * d;
      for (size_t t = 0; t < d; t++) s[t] += x[t];
      sum[C * d + D->cl[i]] += 1;
    }
    if (MPI_Allreduce(MPI_IN_PLACE, sum, (int)(C * d + C), MPI_DOUBLE, MPI_SUM, k->comm) != MPI_SUCCESS) {
      subq_free(&sum);
      return SUBQ_FAIL(SUBQ_ERR_MPI, "MPI_Allreduce of the DEANN centre sums failed");
    }
    for (size_t j = 0; j < C; j++)
      if (sum[C * d + j] > 0)
        for (size_t t = 0; t < d; t++) D->cent[j * d + t] = sum[j * d + t] / sum[C * d + j];
  }
  subq_free(&sum);
  /* inverted lists: counting sort of the local rows by cluster */
  memset(D->off, 0, (C + 1) * sizeof *D->off);
  memset(D->order, 0, C * sizeof *D->order);
  for (size_t i = 0; i < nl; i++) D->off[D->cl[i] + 1]++;
  for (size_t j = 0; j < C; j++) D->off[j + 1] += D->off[j];
  for (size_t i = 0; i < nl; i++) D->mem[D->order[D->cl[i]]++ + D->off[D->cl[i]]] = i;
  k->evals_local += (uint64_t)nl * C * (LLOYD + 1); /* setup distances, as kernel-evaluation cost */
  return SUBQ_OK;
}

static size_t npre_(const subq_kde_t *k) { (void)k; return 0; }
static size_t nout_(const subq_kde_t *k) { return k->groups; }

/* Mark the `probe` clusters whose centres are nearest to y (ties: lower index). */
static void probe_(const subq_kde_t *k, deann_t *D, const double *y, size_t probe) {
  const size_t C = D->C, d = k->d;
  for (size_t j = 0; j < C; j++) {
    D->cdist[j] = subq_kde_dist_(k->kernel.type, y, D->cent + j * d, d);
    D->probed[j] = 0;
  }
  if (probe > C) probe = C;
  for (size_t p = 0; p < probe; p++) { /* probe is small: repeated selection */
    size_t bj = C;
    for (size_t j = 0; j < C; j++)
      if (!D->probed[j] && (bj == C || D->cdist[j] < D->cdist[bj])) bj = j;
    D->probed[bj] = 1;
  }
}

static int local_(subq_kde_t *k, const double *Y, size_t q, const uint64_t *qids,
                  const long *allcnt, double *part, uint64_t *evals) {
  (void)allcnt;
  deann_t *D = k->impl;
  const size_t m = k->per_group * k->groups, G = k->groups, d = k->d;
  const size_t probe = k->probe ? k->probe : 1;
  const uint64_t st = subq_kde_stream_(k, SUBQ_KDE_P_SAMPLE);
  const double scale = (double)k->n / (double)k->per_group;
  uint64_t ev = 0;
  for (size_t i = 0; i < q; i++) {
    const double *y = Y + i * d;
    probe_(k, D, y, probe);
    if (k->rank == 0) ev += D->C; /* centre distances: counted once over the ranks */
    double exact = 0;
    for (size_t j = 0; j < D->C; j++)
      if (D->probed[j])
        for (size_t a = D->off[j]; a < D->off[j + 1]; a++) {
          exact += subq_kernel_eval(&k->kernel, k->X + D->mem[a] * d, y, d);
          ev++;
        }
    for (size_t g = 0; g < G; g++) part[i * G + g] = exact;
    for (size_t t = 0; t < m; t++) {
      uint64_t j = k->g0 + subq_rng_below(k->seed, st, qids[i] * (uint64_t)m + t, k->n);
      if (j < k->lo || j >= k->lo + k->nloc || D->probed[D->cl[j - k->lo]]) continue;
      part[i * G + t / k->per_group] +=
          scale * subq_kernel_eval(&k->kernel, k->X + (j - k->lo) * d, y, d);
      ev++;
    }
  }
  *evals += ev;
  return SUBQ_OK;
}

static double combine_(const subq_kde_t *k, double *v) { return subq_kde_median_(v, k->groups); }

static void destroy_(subq_kde_t *k) {
  deann_t *D = k->impl;
  if (!D) return;
  subq_free(&D->cent);
  subq_free(&D->cl);
  subq_free(&D->off);
  subq_free(&D->mem);
  subq_free(&D->cdist);
  subq_free(&D->order);
  subq_free(&D->probed);
  subq_free(&k->impl);
}

const subq_kde_ops_t subq_kde_deann_ops_ = {"deann", setup_, npre_, NULL, nout_, local_,
                                            combine_, destroy_};
