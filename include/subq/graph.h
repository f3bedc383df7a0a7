/* subq graph: applications on kernel graphs built on the KDE oracles of subq/kde.h --
 * spectral sparsification into a distributed PETSc matrix, Laplacian solves with PETSc
 * KSP, normalised-Laplacian eigenvalues with SLEPc, and random-walk local clustering.
 *
 * Source: Bakshi, Indyk, Kacham, Silwal, Zhou 2023, "Sub-quadratic Algorithms for Kernel
 * Matrices via Kernel Density Estimation" (arXiv 2212.00642, ICLR 2023), "BIKSZ" below;
 * sparsification by importance sampling of edges follows Spielman-Srivastava 2011
 * ("Graph sparsification by effective resistances", SIAM J. Comput. 40(6)) with BIKSZ's
 * bound on the effective resistances of kernel graphs (Section 4, spectral sparsification).
 *
 * Kernel graph of points X (n x d, float64, subq_dmat_t row blocks): w_ij = k(x_i, x_j)
 * for i != j, degrees d_i = sum_{j != i} w_ij, Laplacian L = D - W (n x n, never stored),
 * normalised Laplacian N = D^{-1/2} L D^{-1/2}.  Vectors "local" to a rank are its rows
 * [X->r0, X->r0 + X->nloc) of a global length-n vector; multi-vectors are nloc x r
 * row-major.
 *
 * PETSc/SLEPc: initialised lazily on first use by subq_petsc_init (collective over
 * MPI_COMM_WORLD: the first call of any PETSc-backed function must be made by every rank
 * of MPI_COMM_WORLD) and finalised by subq_finalize.  PETSc options may be given in the
 * environment variable PETSC_OPTIONS (e.g. "-subq_ksp_monitor"); solver objects use the
 * prefix "subq_".  PETSc errors are returned as SUBQ_ERR_* (never abort). */
#ifndef SUBQ_GRAPH_H
#define SUBQ_GRAPH_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "subq/kde.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Collective over MPI_COMM_WORLD on the first call (later calls: no-op): initialise SLEPc
 * (and so PETSc) on top of the already initialised MPI, with PETSc's error handler set to
 * return (no printing, no abort) and without PETSc's signal handlers; registers the
 * finalisation with subq_atfinalize.  Errors: SUBQ_ERR_MPI (MPI not initialised),
 * SUBQ_ERR_INTERNAL (PETSc/SLEPc initialisation failed). */
int subq_petsc_init(void);

/* ---- the exact kernel-graph Laplacian, matrix-free ----------------------------------- */

/* Collective over X->comm: Y = L V for the exact kernel-graph Laplacian, blocked and
 * matrix-free (each owner's row block is broadcast in turn, kernel tiles of 256 x 1024
 * formed with subq_kernel_block and multiplied with BLAS; memory O(nloc (d + r)), never
 * n^2): Y_i = d_i V_i - sum_{j != i} w_ij V_j.  V, Y: local rows (nloc x r, row-major).
 * deg (may be NULL): the exact local degrees (nloc).  Makes n^2 kernel evaluations (a
 * reference, not part of any algorithm's count).  Errors: SUBQ_ERR_ARG (r = 0, X not
 * float64), SUBQ_ERR_MEM, SUBQ_ERR_MPI (agreed). */
int subq_laplacian_apply(const subq_dmat_t *X, const subq_kernel_t *kernel, size_t r,
                         const double *V, double *Y, double *deg);

/* Collective: dense reference on rank 0 (8 n^2 bytes there, small n only): the k smallest
 * non-zero eigenvalues of the normalised Laplacian N of the exact kernel graph, i.e. the
 * eigenvalues 2..k+1 of N in ascending order (LAPACK dsyevr), replicated in lambda (k).
 * Errors: SUBQ_ERR_ARG (k = 0 or k >= n), SUBQ_ERR_NUMERIC (a vertex of degree 0:
 * disconnected graph), SUBQ_ERR_MEM, SUBQ_ERR_LAPACK (agreed). */
