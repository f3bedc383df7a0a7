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
 * the D x D Gram matrix G = Phi^T Phi (dsyrk; for D <= 128 dgemm on 16- or 32-wide blocks
 * of its upper triangle, about 10^6 / D^2 rows a call: src/dist/gram.c), one MPI_Allreduce
 * sums it over ranks holding different key ranges, G is factored once (pivoted Cholesky,
 * dpstrf, rank-revealing) into a D x r scoring matrix M = P L11^{-T}; pass 2 scores each
 * chunk by dgemm (Z = Phi M in row blocks of the same size, tau = row norms of Z squared)
 * and keeps only the candidates of U.  Workspace is
 * O(D^2 + chunk D + |U|) per rank, independent of n.
 *
 * Object life cycle (FFTW-like): create -> gram_add (pass 1, any number of chunks) ->
 * factor (collective) -> score (pass 2, the same chunks) -> select (collective) ->
 * universal_set / info -> destroy.  All arrays are row-major float64.
 *
 * One pass (opts.passes = 1): online leverage scores (Cohen, Musco, Pachocki, "Online Row
 * Sampling", APPROX 2016, Section 3: online ridge leverage scores):
 *   tau~_j = phi_j^T (G_j + lambda_j I)^{-1} phi_j,   G_j = sum_{l <= j} phi_l phi_l^T,
 * each key scored when it arrives against the Gram of the keys before it and itself.
 * Since G_j <= G (Loewner order), tau~_j >= phi_j^T (G + lambda_max I)^{-1} phi_j
 *   >= tau_j sigma_min^2 / (sigma_min^2 + lambda_max)
 * (sigma_min^2: smallest nonzero eigenvalue of G), i.e. tau~_j >= tau_j up to the ridge
 * lambda; with lambda = the rounding floor below the gap is of the order of rounding, so
 * U~ = {tau~_j >= eps} contains U and the heavy-entry recall of 1 carries over.  The online score is also causal: for a query at
 * position i >= j attending to the prefix 1..i, A_ij <= phi_j^T G_i^+ phi_j <= tau~_j (up
 * to the same ridge gap), so U~ holds the heavy entries of causal attention too, which the
 * two-pass U (normalised over all keys) does not.  The price: the scores sum to more than
 * the rank.  Bound (CMP, Lemma 2.2/Theorem 3 proof): tau~_j = s_j / (1 + s_j) <=
 * log(1 + s_j) with s_j the score against G_{j-1}, and the logs telescope into a log det:
 *   sum_j tau~_j <= sum_k log(1 + sigma_k^2 / lambda_min) <= D log(1 + ||Phi||_2^2 / lambda_min)
 * (sigma_k^2 the eigenvalues of G), so |U~| <= that / eps; it grows like D log n, not D.
 * lambda_j = max(opts.ridge, 2^-52 max_a G_prev[a][a]), G_prev the Gram before the key's
 * block (2^-52 max_a k_a^2 of the first nonzero key while G_prev = 0), raised x16 in the
 * rare case dpotrf still finds G_prev + lambda I indefinite.  This rounding floor keeps the
 * factorisation defined while the prefix is rank deficient: the first keys of a stream
 * get tau~ ~ 1, as they must causally.  Accuracy: the Gram's rounding (cond^2 2^-52, as
 * the two-pass method) plus, inside a block whose prefix is rank deficient (the first D
 * keys), ~2^-26 absolute: the whitened keys there have norms up to 2^26 and the QR keeps
 * their rounding (measured 1e-8 in tests/levatt/test_levatt_online.c).  A ridge lambda
 * well above the floor removes the second term.
 * Computation per block of b rows C (b = clamp(D, 32, 256)): Cholesky G_{prev} + lambda I
 * = L L^T (dpotrf), Z = L^{-1} C^T (dtrsm), then the QR factorisation [I_b; Z] = Q R
 * (dtpqrt, triangular-pentagonal), whose diagonal gives R_jj^2 = 1 + s_j exactly for every
 * row of the block at once (R^T R = I + Z^T Z is the Schur complement chain of the
 * in-block prefixes), tau~_j = 1 - 1/R_jj^2; then G += C^T C (dsyrk).  QR, not the
 * Cholesky of I + Z^T Z, keeps the in-block scores accurate while Z is large (rank-
 * deficient prefix).  Workspace O(D^2 + b D + b^2), independent of n; one pass over the
 * keys on one rank.  Chunking changes only rounding.
 * Distributed one pass (keys sharded by sequence, rank q holds a contiguous block after
 * rank q-1's): rank q needs the Gram of every key before its block.  Each rank first
 * accumulates its local Gram (gram_add over its keys), factor does one MPI_Exscan of the
 * D x D Gram matrices (and of the key counts), then each rank scores its keys online from
 * that prefix: two reads of the local block on np > 1 (one on np = 1, where gram_add is
 * skipped), results equal to np = 1 up to rounding. */
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
  int passes;          /* 2: two-pass exact leverage scores (default); 1: online scores */
  double ridge;        /* passes = 1: lambda >= 0 (squared key-feature units) added to the
                          prefix Gram, at least the rounding floor (default 0 = the floor) */
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
  int passes;            /* 2: exact scores; 1: online scores */
  double sum_bound;      /* passes = 1: sum_k log(1 + sigma_k^2 / ridge_min) >= sum_scores
                            (CMP bound; the bound on |U| is sum_bound / eps); 2: rank */
  double ridge_min, ridge_max; /* passes = 1: smallest / largest lambda used; 2: 0 */
} subq_levatt_info_t;

