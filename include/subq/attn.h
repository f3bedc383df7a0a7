/* subq attn: single-head attention operators, sequence-parallel over a communicator.
 *
 * Variants (one object type, create -> set options -> setup -> apply -> destroy):
 *   SUBQ_ATTN_SOFTMAX     o_i = sum_j exp(s <q_i,k_j>) v_j / sum_j exp(s <q_i,k_j>),
 *                         s = 1/sqrt(d) by default.  Streaming over key blocks with the
 *                         online softmax (FlashAttention, Dao et al. 2022, Alg. 1): BLAS
 *                         block products, never an n x n matrix.
 *   SUBQ_ATTN_POLY        exact polynomial attention of even degree p (PolySketchFormer,
 *                         Kacham-Mirrokni-Zhong 2024, arXiv 2310.01655, Sec. 2):
 *                         o_i = sum_j <q^_i,k^_j>^p v_j / (1 + sum_j <q^_i,k^_j>^p),
 *                         q^ = LN(q), k^ = LN(k), no 1/sqrt(d); O(n^2 d) work, streamed
 *                         over key blocks like the softmax.
 *   SUBQ_ATTN_POLYSKETCH  the same with <q^,k^>^p replaced by <phi(q^), phi(k^)>^2, phi the
 *                         PolySketch features of degree p/2 (subq_polysketch_*) with r
 *                         sketch columns; causal masking by the block lower-triangular
 *                         algorithm (paper Sec. 3.3): blocks of b tokens (block edges at
 *                         global multiples of b), tril((Phi_Q Phi_K^T)^2)[V 1] exact inside
 *                         a block and prefix sums of per-block states
 *                         Z = (Phi_K^{(x)2})^T [V 1] of size r(r+1)/2 x (dv+1) across blocks
 *                         (the r^2 self-tensored features reduced by symmetry: the features
 *                         a_c^2 and sqrt(2) a_c a_e, c < e, have the same inner products).
 *                         "mixed": exact (<q^,k^>^p) inside the diagonal blocks instead
 *                         (across shard edges too: subq_attn_set_mixed).
 *                         Linear in n: O(n (b (r + dv) + r^2 dv)).
 * LN is a layer norm without affine parameters and without epsilon: (x - mean)/std, computed
 * on x / max|x| so that huge inputs do not overflow; a constant vector maps to 0.
 * Error of the sketch (paper Thm. 2.5 and sketch.h): per entry, |<phi q, phi k>^2 -
 * <q,k>^p| <= (2 eps + eps^2) |q^|^p |k^|^p where eps ~ sqrt(Var_q / r) (sketch.h), so the
 * relative error of the outputs decreases like 1/sqrt(r).
 *
 * Layout: Q, K are n x d, V and O are n x dv, row-major, one token per row.  Sequence
 * parallel: each rank of the communicator passes its own contiguous range of tokens, in
 * rank order (rank 0 the first tokens); ranges may be empty.  Softmax and exact polynomial
 * attention pass the K, V shards around a ring (MPI_Sendrecv_replace) and merge the
 * per-shard partial results by log-sum-exp (resp. sums); polysketch computes each rank's
 * state, an exclusive prefix sum over ranks (MPI_Exscan) and then the local outputs (mixed:
 * plus one halo message per shard edge, subq_attn_set_mixed).  The result does not depend
 * on the number of ranks beyond rounding.
 */
#ifndef SUBQ_ATTN_H
#define SUBQ_ATTN_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "subq/sketch.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  SUBQ_ATTN_SOFTMAX = 0,
  SUBQ_ATTN_POLY = 1,
  SUBQ_ATTN_POLYSKETCH = 2
} subq_attn_type_t;

typedef struct subq_attn subq_attn_t;

/* "softmax", "poly", "polysketch". */
const char *subq_attn_type_name(subq_attn_type_t t);

/* Create an operator for head dimension d (queries, keys) and dv (values) over comm (the
 * communicator is duplicated; comm's ranks hold consecutive token ranges).  Defaults:
 * causal, softmax scale 1/sqrt(d), degree p = 4, gaussian sketch with r = 32, seed 0,
 * block 256, not mixed.  Collective over comm.  Errors: SUBQ_ERR_ARG (d, dv < 1, bad type),
 * SUBQ_ERR_MEM, SUBQ_ERR_MPI. */
int subq_attn_create(MPI_Comm comm, subq_attn_type_t type, int d, int dv, subq_attn_t **a);
/* Options; set before setup.  Errors: SUBQ_ERR_ARG naming the value. */
int subq_attn_set_causal(subq_attn_t *a, int causal);
/* Softmax scale s (> 0, finite). */
int subq_attn_set_scale(subq_attn_t *a, double scale);
/* Degree p of the polynomial kernel: even, 2 <= p <= 64 (odd p would give negative weights
 * and a denominator that can vanish).  Gaussian/SRHT sketches support p = 2, 4. */
int subq_attn_set_degree(subq_attn_t *a, int p);
/* Polysketch: sketch type (gaussian|srht|tensorsketch; SRHT pads d to a power of two),
 * r >= 1 features, seed (RNG streams 0..3 of this seed). */