int subq_laplacian_dense_eigs(const subq_dmat_t *X, const subq_kernel_t *kernel, size_t k,
                              double *lambda);

/* Collective over X->comm: the same k smallest non-zero eigenvalues of the normalised
 * Laplacian N = I - D^{-1/2} W D^{-1/2} (W = K without its diagonal), ascending and
 * replicated in lambda (k), with N built directly in ScaLAPACK's 2D block-cyclic layout on
 * an nprow x npcol BLACS grid (0 x 0: most square) with nb x nb blocks (nb <= 0: 64): n^2
 * kernel evaluations in all, degrees by one Allreduce of 2 n doubles, eigenvalues 1..k+1
 * by pdsyevr or pdsyevx (RANGE = 'I', subq_scalapack_eig_last_routine; the first, 0, is
 * dropped).  Memory: 8 n^2 / P bytes per rank
 * plus ScaLAPACK's workspace.  Errors: SUBQ_ERR_ARG (k = 0 or k >= n, n > 46340),
 * SUBQ_ERR_NUMERIC (a vertex of degree 0: disconnected graph), SUBQ_ERR_MEM,
 * SUBQ_ERR_LAPACK (info), SUBQ_ERR_MPI; agreed over the communicator. */
int subq_laplacian_dense_eigs_scalapack(const subq_dmat_t *X, const subq_kernel_t *kernel,
                                        size_t k, int nprow, int npcol, int nb,
                                        double *lambda);

/* Collective: dense reference solve of L x = b (b local, b orthogonal to 1) on rank 0:
 * forms L + 1 1^T / n (SPD for a connected graph; its solution for b ⟂ 1 is L^+ b) and
 * solves it by Cholesky (LAPACK dposv).  x local (nloc).  8 n^2 bytes on rank 0.
 * Errors: SUBQ_ERR_LAPACK (not positive definite: disconnected graph), SUBQ_ERR_MEM. */
int subq_laplacian_dense_solve(const subq_dmat_t *X, const subq_kernel_t *kernel,
                               const double *b, double *x);

/* ---- spectral sparsification (BIKSZ Section 4; Spielman-Srivastava 2011) ------------- */

typedef struct subq_sparsifier subq_sparsifier_t;

typedef struct {
  size_t n;              /* vertices */
  size_t samples;        /* edge samples drawn T */
  size_t edges;          /* distinct edges kept (the sparsifier's size) */
  double dense_edges;    /* n (n - 1) / 2 */
  size_t components;     /* connected components of the sparsifier (1 for a useful one) */
  uint64_t kde_evals;    /* kernel evaluations: separate degree pass (0: none since the
                          * importance weights use the sampled probability) */
  uint64_t sample_evals; /* kernel evaluations: neighbour sampling through the KDE tree */
  double time_s;         /* wall seconds of setup (max over ranks) */
  double assemble_s;     /* wall seconds of the PETSc assembly */
  /* Communication (include/subq/comm.h, data class, this rank; docs/comm-model.md): */
  subq_kde_tree_stats_t tree; /* the sampling tree's pairs per level etc. (replicated) */
  uint64_t sample_messages, sample_bytes_sent; /* MPI calls and bytes sent while sampling
                          * (oracle and tree set-up, all batches; merge has none) */
  uint64_t petsc_messages, petsc_bytes_sent;   /* MPI calls and bytes sent inside PETSc and
                          * SLEPc by this sparsifier so far: assembly, subq_sparsifier_apply,
                          * subq_sparsifier_normalized_eigs, subq_sparsifier_save (their own
                          * algorithms: scatter set-up, Krylov-Schur; measured, not modelled) */
} subq_sparsifier_stats_t;

/* Create a sparsifier over comm (not duplicated; must be congruent with the points'
 * communicator at setup).  Defaults: eps = 0.5, oversample C = 0.5, samples derived
 * (see subq_sparsifier_set_eps), KDE oracle "sampling" with 8 samples per group and 1
 * group, tree leaf size 32, seed 0.  Not collective.  Errors: SUBQ_ERR_MEM. */
