/* subq levatt: LevAttention (Kannan, Bhattacharyya, Kacham, Woodruff 2024, "LevAttention:
 * Time, Space, and Streaming Efficient Algorithm for Heavy Attentions", arXiv 2410.05462).
 *
 * Universal set.  For f(x) = |x|^p with p = 2m even, write phi(k) for the degree-m
 * symmetric tensor power of a key (D = C(d+m-1, m) features, <phi(q), phi(k)> = (q.k)^m;
 * phi(k) = k for p = 2).  The f-sensitivity of key j is bounded by the leverage score
 *   tau_j = phi(k_j)^T (Phi^T Phi)^+ phi(k_j),   Phi = [phi(k_1); ...; phi(k_n)],
 * so every attention weight A_ij = f(q_i.k_j) / sum_j' f(q_i.k_j') satisfies A_ij <= tau_j
 * (paper, Section 3, Lemma/Theorem on the universal set; Cauchy-Schwarz in the row space of
 * Phi).  Since sum_j tau_j = rank(Phi) <= D, the set U = {j : tau_j >= eps} holds every
 * entry A_ij >= eps of every query, for all queries at once, and |U| <= rank/eps.
 * phi spans the same row space as the paper's K^{(x)p/2} (the symmetric part of the tensor
 * power, isometrically), so its leverage scores are those of K^{(x)p/2} with D reduced
 * from d^{p/2} to C(d+p/2-1, p/2).
 *
 * Streaming and distributed (paper, Section 4): keys arrive in chunks; pass 1 accumulates
 * the D x D Gram matrix G = Phi^T Phi (dsyrk), one MPI_Allreduce sums it over ranks holding
 * different key ranges, G is factored once (pivoted Cholesky, dpstrf, rank-revealing) into a
 * D x r scoring matrix M = P L11^{-T}; pass 2 scores each chunk with one dgemm (Z = Phi M,
 * tau = row norms of Z squared) and keeps only the candidates of U.  Workspace is
 * O(D^2 + chunk D + |U|) per rank, independent of n.
 *
 * Object life cycle (FFTW-like): create -> gram_add (pass 1, any number of chunks) ->
 * factor (collective) -> score (pass 2, the same chunks) -> select (collective) ->
 * universal_set / info -> destroy.  All arrays are row-major float64. */
#ifndef SUBQ_LEVATT_H
#define SUBQ_LEVATT_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "subq/device.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct subq_levatt subq_levatt_t;

/* Features whose leverage scores define U (p = 2m).
 * EXACT: the symmetric tensor power phi (D = C(d+m-1, m) <= max_features, else an error).
 * SKETCH: a polynomial sketch of K^{(x)m} (include/subq/sketch.h): phi~(k) = k^{(x)m} S with
 *   r = sketch_dim features, S the Gaussian degree-2 PolySketch (PolySketchFormer Alg. 1:
 *   (kG1) .* (kG2)/sqrt(r)) for m <= 2 and TensorSketch (Pham-Pagh) for m >= 3: the
 *   subq_polysketch_create(type, d, r, m, seed, SUBQ_LEVATT_SKETCH_STREAM) features, the
 *   same on every rank.  Since phi~ = Phi_full S is a linear map of the tensor power, col(Phi~) is a
 *   subspace of col(Phi), and the sketched scores tau~_j (diagonal of the projection onto
 *   col(Phi~)) satisfy, for every key, tau~_j <= tau_j, with equality for all j exactly
 *   when S keeps the rank (rank(Phi S) = rank(Phi); almost surely for the Gaussian sketch
 *   when r >= rank(Phi)).  Error it adds: when r < rank(Phi) the scores are underestimated
 *   (sum tau~ = rank(Phi S) <= r instead of rank(Phi)), so a key with tau_j >= eps may be
 *   missed and the theorem's recall 1 for |x|^p no longer holds; |U| <= r/eps still does.
 *   What the sketched U does guarantee exactly is the theorem for the sketched kernel
 *   f~(q, k) = <phi~(q), phi~(k)>^2 (PolySketchFormer's self-tensored kernel when p = 4):
 *   its weights satisfy A~_ij <= tau~_j, so every entry >= eps of that attention is in U.
 *   Measured on a small case in tests/levatt/test_levatt_sketch.c (relative error of tau~
 *   against the exact tensor-power tau).
 * AUTO: EXACT when D <= max_features, else SKETCH. */
#define SUBQ_LEVATT_SKETCH_STREAM 0x1E7A0u

typedef enum {
  SUBQ_LEVATT_FEATURES_AUTO = 0,
  SUBQ_LEVATT_FEATURES_EXACT = 1,
  SUBQ_LEVATT_FEATURES_SKETCH = 2
} subq_levatt_features_t;

