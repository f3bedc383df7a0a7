/* subq kde: kernels, kernel density estimation (KDE) oracles, sampling on kernel graphs,
 * and two kernel-matrix applications (low-rank approximation, top eigenpair).
 *
 * Source: Bakshi, Indyk, Kacham, Silwal, Zhou 2023, "Sub-quadratic Algorithms for Kernel
 * Matrices via Kernel Density Estimation" (arXiv 2212.00642; ICLR 2023), below "BIKSZ".
 * Their cost measure is the number of kernel evaluations k(x, y); every function here
 * that evaluates the kernel reports how many evaluations it made (summed over ranks).
 *
 * Points X (n x d, float64) are a subq_dmat_t distributed by row blocks; rank r holds
 * rows [r0, r0 + nloc).  Randomness comes from the counter RNG keyed by (seed, stream,
 * global index): a sample, a hash function or a walk step never depends on the number of
 * ranks, so results for np = 1, 2, 3 agree (bitwise for sampled indices, to rounding for
 * sums).
 *
 * Kernel graph: vertices are the points, edge weights w_ij = k(x_i, x_j) for i != j,
 * degree d_i = sum_{j != i} k(x_i, x_j) = KDE(x_i) - k(x_i, x_i) = KDE(x_i) - 1. */
#ifndef SUBQ_KDE_H
#define SUBQ_KDE_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "subq/device.h"
#include "subq/dist.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- kernels --------------------------------------------------------------------- */

typedef enum {
  SUBQ_KERNEL_GAUSSIAN = 0,    /* exp(-||x-y||_2^2 / (2 h^2)) */
  SUBQ_KERNEL_EXPONENTIAL = 1, /* exp(-||x-y||_2 / h) */
  SUBQ_KERNEL_LAPLACIAN = 2    /* exp(-||x-y||_1 / h) */
} subq_kernel_type_t;

typedef struct {
  subq_kernel_type_t type;
  double h; /* bandwidth, > 0, in the units of the coordinates */
} subq_kernel_t;

/* "gaussian" | "exponential" | "laplacian" -> type.  Errors: SUBQ_ERR_ARG naming it. */
int subq_kernel_parse(const char *name, subq_kernel_type_t *type);
const char *subq_kernel_name(subq_kernel_type_t type);

/* Check a kernel: known type, finite bandwidth h > 0.  Errors: SUBQ_ERR_ARG naming h. */
int subq_kernel_check(const subq_kernel_t *k);

/* k(x, y) for x, y of length d.  Pure, no counting (callers count). */
double subq_kernel_eval(const subq_kernel_t *k, const double *x, const double *y, size_t d);

/* The kernel k^2 (entrywise square), which stays in the family: Gaussian h -> h/sqrt(2),
 * exponential and Laplacian h -> h/2.  Used for row-norm sampling (BIKSZ, importance
 * sampling of rows: ||K_i||^2 = sum_j k^2(x_i, x_j) is a KDE query for k^2). */
subq_kernel_t subq_kernel_squared(const subq_kernel_t *k);

/* Dense block K[i][j] = k(A_i, B_j), A (m x d), B (p x d), K (m x p), all row-major.
 * Gaussian/exponential use ||a||^2 + ||b||^2 - 2 A B^T with one BLAS dgemm (squared
 * distances clamped at 0); Laplacian uses an L1 loop.  anorm2/bnorm2 are the squared
 * row norms (may be NULL: computed).  Not collective; makes m*p kernel evaluations.
 * Errors: SUBQ_ERR_MEM only when norms must be computed. */
int subq_kernel_block(const subq_kernel_t *k, size_t m, size_t p, size_t d, const double *A,
                      const double *anorm2, const double *B, const double *bnorm2, double *K);

