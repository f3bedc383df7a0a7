/* Random-sampling KDE: per_group * groups indices j uniform (with replacement) in the
 * oracle's range from the counter RNG keyed by (seed, stream, qid * m + t), where qid is
 * the id of the first query of a run (the queries answered by one local call: one batch of
 * subq_kde_query, or a single query of a tree descent).  The run's queries share these
 * sample points (unless fresh_samples is set: subq_kde_query_points sets it, since a
 * shared sample would contain some of the query points themselves, whose self-terms n/m
 * would then inflate the same few degrees every time), so their kernel values form one block, computed with dgemm
 * (subq_kernel_block) instead of m scalar evaluations per query; a run of one query draws
 * its own sample exactly as before.  The rank that owns x_j evaluates k(x_j, y).  Group
 * estimate n/per_group * sum, estimate = median of the group estimates (median of means).
 * Each query's estimate is unbiased per group with relative variance <= 1/mu per sample
 * for mean kernel value mu (since 0 <= k <= 1), as with a fresh sample per query; the
 * estimates of one run are correlated, which the per-query failure bound delta does not
 * need (it is a bound for each query: the fixed uniform sample of Charikar & Siminelakis
 * FOCS 2017, Sec. 2, "random sampling" data structure).  Kernel evaluations are counted
 * as q * (local samples), as before. */
#include <string.h>

#include "kde/kde_impl.h"

static int setup_(subq_kde_t *k) {
  SUBQ_CHECK(k->per_group >= 1 && k->groups >= 1, SUBQ_ERR_ARG,
             "sampling KDE needs >= 1 sample per group and >= 1 group, got %zu, %zu",
             k->per_group, k->groups);
  return SUBQ_OK;
}

static size_t npre_(const subq_kde_t *k) { (void)k; return 0; }
static size_t nout_(const subq_kde_t *k) { return k->groups; }

/* Sample points and queries per kernel block (bounds the workspace: 8 (SB d + QB SB) B). */
enum { SB = 1024, QB = 256 };

/* q queries Y (q x d) sharing the m sample points keyed by `key`: part (q x groups) +=. */
static int shared_(subq_kde_t *k, const double *Y, size_t q, uint64_t key, double *part,
                   uint64_t *evals) {
  const size_t m = k->per_group * k->groups, G = k->groups, d = k->d;
  const uint64_t st = subq_kde_stream_(k, SUBQ_KDE_P_SAMPLE);
  const double scale = (double)k->n / (double)k->per_group;
  double *S = NULL, *Kb = NULL, *yn2 = NULL;
  size_t *grp = NULL;
  int e = subq_malloc(SB, (d ? d : 1) * sizeof(double), &S);
  if (!e) e = SUBQ_ALLOC(Kb, (size_t)QB * SB);
  if (!e) e = SUBQ_ALLOC(yn2, q);
  if (!e) e = SUBQ_ALLOC(grp, SB);
  if (!e && k->kernel.type != SUBQ_KERNEL_LAPLACIAN) subq_kde_norms2_(q, d, Y, yn2);
  uint64_t ev = 0;
  for (size_t t0 = 0; !e && t0 < m;) {
    /* the next <= SB of this rank's sample points, in sample order */
    size_t ns = 0;
    for (; t0 < m && ns < SB; t0++) {
      uint64_t j = k->g0 + subq_rng_below(k->seed, st, key * (uint64_t)m + t0, k->n);
      if (j < k->lo || j >= k->lo + k->nloc) continue;
      memcpy(S + ns * d, k->X + (j - k->lo) * d, d * sizeof(double));
      grp[ns++] = t0 / k->per_group;
    }
    for (size_t a = 0; !e && ns > 0 && a < q; a += QB) {
      size_t qb = q - a < QB ? q - a : QB;
      e = subq_kernel_block(&k->kernel, qb, ns, d, Y + a * d,
                            k->kernel.type == SUBQ_KERNEL_LAPLACIAN ? NULL : yn2 + a, S, NULL,
                            Kb);
      for (size_t i = 0; !e && i < qb; i++)
        for (size_t s = 0; s < ns; s++) part[(a + i) * G + grp[s]] += scale * Kb[i * ns + s];
    }
    ev += (uint64_t)q * ns;
  }
  subq_free(&S);
  subq_free(&Kb);
  subq_free(&yn2);
  subq_free(&grp);
  if (e) return subq_error_trace(e, __FILE__, __LINE__, __func__);
  *evals += ev;
  return SUBQ_OK;
}

static int local_(subq_kde_t *k, const double *Y, size_t q, const uint64_t *qids,
                  const long *allcnt, double *part, uint64_t *evals) {
  (void)allcnt;
  if (q == 0) return SUBQ_OK;
  if (!k->fresh_samples) return shared_(k, Y, q, qids[0], part, evals);
  for (size_t i = 0; i < q; i++)
    SUBQ_CALL(shared_(k, Y + i * k->d, 1, qids[i], part + i * k->groups, evals));
  return SUBQ_OK;
}

static double combine_(const subq_kde_t *k, double *v) { return subq_kde_median_(v, k->groups); }

const subq_kde_ops_t subq_kde_sampling_ops_ = {"sampling", setup_, npre_, NULL, nout_, local_,
                                               combine_, NULL};