int subq_sparsifier_create(MPI_Comm comm, subq_sparsifier_t **sp);
/* Not collective; accepts NULL and *sp == NULL.  Frees the PETSc matrix. */
void subq_sparsifier_destroy(subq_sparsifier_t **sp);

/* Target spectral error eps in (0, 1) and oversampling constant C > 0: the number of
 * edge samples is T = ceil(C n ln(n) / eps^2) (Spielman-Srivastava's O(n log n / eps^2)
 * with BIKSZ's bound w_ij R_ij <= c (w_ij/d_i + w_ij/d_j) on kernel graphs, the constant
 * left to the user).  Errors: SUBQ_ERR_ARG naming eps or C. */
int subq_sparsifier_set_eps(subq_sparsifier_t *sp, double eps, double oversample);
/* Fix T directly (> 0), overriding eps/C; 0 returns to the derived T. */
int subq_sparsifier_set_samples(subq_sparsifier_t *sp, size_t samples);
/* KDE oracle used for the degrees and the tree (type, per-group samples/tables, groups;
 * 0 keeps the oracle's derived sizes) and the tree leaf size (>= 1). */
int subq_sparsifier_set_kde(subq_sparsifier_t *sp, subq_kde_type_t type, size_t per_group,
                            size_t groups, size_t leaf_size);
int subq_sparsifier_set_seed(subq_sparsifier_t *sp, uint64_t seed);

/* Collective over sp's comm: build the sparsifier of the kernel graph of X (BIKSZ Sec. 4):
 * T edge samples, each a source vertex i and a neighbour j drawn through the binary tree
 * of KDE estimates (subq_kde_tree_sample_neighbors_prob) with the exact probability
 * q(j | i) of that draw (the product of the chosen children's estimate ratios and the
 * leaf race's k_ij / leaf sum) and k_ij = w_ij returned with it.  Sources: stratified
 * when T >= n (sample t has source floor(t n / T), so vertex i has c_i >= 1 samples),
 * else uniform on [0, n).  Each sample adds the importance weight
 *     w~ = k_ij / (2 c_i q(j | i))       (uniform sources: k_ij n / (2 T q(j | i)))
 * to the edge {i, j}: the estimator of L = (1/2) sum over ordered pairs w_ij L_ij is
 * unbiased, E[L~] = L, whatever the KDE estimates' errors (importance sampling with the
 * sampled probability, BIKSZ Sec. 4 / Spielman-Srivastava; the ordered-pair sum counts
 * each edge twice, hence the 2).  The tree's sampling distribution approximates
 * w_ij / d_i, so {i, j} is drawn with probability about (w_ij/d_i + w_ij/d_j) c / T, an
 * upper bound (up to BIKSZ's constant) on w_ij times its effective resistance.  Samples
 * are drawn in batches of 8192 keyed by (seed, global sample index): the edge list does
 * not depend on the rank count.  Then assembles L~ = sum w~_ij (e_i - e_j)(e_i - e_j)^T as
 * a PETSc MPIAIJ matrix whose local rows are X's local rows.  X is referenced (must
 * outlive sp).  No separate degree pass: kde_evals is 0; the tree's degree estimate of
 * every sampled source is checked instead.  Errors (agreed): SUBQ_ERR_ARG (n < 2, X not
 * float64, comm mismatch, already set up), SUBQ_ERR_NUMERIC (a sampled vertex with
 * estimated degree <= 1e-300: disconnected or near-disconnected graph, e.g. a tiny
 * bandwidth; names the vertex and h), SUBQ_ERR_MEM, SUBQ_ERR_MPI, PETSc errors. */
int subq_sparsifier_setup(subq_sparsifier_t *sp, const subq_dmat_t *X,
                          const subq_kernel_t *kernel);

/* The merged edge list (replicated, identical on all ranks): m edges, edges[2e] <
 * edges[2e+1] global indices sorted lexicographically, weights w[e] > 0.  Pointers owned
 * by sp.  Not collective.  Errors: SUBQ_ERR_ARG (not set up). */