/* Collective over X->comm: the median-distance bandwidth heuristic.  Draws `m` pairs of
 * distinct global indices (i, j) from the counter RNG (seed, stream 'KBW'), computes the
 * distance the kernel uses (L2 for Gaussian/exponential, L1 for Laplacian) and returns
 * the median of the non-zero distances; for the Gaussian kernel h = median/sqrt(2) so
 * that a median pair has k = exp(-1), otherwise h = median (k = exp(-1) as well).
 * Independent of the rank count.  Errors: SUBQ_ERR_ARG (n < 2, m == 0, X not float64),
 * SUBQ_ERR_NUMERIC when all sampled distances are 0 (all-identical points: give the
 * bandwidth explicitly). */
int subq_kernel_bandwidth_median(const subq_dmat_t *X, subq_kernel_type_t type, size_t m,
                                 uint64_t seed, double *h);

/* ---- KDE oracles ------------------------------------------------------------------ */

typedef enum {
  SUBQ_KDE_EXACT = 0,    /* blocked exact sum, BLAS dgemm; the reference */
  SUBQ_KDE_SAMPLING = 1, /* uniform random sampling, median of means */
  SUBQ_KDE_HBE = 2,      /* hashing-based estimator, Euclidean LSH */
  SUBQ_KDE_DEANN = 3     /* near neighbours exactly (IVF clusters) + sampling of the rest */
} subq_kde_type_t;

/* "exact" | "sampling" | "hbe" | "deann" -> type.  Errors: SUBQ_ERR_ARG naming it. */
int subq_kde_type_parse(const char *name, subq_kde_type_t *type);
const char *subq_kde_type_name(subq_kde_type_t type);

typedef struct subq_kde subq_kde_t;

/* Create an oracle of `type` over communicator comm (not duplicated).  Not collective.
 * Defaults: Gaussian kernel with h = 1, eps = 0.1, delta = 0.1, tau = 1e-2, seed 0,
 * sample counts derived from (eps, delta, tau) (see subq_kde_set_samples).
 * Errors: SUBQ_ERR_ARG (type), SUBQ_ERR_MEM. */
int subq_kde_create(MPI_Comm comm, subq_kde_type_t type, subq_kde_t **kde);
void subq_kde_destroy(subq_kde_t **kde);

/* Options (before setup).  Errors: SUBQ_ERR_ARG naming the value. */
int subq_kde_set_kernel(subq_kde_t *kde, subq_kernel_t kernel);
/* eps in (0,1): target relative error; delta in (0,1): failure probability per query;
 * tau in (0,1]: assumed lower bound on the mean kernel value KDE(y)/n of a query. */
int subq_kde_set_accuracy(subq_kde_t *kde, double eps, double delta, double tau);
/* Override the derived sample sizes.  Sampling oracle: `per_group` uniform samples in
 * each of `groups` groups; estimate = median of the group means (default per_group =
 * ceil(4/(eps^2 tau)) by Chebyshev since Var[k]/mu^2 <= 1/tau, groups = ceil(8 ln(1/delta))
 * odd).  HBE: `per_group` hash tables per group (default ceil(4/(eps^2 sqrt(tau))), the
 * scale-free relative variance O(1/sqrt(mu)) of Charikar-Siminelakis 2017, Thm 3).
 * 0 keeps the derived value.  A derived count is capped by the cost of exact evaluation:
 * when per_group * groups >= n (sampling: evaluations per query; HBE: tables, up to one
 * evaluation each), setup answers exactly instead (subq_kde_exact_fallback says so).
 * Explicit counts are used as given. */
int subq_kde_set_samples(subq_kde_t *kde, size_t per_group, size_t groups);
int subq_kde_set_seed(subq_kde_t *kde, uint64_t seed);
/* Where the exact evaluation runs (before setup; default SUBQ_DEVICE_CPU): with
 * SUBQ_DEVICE_CUDA the exact oracle, and the exact fallback of a sampling/HBE oracle,
 * keep this rank's points on its bound GPU and answer each batch of queries with tiles of
 * cublasDgemm (||y||^2 + ||x||^2 - 2 Y X^T, Gaussian and exponential) or a direct L1
 * kernel (Laplacian), then the kernel and row sums (src/cuda/kde.cu); the estimates agree
 * with the CPU's to rounding (summation order).  Sampling and HBE estimators stay on the
 * CPU.  Not collective.  Errors: SUBQ_ERR_UNSUPPORTED (a build without CUDA),
 * SUBQ_ERR_DEVICE (no device bound: subq_device_select), SUBQ_ERR_ARG. */