typedef struct {
  int p;               /* even power of f(x) = |x|^p: 2, 4, 6, ... (default 2) */
  double eps;          /* threshold selection U = {j : tau_j >= eps}, 0 < eps < 1;
                          0 selects by topk instead (default 0.01) */
  size_t topk;         /* top-k selection by tau (ties: smaller global index first),
                          used when eps == 0 (default 0) */
  size_t max_features; /* largest D = C(d+p/2-1, p/2) formed exactly (default 4096); above
                          it the features are sketched (features = AUTO) */
  int features;        /* subq_levatt_features_t (default AUTO) */
  size_t sketch_dim;   /* r, features of the sketch path (0: max_features) */
  uint64_t seed;       /* seed of the sketch (default 0); the same on every rank */
} subq_levatt_opts_t;

/* Figures of a selection, identical on every rank after subq_levatt_select. */
typedef struct {
  size_t n;              /* keys scored, all ranks */
  size_t d, features;    /* key dimension d and feature dimension D (r when sketched) */
  int sketched;          /* 1: features from the polynomial sketch */
  size_t rank;           /* numerical rank of Phi (pivoted Cholesky of G, see factor) */
  double sum_scores;     /* sum_j tau_j over all keys (= rank up to rounding) */
  double max_score;      /* max_j tau_j */
  size_t universal_set_size; /* |U| */
  double bound;          /* rank/eps (threshold) or topk (top-k): |U| <= bound */
  size_t workspace_bytes;    /* peak bytes of this object's buffers, max over ranks;
                                independent of n (D^2 + chunk D + candidates) */
} subq_levatt_info_t;

/* Defaults: p 2, eps 0.01, topk 0, max_features 4096, features AUTO, sketch_dim 0, seed 0. */
void subq_levatt_opts_default(subq_levatt_opts_t *o);

/* Collective over comm (arguments are expected equal on all ranks; the outcome is agreed):
 * a selection object for keys of dimension d.  Errors: SUBQ_ERR_ARG (d == 0; p odd or
 * < 2: "the tensor-power method needs an even p"; eps outside (0, 1) when topk == 0; eps
 * and topk both set; bad features; sketch_dim > 2^20), SUBQ_ERR_UNSUPPORTED (D >
 * max_features with features = EXACT), SUBQ_ERR_MEM. */
int subq_levatt_create(MPI_Comm comm, size_t d, const subq_levatt_opts_t *o,
                       subq_levatt_t **L);
/* Frees everything; accepts NULL and *L == NULL. */
void subq_levatt_destroy(subq_levatt_t **L);

/* Pass 1, not collective: G += phi(K)^T phi(K) for rows keys K (rows x d, row-major) held
 * by this rank.  Any chunking and any split over ranks.  Chunks larger than the largest
 * seen grow the feature buffer (rows x D doubles).  Errors: SUBQ_ERR_ARG (called after
 * factor), SUBQ_ERR_NUMERIC (NaN/Inf key, naming the row), SUBQ_ERR_MEM. */
int subq_levatt_gram_add(subq_levatt_t *L, size_t rows, const double *K);

/* Collective: MPI_Allreduce of G (D^2 doubles, the only communication of the method), then
 * on rank 0 the pivoted Cholesky P^T G P = L L^T (LAPACK dpstrf) with tolerance
 * max_diag(G) * max(n, D) * 2^-52, which stops at the numerical rank r, then the explicit
 * inverse of L11 (dtrtri) into M = P_{:,1:r} L11^{-T} (D x r), broadcast so every rank
 * scores with the same numbers.  Keys then score as tau = || phi(k) M ||^2
 * = || L11^{-1} (P^T phi(k))_{1:r} ||^2 (= phi^T G^+ phi for phi in range(G)).
 * Directions of Phi with squared singular value below the tolerance count as null (as in
 * the Gram method of subq_leverage_scores).  n = 0 gives r = 0 and all tau = 0.
 * Errors: SUBQ_ERR_ARG (twice), SUBQ_ERR_LAPACK, SUBQ_ERR_MPI; agreed over comm. */
int subq_levatt_factor(subq_levatt_t *L);

/* Pass 2, not collective: leverage scores of rows keys K (rows x d) whose global indices
 * are g0 .. g0+rows-1; tau (rows values) may be NULL.  Keeps the candidates of U:
 * threshold: every key with tau >= eps; top-k: a local heap of the k best.  Each global
 * index must be scored exactly once over all ranks and chunks.  Errors: SUBQ_ERR_ARG
 * (before factor, after select), SUBQ_ERR_MEM. */
int subq_levatt_score(subq_levatt_t *L, size_t rows, const double *K, size_t g0,
                      double *tau);

/* Collective: gather the candidates of all ranks (MPI_Allgatherv of (tau, index)
 * pairs, |U| <= rank/eps of them) and form U, sorted by global index, replicated.
 * Checks the theorem's bound |U| <= rank/eps (times 1 + 1e-9 for rounding of the sum of
 * scores) at run time.  *nU = |U|.  Errors: SUBQ_ERR_ARG (before scoring), SUBQ_ERR_NUMERIC
 * (bound violated: inaccurate scores; message gives |U|, rank, eps, sum of scores),
 * SUBQ_ERR_MPI, SUBQ_ERR_MEM; agreed over comm. */