int subq_sparsifier_edges(const subq_sparsifier_t *sp, size_t *m, const size_t **edges,
                          const double **w);
/* Statistics (replicated).  Not collective. */
int subq_sparsifier_stats(const subq_sparsifier_t *sp, subq_sparsifier_stats_t *st);
/* The assembled PETSc Mat (type MPIAIJ, n x n) written to *(Mat *)mat; owned by sp. */
int subq_sparsifier_get_mat(const subq_sparsifier_t *sp, void *mat);

/* Collective: Y = L~ V with PETSc MatMult, column by column; V, Y local (nloc x r). */
int subq_sparsifier_apply(const subq_sparsifier_t *sp, size_t r, const double *V, double *Y);

/* Collective: save L~ in PETSc binary format (MatView on a binary viewer; PETSc also
 * writes PATH.info).  Errors: SUBQ_ERR_IO (cannot open), PETSc errors. */
int subq_sparsifier_save(const subq_sparsifier_t *sp, const char *path);

/* Collective: quadratic-form ratios ratio[c] = v_c^T L~ v_c / v_c^T L v_c for the r
 * columns of V (local, nloc x r), L exact and matrix-free (subq_laplacian_apply, n^2
 * kernel evaluations).  A column with v^T L v = 0 (constant) gives NaN.  Errors as the
 * two products. */
int subq_sparsifier_quadratic_ratios(const subq_sparsifier_t *sp, const subq_dmat_t *X,
                                     const subq_kernel_t *kernel, size_t r, const double *V,
                                     double *ratio);

/* Collective: eigenpairs of the sparsifier's normalised Laplacian N~ = D~^{-1/2} L~
 * D~^{-1/2} (D~ = diag L~) with SLEPc (Krylov-Schur, Hermitian, relative tolerance 1e-10,
 * options prefix "subq_"): largest = 0: the k smallest non-zero eigenvalues, ascending
 * (the null vector D~^{1/2} 1 is deflated); largest = 1: the k largest, descending.
 * lambda (k) replicated; vecs (may be NULL; local nloc x k) the vectors x = D~^{-1/2} v
 * (generalised eigenvectors of (L~, D~)), unit 2-norm.  *iters (may be NULL): SLEPc
 * restarts.  Errors: SUBQ_ERR_ARG (k = 0 or k + 1 >= n), SUBQ_ERR_NUMERIC (isolated
 * vertex in the sparsifier, or fewer than k converged), PETSc errors. */
int subq_sparsifier_normalized_eigs(const subq_sparsifier_t *sp, size_t k, int largest,
                                    double *lambda, double *vecs, int *iters);

/* ---- Laplacian solves with PETSc KSP ------------------------------------------------- */

typedef enum {
  SUBQ_LSOLVE_SPARSIFIER = 0, /* CG preconditioned by AMG, both on L~: x ~ L~^+ b */
  SUBQ_LSOLVE_PRECOND = 1     /* CG on the exact matrix-free L (MATSHELL), AMG of L~ as
                                 preconditioner: x ~ L^+ b */
} subq_lsolve_mode_t;

typedef struct {
  int iterations;           /* KSP iterations */
  int reason;               /* KSPConvergedReason (> 0 converged) */
  double time_s;            /* wall seconds of setup + solve (max over ranks) */
  double true_rel_residual; /* ||L x - b|| / ||b|| with the exact L */
  uint64_t matvec_evals;    /* kernel evaluations in exact products (PRECOND mode) */
} subq_lsolve_stats_t;

/* Collective: solve L x = b for the kernel graph (b local, nloc; its mean is removed
 * first so b ⟂ 1), with PETSc KSP CG and preconditioner pc = "gamg" | "hypre" (BoomerAMG)
 * | "jacobi" | "none", relative tolerance rtol (on the preconditioned residual), at most
 * maxit iterations; the constant null space is attached to the operators and x is
 * returned with zero mean.  The KSP takes further options with prefix "subq_"; with gamg
 * the coarse grid is solved by SVD (-subq_mg_coarse_pc_type svd, set in PETSc's options
 * database unless given: L~ is singular and LU meets a zero pivot).  rtol applies to the
 * unpreconditioned residual of the operator solved.  stats
 * (may be NULL).  Errors: SUBQ_ERR_ARG (rtol not in (0,1), maxit < 1, unknown pc, b = 0),
 * SUBQ_ERR_NUMERIC (sparsifier disconnected; the KSP diverged or hit maxit: the message
 * names PETSc's reason), PETSc errors. */