int subq_kde_set_device(subq_kde_t *kde, subq_device_t dev);
/* DEANN options (before setup; ignored by the other types): `clusters` IVF clusters
 * (0: ceil(sqrt(n)); capped at n), `probe` nearest clusters summed exactly per query
 * (0: 1).  Sample counts as for the sampling oracle (subq_kde_set_samples).
 * Errors: SUBQ_ERR_ARG (NULL, > 2^31). */
int subq_kde_set_deann(subq_kde_t *kde, size_t clusters, size_t probe);
/* After setup: 0 when the oracle runs its own estimator, else the number of kernel
 * evaluations per query its derived sample count would have needed (>= n), in which case
 * it evaluates exactly (n per query).  Not collective; NULL gives 0. */
size_t subq_kde_exact_fallback(const subq_kde_t *kde);

/* Collective over the oracle's comm: build the oracle over the points X (X->comm must be
 * congruent with the oracle's comm; float64).  X is referenced, not copied: it must
 * outlive the oracle.  Exact and sampling keep no extra data; HBE builds `per_group *
 * groups` hash tables over the local rows (16 bytes per point per table); DEANN draws its
 * cluster centres (collective) and assigns the local rows (12 bytes per point).
 * Errors (agreed on all ranks): SUBQ_ERR_ARG (n = 0, d = 0, dtype, kernel unsupported by
 * the type: HBE needs Gaussian or exponential), SUBQ_ERR_MEM. */
int subq_kde_setup(subq_kde_t *kde, const subq_dmat_t *X);

/* Collective: KDE estimates est[i] ~ sum_{j < n} k(x_j, Y_i) for q query points Y
 * (q x d row-major, replicated: identical on every rank), est replicated on return.
 * Each rank answers for its shard; one MPI_Allreduce combines them (HBE: one
 * MPI_Allgather of bucket sizes first).  *evals (may be NULL) = kernel evaluations of
 * this call summed over ranks.  Queries are numbered by a per-oracle counter, so the
 * same sequence of calls gives the same answers for any number of ranks.
 * Exact: est exact to rounding, evals = q n.  Sampling: relative error <= eps with
 * probability >= 1 - delta when KDE(y)/n >= tau, evals = q * per_group * groups.
 * HBE (Charikar-Siminelakis 2017, "Hashing-based-estimators for kernel density in high
 * dimensions", FOCS; scale-free estimator Z = |B(y)| k(X, y) / p(X, y) with X uniform in
 * y's bucket B(y) and p the exact collision probability of the p-stable LSH of Datar,
 * Immorlica, Indyk, Mirrokni 2004, its rate tuned so p ~ sqrt(k) at k = tau): unbiased;
 * evals = q * tables (empty buckets cost nothing).
 * DEANN (Karppa, Aumueller, Pagh 2022, "DEANN: Speeding up Kernel-Density Estimation using
 * Approximate Nearest Neighbor Search", AISTATS, Alg. 1; the remedy for small densities,
 * where sampling and hashing rarely see the few points that carry the mass): the members
 * of the `probe` IVF clusters nearest to y summed exactly, the rest by uniform samples
 * (those falling in the probed clusters count 0), median of means; unbiased; evals =
 * q (C + |probed members| + samples), C = clusters (k-means: random data points + 2 Lloyd
 * iterations).  Setup makes 3 n C distance evaluations
 * (in subq_kde_local_evals) and one MPI_Allreduce of the C x d centres.
 * Errors: SUBQ_ERR_ARG (not set up, q > 0 with Y == NULL), SUBQ_ERR_MEM, SUBQ_ERR_MPI. */
int subq_kde_query(subq_kde_t *kde, const double *Y, size_t q, double *est, uint64_t *evals);

