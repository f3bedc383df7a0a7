/* Internal interface of src/kde: the oracle object and its ops table (not installed).
 *
 * A query runs in two local phases around collectives, so that every implementation is
 * answered with the same communication pattern:
 *   pre   (optional) local integers per query (HBE: bucket sizes per table), exchanged
 *         with one MPI_Allgather so every rank knows every rank's counts;
 *   local partial values per query (nout of them) + kernel evaluations, summed over
 *         ranks with one MPI_Allreduce;
 *   combine  the summed partial values -> the estimate (median of group means). */
#ifndef SUBQ_KDE_IMPL_H
#define SUBQ_KDE_IMPL_H

#include <stdint.h>

#include "subq/core.h"
#include "subq/kde.h"

/* RNG streams: (oracle stream id << 8) | purpose. */
enum {
  SUBQ_KDE_P_SAMPLE = 1,  /* sampling oracle: sample index */
  SUBQ_KDE_P_HBE_G = 2,   /* HBE: projection directions */
  SUBQ_KDE_P_HBE_B = 3,   /* HBE: offsets */
  SUBQ_KDE_P_HBE_PICK = 4, /* HBE: position in the bucket */
  SUBQ_KDE_P_DEANN_C = 5   /* DEANN: cluster centres */
};
#define SUBQ_KDE_STREAM_BW 0x4B4257ull      /* 'KBW' bandwidth pairs */
#define SUBQ_KDE_STREAM_VERTEX 0x4B5658ull  /* vertex sampling */
#define SUBQ_KDE_STREAM_TREE 0x4B5452ull    /* tree descent */
#define SUBQ_KDE_STREAM_LEAF 0x4B4C46ull    /* leaf race */
#define SUBQ_KDE_STREAM_LRA 0x4B4C52ull     /* row sampling for LRA */
#define SUBQ_KDE_STREAM_EIG 0x4B4547ull     /* column sampling in the power method */
#define SUBQ_KDE_STREAM_LRAERR 0x4B4C45ull  /* rows sampled for the LRA error estimate */

typedef struct subq_kde_ops {
  const char *name;
  int (*setup)(subq_kde_t *k);              /* local; the caller agrees on errors */
  size_t (*npre)(const subq_kde_t *k);      /* longs per query in the pre phase (0: none) */
  void (*pre)(const subq_kde_t *k, const double *y, long *cnt);
  size_t (*nout)(const subq_kde_t *k);      /* partial values per query */
  /* q queries Y (q x d) with ids qids; allcnt: for query i, size x npre longs at
   * allcnt + i*size*npre (NULL when npre == 0).  part (q x nout) is zeroed by the caller;
   * *evals incremented by the kernel evaluations made here. */
  int (*local)(subq_kde_t *k, const double *Y, size_t q, const uint64_t *qids,
               const long *allcnt, double *part, uint64_t *evals);
  double (*combine)(const subq_kde_t *k, double *vals); /* may reorder vals */
  void (*destroy)(subq_kde_t *k);
} subq_kde_ops_t;

struct subq_kde {
  MPI_Comm comm;
  int rank, size;
  subq_kde_type_t type;
  const subq_kde_ops_t *ops;
  subq_kernel_t kernel;
  double eps, delta, tau;
  size_t per_group, groups; /* 0: derived at setup */
  size_t clusters, probe;   /* DEANN: IVF clusters (0: ceil(sqrt(n))), clusters probed (0: 1) */
  int derived;              /* per_group was derived (0 at setup): re-derived each setup */
  size_t fallback_m;        /* > 0: derived evaluations per query that would have exceeded
                             * n, so this oracle answers exactly (ops = exact) */
  uint64_t seed, stream;    /* stream id: 0 for user oracles, node id + 1 in a tree */
  /* points: the global index range [g0, g0 + n); the local part is nloc rows starting at
   * global index lo (pointer X to that row) */
  const double *X;
  size_t d, n, g0, nloc, lo;
  int ready;
  uint64_t nq;              /* queries issued (numbering) */
  int fresh_samples;        /* sampling: a fresh sample per query, not one per batch
                             * (set by subq_kde_query_points: kde_sampling.c) */
  uint64_t evals_local;     /* kernel evaluations on this rank since setup */
  subq_device_t device;     /* where the exact evaluation runs (subq_kde_set_device) */
  void *impl;
};

extern const subq_kde_ops_t subq_kde_exact_ops_;
extern const subq_kde_ops_t subq_kde_sampling_ops_;
extern const subq_kde_ops_t subq_kde_hbe_ops_;
extern const subq_kde_ops_t subq_kde_deann_ops_;

/* DEANN: the number of IVF clusters an oracle over k->n points uses. */
size_t subq_kde_deann_clusters_(const subq_kde_t *k);

/* Setup over the global range [g0, g0 + n) of X (collective, errors agreed). */
int subq_kde_setup_range_(subq_kde_t *k, const subq_dmat_t *X, size_t g0, size_t n);

/* Collective: nitems queries, item i asks oracles[i] (all over the same comm) at
 * Y + i*d with id qids[i].  Runs of consecutive items with the same oracle are answered
 * by one local call.  est (nitems) replicated; *evals summed over ranks (may be NULL). */
int subq_kde_query_multi_(MPI_Comm comm, size_t nitems, subq_kde_t *const *oracles,
                          const double *Y, size_t d, const uint64_t *qids, double *est,
                          uint64_t *evals);

/* The stream key of a purpose for an oracle. */
static inline uint64_t subq_kde_stream_(const subq_kde_t *k, unsigned purpose) {
  return (k->stream << 8) | purpose;
}

/* Median of v[0..g) (reorders v). */
double subq_kde_median_(double *v, size_t g);
/* Distance used by the kernel type (L1 for Laplacian, else L2). */
double subq_kde_dist_(subq_kernel_type_t type, const double *x, const double *y, size_t d);
/* out[i] = ||A_i||^2 for m rows of length d. */
void subq_kde_norms2_(size_t m, size_t d, const double *A, double *out);

#endif
