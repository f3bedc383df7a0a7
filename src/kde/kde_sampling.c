/* Random-sampling KDE: per query, per_group * groups indices j uniform in the oracle's
 * range from the counter RNG keyed by (seed, stream, qid * m + t); the rank that owns x_j
 * evaluates k(x_j, y).  Group estimate n/per_group * sum, estimate = median of the group
 * estimates (median of means).  Unbiased per group; relative variance <= 1/mu per sample
 * for mean kernel value mu (since 0 <= k <= 1). */
#include "kde/kde_impl.h"

static int setup_(subq_kde_t *k) {
  SUBQ_CHECK(k->per_group >= 1 && k->groups >= 1, SUBQ_ERR_ARG,
             "sampling KDE needs >= 1 sample per group and >= 1 group, got %zu, %zu",
             k->per_group, k->groups);
  return SUBQ_OK;
}

static size_t npre_(const subq_kde_t *k) { (void)k; return 0; }
static size_t nout_(const subq_kde_t *k) { return k->groups; }

static int local_(subq_kde_t *k, const double *Y, size_t q, const uint64_t *qids,
                  const long *allcnt, double *part, uint64_t *evals) {
  (void)allcnt;
  const size_t m = k->per_group * k->groups, G = k->groups;
  const uint64_t st = subq_kde_stream_(k, SUBQ_KDE_P_SAMPLE);
  const double scale = (double)k->n / (double)k->per_group;
  uint64_t ev = 0;
  for (size_t i = 0; i < q; i++) {
    const double *y = Y + i * k->d;
    for (size_t t = 0; t < m; t++) {
      uint64_t j = k->g0 + subq_rng_below(k->seed, st, qids[i] * (uint64_t)m + t, k->n);
      if (j < k->lo || j >= k->lo + k->nloc) continue;
      part[i * G + t / k->per_group] +=
          scale * subq_kernel_eval(&k->kernel, k->X + (j - k->lo) * k->d, y, k->d);
      ev++;
    }
  }
  *evals += ev;
  return SUBQ_OK;
}

static double combine_(const subq_kde_t *k, double *v) { return subq_kde_median_(v, k->groups); }

const subq_kde_ops_t subq_kde_sampling_ops_ = {"sampling", setup_, npre_, NULL, nout_, local_,
                                               combine_, NULL};