/* Collective: query at the data points themselves, in chunks (each chunk's rows are
 * gathered and replicated): out[i] (replicated, length n) ~ KDE(x_i) - self_weight, clamped
 * at 0.  self_weight = 1 (= k(x, x)) gives kernel-graph degrees, 0 gives plain KDE values.
 * *evals as in subq_kde_query (total of all chunks).  Errors as subq_kde_query. */
int subq_kde_query_points(subq_kde_t *kde, double self_weight, double *out, uint64_t *evals);

/* Kernel evaluations made by this oracle on this rank since setup (not collective). */
uint64_t subq_kde_local_evals(const subq_kde_t *kde);

/* ---- sampling on kernel graphs (BIKSZ, Section "Sampling primitives") ---------------- */

/* Not collective (pure): draw s indices i.i.d. from the distribution proportional to
 * w[0..n) (w >= 0, replicated), idx[t] from the counter RNG (seed, stream, t) by inverse
 * CDF.  Errors: SUBQ_ERR_ARG (n = 0, negative/NaN weight, sum of weights 0 -- e.g. the
 * kernel graph of a single point has no edges), SUBQ_ERR_MEM. */
int subq_sample_weighted(const double *w, size_t n, size_t s, uint64_t seed, uint64_t stream,
                         size_t *idx);

/* Collective: weighted vertex sampling, P(i) = d_i / sum_j d_j (BIKSZ, vertex sampling:
 * n KDE queries for the degrees, then inverse-CDF draws).  deg (may be NULL; length n,
 * replicated) receives the degree estimates.  idx (length s, replicated).
 * Errors: as subq_kde_query_points and subq_sample_weighted. */
int subq_kde_sample_vertices(subq_kde_t *kde, size_t s, uint64_t seed, size_t *idx,
                             double *deg, uint64_t *evals);

/* Binary tree of KDE estimates over the global index ranges of X (BIKSZ, weighted edge
 * sampling: a neighbour of i is found by descending with probability proportional to the
 * children's estimates of sum_{j in child, j != i} k(x_i, x_j): O(log n) estimates per
 * sample).  Exact and sampling prototypes: every node keeps one random multiset S_v of m
 * = per_group * groups of its points (all of them when the node has at most max(leaf, m)
 * points or the prototype is exact), drawn at build from the counter RNG keyed by (seed,
 * node), shared by all queries; the estimate is (|v| - [i in v]) times the mean of
 * k(x_i, x_s) over s in S_v, s != i, and all queries at one node and level are one
 * dgemm-based kernel block (subq_kernel_block).  HBE and DEANN prototypes keep one
 * oracle of their type per node (DEANN: IVF clusters of the node's own points, Karppa,
 * Aumueller, Pagh 2022, for small bandwidths), one query per sample and level.  A child is chosen with probability (1 - a) e_c/(e_l + e_r) + a s_c/(s_l + s_r)
 * (s_c: points of the child other than i; a = 0.02 unless both estimates are exact), so
 * every neighbour with k > 0 has positive probability.  Leaves of at most leaf_size
 * points are resolved exactly (one exponential race over the leaf: j with probability
 * k(x_i, x_j) / leaf sum). */
typedef struct subq_kde_tree subq_kde_tree_t;

/* Collective: build the tree from `proto`'s type, kernel, accuracy, sample sizes and seed
 * (each node its own RNG stream).  leaf_size >= 1.  X is referenced.  Memory: m global
 * indices per node (replicated) and the local row norms.  Errors: SUBQ_ERR_ARG
 * (leaf_size, proto not set up), SUBQ_ERR_MEM. */
int subq_kde_tree_create(const subq_kde_t *proto, const subq_dmat_t *X, size_t leaf_size,
                         subq_kde_tree_t **tree);
void subq_kde_tree_destroy(subq_kde_tree_t **tree);

/* Not collective (call with the same value on every rank): the defensive mixing weight a
 * of the descent, p_c = (1 - a) e_c / (e_l + e_r) + a s_c / (s_l + s_r) at nodes with an
 * approximate estimate (default 0.02).  A larger a bounds how far q(j | i) can fall below
 * the true k(x_i, x_j) / deg_i per level (at most a factor 2 / a for halves) at the cost
 * of more draws into subtrees of small weight (Owen, Zhou 2000, defensive importance
 * sampling).  Errors: SUBQ_ERR_ARG (NULL tree, a outside [0, 1)). */