int subq_laplacian_solve(const subq_sparsifier_t *sp, const subq_dmat_t *X,
                         const subq_kernel_t *kernel, subq_lsolve_mode_t mode, const char *pc,
                         double rtol, int maxit, const double *b, double *x,
                         subq_lsolve_stats_t *stats);

/* ---- local clustering by random walks (BIKSZ, local clustering) ---------------------- */

typedef struct {
  size_t size;          /* vertices in the returned cluster */
  size_t support;       /* distinct walk endpoints (sweep candidates) */
  double conductance;   /* exact: w(S, V \ S) / min(vol S, vol V - vol S) */
  double volume;        /* exact vol S = sum_{i in S} d_i */
  double total_volume;  /* exact vol V */
  uint64_t walk_evals;  /* kernel evaluations of the walks (KDE tree) */
  uint64_t exact_evals; /* kernel evaluations of the exact conductances (reference) */
} subq_cluster_stats_t;

/* Collective over X->comm: random-walk local clustering around seed_vertex (BIKSZ, local
 * clustering with random walks on the kernel graph; sweep cut as in Spielman-Teng /
 * Andersen-Chung-Lang): `walks` walks of `steps` steps from the seed through the KDE tree
 * (subq_kde_random_walks); the endpoints' empirical distribution p, candidates ordered by
 * p(v) / deg(v) (deg: the tree's degree estimates, n, replicated); for every prefix S_k of
 * at most max_size candidates the exact conductance (exact degrees of the candidates by
 * an exact KDE query, vol V by n exact queries = n^2 evaluations, internal weights |S|^2);
 * returns the prefix of least conductance.  members (capacity max_size, replicated,
 * global indices, in sweep order), *size in st.  Errors: SUBQ_ERR_ARG (seed vertex >= n,
 * walks or steps or max_size = 0), SUBQ_ERR_NUMERIC (the seed's degree estimate is <=
 * 1e-10, or every sweep set has exact volume 0: the seed is isolated or near-isolated,
 * e.g. a tiny bandwidth), SUBQ_ERR_MEM, SUBQ_ERR_MPI (agreed). */
int subq_local_cluster(subq_kde_tree_t *tree, const subq_dmat_t *X, const subq_kernel_t *kernel,
                       const double *deg, size_t seed_vertex, size_t walks, size_t steps,
                       uint64_t seed, size_t max_size, size_t *members, subq_cluster_stats_t *st);

/* ---- arboricity and weighted triangles (BIKSZ, Table 1: arboricity estimation and
 * weighted triangle counting on kernel graphs) ---------------------------------------- */