/* Defaults: p 2, eps 0.01, topk 0, max_features 4096, features AUTO, sketch_dim 0, seed 0,
 * passes 2, ridge 0. */
void subq_levatt_opts_default(subq_levatt_opts_t *o);

/* Collective over comm (arguments are expected equal on all ranks; the outcome is agreed):
 * a selection object for keys of dimension d.  Errors: SUBQ_ERR_ARG (d == 0; p odd or
 * < 2: "the tensor-power method needs an even p"; eps outside (0, 1) when topk == 0; eps
 * and topk both set; bad features; sketch_dim > 2^20; passes not 1 or 2; ridge < 0 or not
 * finite), SUBQ_ERR_UNSUPPORTED (D >
 * max_features with features = EXACT), SUBQ_ERR_MEM. */
int subq_levatt_create(MPI_Comm comm, size_t d, const subq_levatt_opts_t *o,
                       subq_levatt_t **L);
/* Frees everything; accepts NULL and *L == NULL. */
void subq_levatt_destroy(subq_levatt_t **L);

/* Pass 1, not collective: G += phi(K)^T phi(K) for rows keys K (rows x d, row-major) held
 * by this rank.  Any chunking and any split over ranks.  Chunks larger than the largest
 * seen grow the feature buffer (rows x D doubles).  passes = 1: the local Gram that
 * factor's MPI_Exscan passes on to the later ranks (np > 1: every rank adds all its keys;
 * np = 1: not needed, may be skipped).  On an error G is unchanged (the chunk is not
 * added).  Errors: SUBQ_ERR_ARG (called after factor), SUBQ_ERR_NUMERIC (NaN/Inf key,
 * naming the row), SUBQ_ERR_MEM. */
int subq_levatt_gram_add(subq_levatt_t *L, size_t rows, const double *K);