int subq_kde_tree_set_mix(subq_kde_tree_t *tree, double mix);

/* Not collective: this rank's kernel evaluations (DEANN: centre distances) made by the
 * setups of the per-node oracles (HBE, DEANN trees; 0 for exact and sampling trees),
 * counted as subq_kde_local_evals counts them; sum over ranks for the total. */
uint64_t subq_kde_tree_setup_evals_local(const subq_kde_tree_t *tree);

/* Collective: for each t < s, sample a neighbour nbr[t] of src[t] (global indices,
 * replicated) with P(j | i) ~ k(x_i, x_j), j != i (exactly so for exact trees).  Draws
 * are keyed by (seed, a per-tree sample counter + t, level) so results do not depend on
 * ranks.  One (HBE: two) collective(s) per tree level for the whole batch.  A source with
 * zero estimated degree gets a child chosen by subtree size (documented fallback, never
 * NaN); n = 1 gives SUBQ_ERR_ARG ("no neighbours").  *evals: kernel evaluations, all
 * ranks (one per (query row, sample point) pair; repeated (source, node) pairs of one
 * batch are evaluated once). */
int subq_kde_tree_sample_neighbors(subq_kde_tree_t *tree, size_t s, const size_t *src,
                                   uint64_t seed, size_t *nbr, uint64_t *evals);

/* Collective: as subq_kde_tree_sample_neighbors (same draws, same nbr), and also, each
 * replicated, of length s, each may be NULL:
 *   prob[t]  the exact probability q(nbr[t] | src[t]) with which this draw was made: the
 *            product of the chosen children's probabilities and k(x_i, x_j) / (sum of
 *            k(x_i, x_l) over the leaf, l != i), so importance weights k / q are unbiased
 *            whatever the estimates' errors (BIKSZ Sec. 4 with the sampled probability);
 *   kval[t]  k(x_src, x_nbr) (0 for the degenerate all-zero leaf fallback);
 *   deg[t]   the tree's estimate of the degree of src[t] (sum of the root's children's
 *            estimates; exact for exact trees).
 * Errors: as subq_kde_tree_sample_neighbors. */
int subq_kde_tree_sample_neighbors_prob(subq_kde_tree_t *tree, size_t s, const size_t *src,
                                        uint64_t seed, size_t *nbr, double *prob, double *kval,
                                        double *deg, uint64_t *evals);

/* The counts that fix a shared-sample (exact or sampling) tree's communication, summed
 * over its sampling calls (tools/comm_model.py sparsify_job_counts; docs/comm-model.md).
 * Each call of s samples makes, over the tree's communicator: one Allreduce of rows_c x d
 * doubles (the distinct sources' rows, subq_kde_gather_rows), one Allreduce of 2 P_l + 1
 * doubles per level l that has a sample at an internal node (P_l distinct (node, source)
 * pairs; HBE and DEANN trees: one subq_kde_query_multi_ per level instead), and in the leaf race an
 * Allreduce of s MPI_DOUBLE_INT and one of P_leaf + 1 doubles.  Pairs depend on the
 * draws (the data): P_l <= min(draws_l, nodes at level l x rows_c). */
#define SUBQ_KDE_TREE_MAX_LEVELS 64
typedef struct {
  uint64_t calls;                                 /* sampling calls */
  uint64_t draws;                                 /* samples drawn (sum of s) */
  uint64_t rows;                                  /* distinct sources gathered, summed */
  size_t levels;                                  /* internal levels reached (<= 64) */
  uint64_t level_calls[SUBQ_KDE_TREE_MAX_LEVELS]; /* calls that reached level l */
  uint64_t level_draws[SUBQ_KDE_TREE_MAX_LEVELS]; /* samples at internal nodes at level l */
  uint64_t level_pairs[SUBQ_KDE_TREE_MAX_LEVELS]; /* distinct (node, source) pairs at l */
  uint64_t leaf_pairs;                            /* distinct (leaf, source) pairs */
} subq_kde_tree_stats_t;