/* Not collective: the exact fractional arboricity of an undirected weighted graph,
 *   alpha = max over S subset of V, |S| >= 2, of w(E(S)) / (|S| - 1)
 * (Nash-Williams 1964; for integer weights the arboricity is ceil(alpha)), where w(E(S))
 * is the total weight of the edges with both ends in S.  n vertices, m edges as 2m
 * global indices (edges[2e], edges[2e+1] distinct, < n; a repeated pair adds its
 * weights), weights w[e] > 0 and finite.  Method: Picard-Queyranne / Gabow forced-vertex
 * minimum cuts -- vertices in decreasing degree order v_1, v_2, ...; for v_i, the best
 * set containing v_i among v_i, v_{i+1}, ... maximises w(E(S)) - lambda (|S| - 1), a
 * Goldberg (1984) s-t minimum cut solved with igraph's push-relabel maximum flow
 * (igraph_maxflow); lambda rises (Dinkelbach) whenever a better set is found; vertices
 * whose degree among the remaining ones is <= lambda are peeled (a maximiser's vertices
 * all have internal degree >= alpha), and the search stops when the remaining graph's
 * bound max_k B_k / (k - 1) is <= lambda, B_k the least of: the C(k,2) heaviest edge
 * weights, half the sum of the k largest degrees, and w(E(A)) minus the n_A - k smallest
 * degrees plus the C(n_A - k, 2) heaviest weights (through the complement; this one
 * certifies S = V on dense kernel graphs without any flow).  Exact up to rounding
 * (relative 1e-12); worst case n flows on the whole graph.  *set_size (may be NULL): |S| of a
 * maximiser; *flows (may be NULL): maximum-flow problems solved.  Memory O(n + m) plus
 * igraph's copy of the flow network.  Errors: SUBQ_ERR_ARG (n < 2, m = 0, an index >= n,
 * a self-loop, a weight <= 0 or not finite), SUBQ_ERR_MEM, SUBQ_ERR_INTERNAL (igraph
 * failed). */
int subq_graph_arboricity_exact(size_t n, size_t m, const size_t *edges, const double *w,
                                double *alpha, size_t *set_size, size_t *flows);

typedef struct {
  size_t n;              /* vertices */
  size_t samples;        /* edge samples T */
  size_t edges;          /* distinct edges of the sampled graph H (samples of kernel value 0
                          * left out) */
  size_t set_size;       /* |S| of H's maximiser */
  size_t flows;          /* maximum flows of the exact computation on H */
  double total_weight;   /* w_H(E), H's total weight: an unbiased estimate of w(E) */
  uint64_t kde_evals;    /* kernel evaluations: degree estimates (0 here: made by the
                          * caller, who counts them) */
  uint64_t sample_evals; /* kernel evaluations: the KDE tree (each draw returns its kernel
                          * value; no other evaluation) */
  double time_s;         /* wall seconds (max over ranks) */
} subq_arboricity_stats_t;

/* Collective over X->comm (tree built over X with kernel): estimate the arboricity of the
 * kernel graph (BIKSZ, arboricity estimation: the exact arboricity of a reweighted sample
 * of edges, the reduction McGregor-Tench-Vorotnikova-Vu 2015, Thm 1, use for the densest
 * subgraph).  T edge samples, each an ordered pair (i, j): the source i by systematic
 * sampling from P(i) = (1/2) deg_i / sum(deg) + 1 / (2n) (deg: degree estimates, n,
 * replicated), the neighbour j by the KDE tree with its exact probability q(j | i)
 * (subq_kde_tree_sample_neighbors_prob), so the pair's probability pi_ij = P(i) q(j | i)
 * is known exactly; each sample adds w_ij / (2 T pi_ij) to the edge {i, j} (w_ij = k(x_i,
 * x_j) returned with the draw), making E[w_H(E(S))] = w(E(S)) for every S whatever the
 * KDE estimates' errors (BIKSZ give every sample w(E) / T with pi = w_ij / w(E), which
 * needs exact degrees; the estimates now change only the variance: the mixture keeps
 * every weight within 2x of that of uniform or of degree-proportional sources); then
 * alpha(H) exactly (subq_graph_arboricity_exact, on rank 0, broadcast).  T = O(n log n /
 * eps^2) samples give (1 +- eps) w.h.p. for the maximiser (the union bound of MTVV15,
 * Thm 1, with weights).  Draws keyed by (seed, global sample index): the estimate does
 * not depend on the rank count.  *alpha replicated.  Errors (agreed): SUBQ_ERR_ARG
 * (samples = 0), SUBQ_ERR_NUMERIC (mean degree estimate <= 1e-10, the rounding level of
 * KDE(x) - k(x, x): a numerically edgeless graph, e.g. a tiny bandwidth; or every sampled
 * edge of kernel value 0: a near-disconnected graph), as subq_kde_tree_sample_neighbors
 * and subq_graph_arboricity_exact. */