/* Collective: MPI_Allreduce of G (D^2 doubles, the only communication of the method), then
 * on rank 0 the pivoted Cholesky P^T G P = L L^T (LAPACK dpstrf) with tolerance
 * max_diag(G) * max(n, D) * 2^-52, which stops at the numerical rank r, then the explicit
 * inverse of L11 (dtrtri) into M = P_{:,1:r} L11^{-T} (D x r), broadcast so every rank
 * scores with the same numbers.  Keys then score as tau = || phi(k) M ||^2
 * = || L11^{-1} (P^T phi(k))_{1:r} ||^2 (= phi^T G^+ phi for phi in range(G)).
 * Directions of Phi with squared singular value below the tolerance count as null (as in
 * the Gram method of subq_leverage_scores).  n = 0 gives r = 0 and all tau = 0.
 * passes = 1: instead, MPI_Exscan of the local Grams and key counts: G becomes the Gram
 * of the keys of the lower ranks (zero on rank 0), the start of the online scores.
 * Errors: SUBQ_ERR_ARG (twice), SUBQ_ERR_LAPACK, SUBQ_ERR_MPI; agreed over comm. */
int subq_levatt_factor(subq_levatt_t *L);

/* Pass 2, not collective: leverage scores of rows keys K (rows x d) whose global indices
 * are g0 .. g0+rows-1; tau (rows values) may be NULL.  Keeps the candidates of U:
 * threshold: every key with tau >= eps; top-k: a local heap of the k best.  Each global
 * index must be scored exactly once over all ranks and chunks.  passes = 1: the online
 * scores (above); each rank's chunks must come in sequence order (g0 = the previous
 * chunk's g0 + rows) and rank q's keys must follow rank q-1's.  Errors: SUBQ_ERR_ARG
 * (before factor, after select; passes = 1: a chunk out of order), SUBQ_ERR_NUMERIC
 * (NaN/Inf key, naming the row; passes = 2: the chunk's keys before its row block are
 * scored already, and select then fails on the count of scored keys), SUBQ_ERR_LAPACK,
 * SUBQ_ERR_MEM. */
int subq_levatt_score(subq_levatt_t *L, size_t rows, const double *K, size_t g0,
                      double *tau);

/* Collective: gather the candidates of all ranks (MPI_Allgatherv of (tau, index)
 * pairs, |U| <= rank/eps of them) and form U, sorted by global index, replicated.
 * Checks the theorem's bound |U| <= rank/eps (times 1 + 1e-9 for rounding of the sum of
 * scores) at run time.  *nU = |U|.  Errors: SUBQ_ERR_ARG (before scoring), SUBQ_ERR_NUMERIC
 * (bound violated: inaccurate scores; message gives |U|, rank, eps, sum of scores),
 * SUBQ_ERR_MPI, SUBQ_ERR_MEM; agreed over comm.  passes = 1: the eigenvalues of the final
 * Gram (dsyev on the last rank, which holds it) give the rank and the CMP bound
 * sum_bound; checked: sum of scores <= sum_bound (SUBQ_ERR_NUMERIC otherwise), ranks'
 * key ranges in sequence order and, on np > 1, every rank but the last having added
 * its keys to the Gram in pass 1 (SUBQ_ERR_ARG otherwise). */
int subq_levatt_select(subq_levatt_t *L, size_t *nU);

/* Not collective: copy U (|U| sorted global indices) into idx; after select. */
int subq_levatt_universal_set(const subq_levatt_t *L, int64_t *idx);
/* Not collective: the figures of the selection (after select; workspace_bytes is the max
 * over ranks taken in select). */
int subq_levatt_info(const subq_levatt_t *L, subq_levatt_info_t *info);

/* Not collective: how many times the pipeline reads this rank's keys: 2 (two passes:
 * gram_add then score), or 1 (passes = 1 on one rank: score only, no gram_add). */
int subq_levatt_key_reads(const subq_levatt_t *L);

/* Collective convenience: the whole two-pass pipeline over this rank's keys K (nloc x d,
 * global rows g0 .. g0+nloc-1, ranks holding consecutive or any disjoint ranges) in chunks
 * of `chunk` rows (0 = all at once).  *U is allocated (|U| int64, sorted; free with
 * subq_free), tau (nloc values) may be NULL, info may be NULL.  passes = 1: the one-pass
 * pipeline (gram_add only on np > 1; ranks must hold consecutive ranges in rank order).
 * Errors as the steps. */
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