/* Not collective (identical on every rank): the counts above since the tree was created.
 * Errors: SUBQ_ERR_ARG (tree or st NULL). */
int subq_kde_tree_stats(const subq_kde_tree_t *tree, subq_kde_tree_stats_t *st);

/* Collective: weighted edge sampling (BIKSZ): i ~ degree (subq_kde_sample_vertices with
 * the tree's root oracle degrees deg, length n, replicated, computed by the caller with
 * subq_kde_query_points(.., 1, ..)), then j ~ k(x_i, .) by the tree.  P(i, j) ~ w_ij
 * for ordered pairs.  edges: s pairs (i, j) as 2s entries.  */
int subq_kde_sample_edges(subq_kde_tree_t *tree, const double *deg, size_t s, uint64_t seed,
                          size_t *edges, uint64_t *evals);

/* Collective: w random walks of `steps` steps on the kernel graph (BIKSZ, random walks:
 * one neighbour sample per step), from start[0..w) (global indices).  paths (w x
 * (steps+1), row-major, replicated): paths[t][0] = start[t].  */
int subq_kde_random_walks(subq_kde_tree_t *tree, size_t w, const size_t *start, size_t steps,
                          uint64_t seed, size_t *paths, uint64_t *evals);

/* ---- applications ---------------------------------------------------------------- */

typedef struct {
  uint64_t kde_evals;    /* kernel evaluations spent in KDE queries (row norms) */
  uint64_t sample_evals; /* kernel evaluations for the sampled rows (s n) */
  double time_s;         /* wall seconds, max over ranks */
  size_t rank;           /* columns of V in use: k, or fewer when S has rank < k */
} subq_lra_stats_t;

/* Collective: additive-error rank-k approximation of K = [k(x_i, x_j)] from s rows
 * sampled with probability p_i ~ ||K_i||^2 (BIKSZ, low-rank approximation by importance
 * sampling of rows; row norms by KDE queries of k^2 with `oracle`'s type and accuracy,
 * oracle must be set up with kernel k^2 on X; estimates below the diagonal term
 * k(x_i, x_i)^2 = 1 are raised to 1, a lower bound every row norm satisfies) or uniformly
 * (oracle == NULL, the baseline).
 * The s rows scaled by 1/sqrt(s p_i) form S (s x n); V = S^T U Sigma^{-1} from the top-k
 * eigenpairs of S S^T (LAPACK dsyevr), as in Frieze-Kannan-Vempala 2004 / Drineas-Kannan-
 * Mahoney 2006 LinearTimeSVD, so that K V V^T is the approximation (V n x k).
 * V: local rows (X->nloc x k, row-major, same distribution as X), allocated by the
 * caller.  When S has fewer than k singular values above 1e-6 sigma_1 (rank-deficient K:
 * all-identical or duplicate points, a huge bandwidth making K ~ all ones) the
 * corresponding columns of V are 0, so K V V^T is the projection onto the rows' span (the
 * exact best approximation when that span is K's range) and stats->rank says how many
 * columns are used.  Errors: SUBQ_ERR_ARG (k = 0, k > s, s = 0, k >= n),
 * SUBQ_ERR_LAPACK, SUBQ_ERR_MEM. */
int subq_kernel_lra(const subq_dmat_t *X, const subq_kernel_t *kernel, subq_kde_t *oracle,
                    size_t k, size_t s, uint64_t seed, double *V, subq_lra_stats_t *stats);

/* Collective: exact errors of an approximation K V V^T (blocked, never holding K: each
 * rank's rows against each owner's block in turn).  *err_fro = ||K - K V V^T||_F,
 * *norm_fro = ||K||_F; V local rows (nloc x k).  Makes n^2 kernel evaluations (not
 * part of any algorithm's count).  Errors: SUBQ_ERR_MEM, SUBQ_ERR_MPI. */