int subq_arboricity_estimate(subq_kde_tree_t *tree, const subq_dmat_t *X,
                             const subq_kernel_t *kernel, const double *deg, size_t samples,
                             uint64_t seed, double *alpha, subq_arboricity_stats_t *st);

/* Collective: exact arboricity of the complete kernel graph of X (reference, small n):
 * the points are gathered on rank 0, which forms all n (n - 1) / 2 weights (kernel values
 * below 1e-300 are left out as absent edges) and runs subq_graph_arboricity_exact; alpha
 * and *set_size (may be NULL) replicated.  Memory on rank 0: about 16 n^2 bytes plus
 * igraph's network.  *evals (may be NULL) = n (n - 1) / 2.  Errors: SUBQ_ERR_NUMERIC (no
 * edge left: disconnected graph), as above, agreed. */
int subq_arboricity_dense(const subq_dmat_t *X, const subq_kernel_t *kernel, double *alpha,
                          size_t *set_size, uint64_t *evals);

typedef struct {
  size_t n;              /* vertices */
  size_t samples;        /* samples s */
  double std_err;        /* standard error of the estimate (sample standard deviation / sqrt s) */
  double rel_std_err;    /* std_err / |estimate| */
  uint64_t kde_evals;    /* kernel evaluations: degree estimates */
  uint64_t sample_evals; /* kernel evaluations: edge sampling (KDE tree) + 2 per sample */
  double time_s;         /* wall seconds (max over ranks) */
} subq_triangles_stats_t;

/* Collective over X->comm (tree built over X with kernel): estimate the total weight of
 * the triangles of the kernel graph,
 *   T = sum over i < j < k of w_ij w_jk w_ik = trace(W^3) / 6   (W = K - I),
 * (BIKSZ, weighted triangle estimation) from s samples: an ordered pair (i, j) with its
 * exact probability pi_ij = P(i) q(j | i) (sources and tree as subq_arboricity_estimate)
 * and a third vertex k uniform on V \ {i, j}; the estimator
 *   X = w_ij w_ik w_jk (n - 2) / (6 pi_ij)
 * (w_ij from the draw, two kernel evaluations) has E[X] = T exactly whatever the KDE
 * estimates' errors (BIKSZ's X = D (n - 2) w_ik w_jk / 6 with pi_ij = w_ij / D needs exact
 * degrees); the mean of s samples is returned.  With exact estimates X is within 2x of
 * BIKSZ's X <= T / tau^3 (kernel values >= tau), so s = O(1 / (tau^3 eps^2)) samples give
 * relative error eps; approximate estimates raise only the variance.  std_err
 * treats the samples as independent (systematic sources make it conservative).
 * *estimate replicated; does not depend on the rank count.  Errors: SUBQ_ERR_ARG (s = 0,
 * n < 3), SUBQ_ERR_NUMERIC (mean degree estimate <= 1e-10: numerically edgeless, e.g. a
 * tiny bandwidth; or every sampled edge of kernel value 0: near-disconnected), as
 * subq_kde_tree_sample_neighbors, agreed. */
int subq_triangles_estimate(subq_kde_tree_t *tree, const subq_dmat_t *X,
                            const subq_kernel_t *kernel, const double *deg, size_t samples,
                            uint64_t seed, double *estimate, subq_triangles_stats_t *st);

/* Collective: exact T = trace(W^3) / 6 for the kernel graph of X (reference): X is
 * gathered on every rank; each rank forms its rows of W (nloc x n) and, column tile by
 * column tile (n x 256 of W), the product with BLAS dgemm, summing W_ij (W^2)_ij over
 * its rows.  Memory per rank 8 (nloc + 256) n bytes plus X; n^2 + nloc n kernel
 * evaluations per rank, *evals (may be NULL) = n^2 (the dense matrix, counted once).
 * Errors: SUBQ_ERR_ARG (n < 3, not float64), SUBQ_ERR_MEM, SUBQ_ERR_MPI, agreed. */
int subq_triangles_dense(const subq_dmat_t *X, const subq_kernel_t *kernel, double *T,
                         uint64_t *evals);

#ifdef __cplusplus
}
#endif
#endif