int subq_levatt_select(subq_levatt_t *L, size_t *nU);

/* Not collective: copy U (|U| sorted global indices) into idx; after select. */
int subq_levatt_universal_set(const subq_levatt_t *L, int64_t *idx);
/* Not collective: the figures of the selection (after select; workspace_bytes is the max
 * over ranks taken in select). */
int subq_levatt_info(const subq_levatt_t *L, subq_levatt_info_t *info);

/* Collective convenience: the whole two-pass pipeline over this rank's keys K (nloc x d,
 * global rows g0 .. g0+nloc-1, ranks holding consecutive or any disjoint ranges) in chunks
 * of `chunk` rows (0 = all at once).  *U is allocated (|U| int64, sorted; free with
 * subq_free), tau (nloc values) may be NULL, info may be NULL.  Errors as the steps. */
int subq_levatt_universal(MPI_Comm comm, const subq_levatt_opts_t *o, size_t d, size_t nloc,
                          const double *K, size_t g0, size_t chunk, double *tau,
                          int64_t **U, size_t *nU, subq_levatt_info_t *info);

/* ---- attention restricted to U ---------------------------------------------------- */

typedef enum {
  SUBQ_LEVATT_POLY = 0,   /* f(x) = |x|^p, no scaling: o_i = sum f(q.k) v / sum f(q.k) */
  SUBQ_LEVATT_SOFTMAX = 1 /* f(x) = exp(scale x), computed with a running max (LSE) */
} subq_levatt_fn_t;

typedef struct {
  subq_levatt_fn_t fn;
  int p;          /* POLY: the power (>= 1) */
  double scale;   /* SOFTMAX: logits scale * q.k; 0 means 1/sqrt(d) */
  int causal;     /* 1: key j contributes to query i only when j <= i (global indices) */
  subq_device_t device; /* where the products run (default 0 = SUBQ_DEVICE_CPU); CUDA:
                           src/cuda/levatt.cu, cublasDgemm tiles and a warp-per-row kernel,
                           equal to the CPU's to rounding (needs a bound device) */
} subq_levatt_attn_t;

/* Not collective: out_i = sum_{j} f(q_i.k_j) v_j / sum_{j} f(q_i.k_j) over the given keys
 * (restricted attention, paper Section 3: attention computed on U only).
 * Q: nq x d, query i has global position q0 + i (for the causal mask).  K: nk x d,
 * V: nk x dv, kidx[j] the global position of key j (NULL: j itself).  out: nq x dv.
 * Products by dgemm over blocks of 256 queries x 2048 keys, softmax with a running max.
 * A query with no admissible key (causal, or all f = 0) gets out_i = 0 and is counted in
 * *empty (may be NULL): never NaN.  Errors: SUBQ_ERR_ARG (fn, p < 1, d or dv == 0),
 * SUBQ_ERR_MEM. */
int subq_levatt_attend(const subq_levatt_attn_t *a, size_t d, size_t dv, size_t nq,
                       const double *Q, size_t q0, size_t nk, const double *K,
                       const double *V, const int64_t *kidx, double *out, size_t *empty);

/* Collective over comm, queries and keys sharded by sequence: each rank holds nq queries
 * (global positions q0..) and nk keys/values (global positions k0..).  The rows of U
 * (sorted global indices, nU, replicated) are gathered to every rank (MPI_Allgatherv of
 * |U| (d + dv) doubles), then each rank computes its own queries with
 * subq_levatt_attend.  *empty is the global count of empty queries (may be NULL).
 * Errors: as subq_levatt_attend, SUBQ_ERR_MPI; agreed. */
int subq_levatt_attend_sharded(MPI_Comm comm, const subq_levatt_attn_t *a, size_t d,
                               size_t dv, size_t nq, const double *Q, size_t q0, size_t nk,
                               const double *K, const double *V, size_t k0, size_t nU,
                               const int64_t *U, double *out, size_t *empty);

/* Collective over comm, queries replicated and keys sharded (decode / split-K): each rank
 * computes the partial (running max m_i, sum l_i, numerator o_i) over its local keys that
 * are in U, and the partials are merged across ranks: softmax by log-sum-exp
 * (MPI_Allreduce MAX of m, rescale by exp(m_loc - m), MPI_Allreduce SUM of l and o);
 * poly by a plain sum.  out (nq x dv) is replicated.  Arguments as above.
 * Errors: as subq_levatt_attend, SUBQ_ERR_MPI; agreed. */
int subq_levatt_attend_merge(MPI_Comm comm, const subq_levatt_attn_t *a, size_t d, size_t dv,
                             size_t nq, const double *Q, size_t q0, size_t nk,
                             const double *K, const double *V, size_t k0, size_t nU,
                             const int64_t *U, double *out, size_t *empty);

#ifdef __cplusplus
}
#endif
#endif