int subq_kernel_lra_error(const subq_dmat_t *X, const subq_kernel_t *kernel, const double *V,
                          size_t k, double *err_fro, double *norm_fro);

/* Collective: dense reference: gathers X (n x d) to every rank,
 * forms K (n x n, 8 n^2 bytes on every rank: only for small n) and computes the top-k
 * eigenpairs with LAPACK dsyevr.  lambda (k, descending), vecs (n x k row-major, may be
 * NULL), *best_err_fro (may be NULL) = sqrt(||K||_F^2 - sum_{i<k} lambda_i^2) (K is PSD
 * for these kernels), *norm_fro (may be NULL).  Errors: SUBQ_ERR_ARG (k = 0 or k > n),
 * SUBQ_ERR_MEM, SUBQ_ERR_LAPACK. */
int subq_kernel_dense_eig(const subq_dmat_t *X, const subq_kernel_t *kernel, size_t k,
                          double *lambda, double *vecs, double *best_err_fro, double *norm_fro);

/* Collective: subq_kernel_lra with rows sampled with probability p_i ~ w[i] (w: n
 * weights >= 0, replicated, e.g. exact squared row norms as an oracle, or estimates made
 * elsewhere); stats->kde_evals = 0 (the caller counts what w cost).  Errors as
 * subq_kernel_lra, plus SUBQ_ERR_ARG for a negative, NaN or infinite weight. */
int subq_kernel_lra_weights(const subq_dmat_t *X, const subq_kernel_t *kernel, const double *w,
                            size_t k, size_t s, uint64_t seed, double *V,
                            subq_lra_stats_t *stats);

/* Collective: subq_kernel_lra_error for m approximations at once in one pass over K
 * (n^2 kernel evaluations in all): V is X->nloc x (m k) row-major, approximation v in
 * columns [v k, (v + 1) k); err_fro[v] (m) its exact error, *norm_fro (may be NULL) =
 * ||K||_F.  Errors: SUBQ_ERR_ARG (k = 0, m = 0, NULL), SUBQ_ERR_MEM, SUBQ_ERR_MPI. */
int subq_kernel_lra_error_multi(const subq_dmat_t *X, const subq_kernel_t *kernel,
                                const double *V, size_t k, size_t m, double *err_fro,
                                double *norm_fro);

/* Collective over X->comm: the error of K V V^T estimated on r rows i_1..i_r drawn
 * uniformly with replacement (counter RNG: seed, stream 'KLE', t): with the row residuals
 * e_t = ||K_i - K_i V V^T||^2 (exact per row: n kernel evaluations each, blocked against
 * the local columns, 128 rows at a time), ||K - K V V^T||_F^2 ~ n mean(e_t), unbiased.
 * *err_fro = sqrt of that, *err_se (may be NULL) its standard error by the delta method,
 * n sd(e_t) / (2 sqrt(r) err_fro); *norm_fro (may be NULL) the same estimate of ||K||_F.
 * V: local rows (X->nloc x k) as from subq_kernel_lra.  *evals (may be NULL) = r n.
 * Memory per rank: r (d + k + 1) + 128 nloc doubles.  For n where n^2 evaluations are
 * affordable use subq_kernel_lra_error (exact).  Errors: SUBQ_ERR_ARG (k = 0, r < 2,
 * not float64), SUBQ_ERR_MEM, SUBQ_ERR_MPI (agreed). */
int subq_kernel_lra_error_sampled(const subq_dmat_t *X, const subq_kernel_t *kernel,
                                  const double *V, size_t k, size_t r, uint64_t seed,
                                  double *err_fro, double *norm_fro, double *err_se,
                                  uint64_t *evals);