int subq_attn_set_sketch(subq_attn_t *a, subq_sketch_type_t type, int r, uint64_t seed);
/* Block size b >= 1: keys per streamed block (softmax, poly) or tokens per causal block
 * (polysketch). */
int subq_attn_set_block(subq_attn_t *a, int b);
/* Polysketch mixed variant (exact polynomial kernel on the diagonal blocks; causal only,
 * the non-causal operator ignores it).  Sequence-parallel: a block split by a shard edge
 * still gets the exact kernel for all its causal pairs: each rank receives from the
 * previous rank the layer-normalised keys and the values of its first block's earlier
 * tokens (h = g0 mod b rows of d + dv values, one MPI_Isend/MPI_Recv pair per edge, forwarded
 * through ranks whose shard is shorter than that), and the block's sketched state is summed
 * by the rank that holds its end, so results equal np = 1 for any shard edges.  On cuda an
 * apply whose shard edges are not all multiples of b runs on the CPU (the device path has
 * no halo exchange yet; subq_attn_gemm_stats then reports the CPU's gemm calls). */
int subq_attn_set_mixed(subq_attn_t *a, int mixed);
/* Where apply runs: SUBQ_DEVICE_CPU (default) or SUBQ_DEVICE_CUDA, the device bound by
 * subq_device_select.  On cuda, softmax and exact polynomial attention stream query x key
 * tiles (1024 x 1024) with cuBLAS products and an online-softmax kernel, the ring passes
 * the K, V shards through pinned host buffers, and the running maximum, sum and output
 * continue across shards; polysketch computes the features on the device (cuBLAS, or
 * cuFFT for a TensorSketch) and the block algorithm with strided-batched cuBLAS products
 * over chunks of blocks, exchanging its states through host buffers.  Results equal the
 * CPU's up to rounding; the decode state stays on the CPU.  Set before setup.  Errors:
 * SUBQ_ERR_ARG, SUBQ_ERR_UNSUPPORTED (build without CUDA), SUBQ_ERR_DEVICE (no device
 * bound on this rank). */
int subq_attn_set_device(subq_attn_t *a, subq_device_t dev);
/* Validate the options and build the sketch.  Collective (agrees on errors).
 * Errors: SUBQ_ERR_ARG (e.g. p = 6 with a gaussian sketch), SUBQ_ERR_MEM. */
int subq_attn_setup(subq_attn_t *a);

/* O = attention(Q, K, V) for this rank's n_local tokens (see layout above).  Collective
 * over the operator's communicator; every rank returns the same error code.  Memory per
 * rank O(n_local (d + dv) + b^2 + b r^2 + r^2 dv) (+ one K, V shard for the ring).
 * Errors: SUBQ_ERR_ARG (not set up, NULL arrays with n_local > 0), SUBQ_ERR_NUMERIC
 * (NaN/Inf in Q, K or V), SUBQ_ERR_MEM, SUBQ_ERR_MPI. */
int subq_attn_apply(subq_attn_t *a, size_t n_local, const double *Q, const double *K,
                    const double *V, double *O);
/* Single precision (sgemm), same algorithm; states and sums in float. */
int subq_attn_apply_f32(subq_attn_t *a, size_t n_local, const float *Q, const float *K,
                        const float *V, float *O);

/* Statistics of the last apply on this rank: flops done in BLAS gemm calls and the
 * seconds spent in them (for the "fraction of the gemm rate" benchmark figures).  On
 * cuda: the flops of the cuBLAS calls and the device time of the whole apply (uploads,
 * kernels and downloads), measured with CUDA events. */
void subq_attn_gemm_stats(const subq_attn_t *a, double *flops, double *seconds);
/* The seconds of subq_attn_gemm_stats measured as CPU time of the calling thread (which
 * takes part in OpenBLAS's threaded gemm): on a shared machine this leaves out the time
 * the rank was descheduled.  Not collective. */
void subq_attn_gemm_stats_cpu(const subq_attn_t *a, double *seconds);

/* Decode state of causal polysketch attention (double precision, this rank only, not
 * collective): the r(r+1)/2 x (dv+1) state of a prefix, updated one token at a time.
 * reset empties it; step appends token (k, v) and returns in o (dv) the attention output
 * of query q over the prefix including that token, equal (to rounding) to row i of the
 * non-mixed block algorithm.  Errors: SUBQ_ERR_ARG (not polysketch, not set up),
 * SUBQ_ERR_NUMERIC (NaN/Inf). */
int subq_attn_decode_reset(subq_attn_t *a);
int subq_attn_decode_step(subq_attn_t *a, const double *q, const double *k, const double *v,
                          double *o);

/* Accepts NULL.  Not collective (frees the duplicated communicator). */
void subq_attn_destroy(subq_attn_t **a);

/* Row-wise layer norm used by poly and polysketch attention (see above): Y = LN(X), X and
 * Y n x d (may alias).  Errors: SUBQ_ERR_NUMERIC naming the row of a NaN/Inf. */
int subq_layer_norm(size_t n, int d, const double *X, double *Y);
int subq_layer_norm_f32(size_t n, int d, const float *X, float *Y);

#ifdef __cplusplus
}
#endif
#endif