/* Collective over X->comm: dense reference with ScaLAPACK.  The kernel matrix is built
 * directly in the 2D block-cyclic layout on an nprow x npcol BLACS grid (0 x 0: most
 * square) with nb x nb blocks (nb <= 0: 64): every process computes only its own blocks
 * (its rows' and columns' points are broadcast from their row-block owners; n^2 kernel
 * evaluations in all, one dgemm per process).  The top k eigenvalues (and eigenvectors
 * when vecs != NULL) by pdsyevr (MRRR, square grids) or pdsyevx (other grids) with RANGE =
 * 'I' (subq_scalapack_eig_last_routine): the O(n^3) part is the tridiagonal reduction alone, no
 * other eigenpair is computed or back-transformed.
 * lambda (k, descending, replicated); vecs (may be NULL): the top-k eigenvectors as local
 * rows (X->nloc x k, row-major, X's distribution), each column's entries summing to >= 0;
 * *best_err_fro = sqrt(||K||_F^2 - sum_{i<k} lambda_i^2), *norm_fro = ||K||_F, *evals =
 * n^2 (each may be NULL).  Memory: 8 n^2 / P bytes per rank for K (twice with vecs) plus
 * ScaLAPACK's workspace.  Errors: SUBQ_ERR_ARG (k = 0 or k > n, n > 46340, grid shape),
 * SUBQ_ERR_MEM, SUBQ_ERR_LAPACK (info), SUBQ_ERR_MPI; agreed over the communicator. */
int subq_kernel_dense_eig_scalapack(const subq_dmat_t *X, const subq_kernel_t *kernel,
                                    size_t k, int nprow, int npcol, int nb, double *lambda,
                                    double *vecs, double *best_err_fro, double *norm_fro,
                                    uint64_t *evals);

/* Not collective: the ScaLAPACK routine of this process's last successful dense reference
 * (subq_kernel_dense_eig_scalapack, subq_laplacian_dense_eigs_scalapack), "none" before
 * the first: "scalapack-pdsyevr" on square process grids, "scalapack-pdsyevx" on others
 * (parallel MRRR failed on degenerate spectra there), or "scalapack-pdsyevd" /
 * "scalapack-pdsyev" (whole spectrum) after the subset solver failed.  Not thread-safe. */
const char *subq_scalapack_eig_last_routine(void);

/* Not collective; call with the same value on every rank: the largest n (default 16,000)
 * for which the dense references let ScaLAPACK's pdsyntrd copy the matrix to the largest
 * square process sub-grid and tridiagonalize it there (one process of a 2 x 1 grid: LAPACK
 * dsytrd, 2.4x less CPU time than the in-place 2D reduction at n = 6000, 8 n^2 bytes of
 * workspace per rank); above it the in-place 2D reduction (pdgemr2d's 32-bit buffer size
 * overflows above n = 16,383 in ScaLAPACK 2.2).  0 forces the 2D reduction (tests). */
void subq_scalapack_eig_set_tailored_max(size_t n);

/* Collective: top eigenvalue and eigenvector of K by the kernel noisy power method
 * (Backurs, Indyk, Musco, Wagner 2021, "Faster kernel matrix algebra via density
 * estimation", ICML, Alg. 1 with the sampled non-negative matvec; used by BIKSZ for the
 * top eigenpair): v_0 = 1/sqrt(n); each iteration approximates K v by m columns j ~ v_j /
 * ||v||_1 (v >= 0 by Perron-Frobenius): K v ~ (||v||_1/m) sum_t K[:, j_t], i.e. n m kernel
 * evaluations, then v <- K v / ||K v||.  *lambda = Rayleigh quotient v^T (K v)/v^T v with
 * the last sampled product.  v: local entries (nloc), unit 2-norm.  *evals = iters n m.
 * Errors: SUBQ_ERR_ARG (m = 0, iters = 0), SUBQ_ERR_MEM, SUBQ_ERR_MPI. */
int subq_kernel_top_eig(const subq_dmat_t *X, const subq_kernel_t *kernel, size_t m,
                        size_t iters, uint64_t seed, double *lambda, double *v,
                        uint64_t *evals);

/* Collective helper: rows idx[0..s) (global indices) of X gathered to every rank as
 * s x d row-major in out.  One MPI_Allreduce.  Errors: SUBQ_ERR_ARG (index >= n). */
int subq_kde_gather_rows(const subq_dmat_t *X, size_t s, const size_t *idx, double *out);

#ifdef __cplusplus
}
#endif
#endif
