/* Communication counters (include/subq/comm.h) against counts computed by hand from the
 * algorithms (docs/comm-model.md), at np = 1..4:
 *   raw wrappers: Allreduce/Bcast/Exscan/Alltoallv/Gatherv/Sendrecv_replace of known sizes
 *   Gram          one Allreduce of d^2 doubles
 *   TSQR          binary tree: p-1 Sends of d^2 doubles in total, rank r receives one R
 *                 per tree level where it is the left child's parent, one Bcast of d^2
 *   leverage scores (qr | gram | sketch): TSQR or Gram (or Allreduce of the m x d sketch),
 *                 then Bcast of 6 doubles and of the d x rank weights
 *   polysketch attention, causal: Exscan of 1 shard size (8 bytes) and of the state
 *                 r(r+1)/2 x (dv+1) values; non-causal: Exscan 8 bytes + Allreduce of it
 *   control class: error agreements are not counted as data */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dist/fill.h"
#include "subq.h"
#include "subq/attn.h"
#include "subq/lev.h"

static int rank_, size_;

static subq_comm_count_t data_(const subq_comm_counters_t *c, int op) { return c->c[SUBQ_COMM_DATA][op]; }

/* Counters since the last reset, data class, every op other than those in `allowed` zero. */
static void only_(const subq_comm_counters_t *c, const int *allowed, int na) {
  for (int o = 0; o < SUBQ_COMM_NOPS; o++) {
    int ok = 0;
    for (int k = 0; k < na; k++) ok |= o == allowed[k];
    if (!ok && c->c[SUBQ_COMM_DATA][o].calls != 0) {
      fprintf(stderr, "[rank %d] unexpected %s x %llu\n", rank_, subq_comm_op_name(o),
              (unsigned long long)c->c[SUBQ_COMM_DATA][o].calls);
      CHECK(0);
    }
  }
}

static void raw_(void) {
  subq_comm_counters_t c;
  const int p = size_, r = rank_;
  double x[64] = {0}, y[64];
  subq_comm_reset();
  MPI_Allreduce(x, y, 5, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  MPI_Bcast(x, 3, MPI_INT, p - 1, MPI_COMM_WORLD);
  MPI_Exscan(x, y, 4, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  /* Alltoallv: rank r sends j+1 doubles to rank j. */
  int sc[8], sd[8], rc[8], rd[8];
  for (int j = 0, o = 0; j < p; j++) sc[j] = j + 1, sd[j] = o, o += j + 1;
  for (int j = 0; j < p; j++) rc[j] = r + 1, rd[j] = j * (r + 1);
  MPI_Alltoallv(x, sc, sd, MPI_DOUBLE, y, rc, rd, MPI_DOUBLE, MPI_COMM_WORLD);
  int gc[8], gd[8];
  for (int j = 0; j < p; j++) gc[j] = 2, gd[j] = 2 * j;
  MPI_Gatherv(x, 2, MPI_DOUBLE, y, gc, gd, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  MPI_Sendrecv_replace(x, 6, MPI_DOUBLE, (r + 1) % p, 1, (r + p - 1) % p, 1, MPI_COMM_WORLD,
                       MPI_STATUS_IGNORE);
  subq_comm_snapshot(&c);
  const uint64_t multi = p > 1;
  CHECK(data_(&c, SUBQ_COMM_ALLREDUCE).calls == 1);
  CHECK(data_(&c, SUBQ_COMM_ALLREDUCE).bytes_sent == multi * 40);
  CHECK(data_(&c, SUBQ_COMM_BCAST).bytes_sent == (r == p - 1 ? multi * 12 : 0));
  CHECK(data_(&c, SUBQ_COMM_BCAST).bytes_recv == (r == p - 1 ? 0 : 12));
  CHECK(data_(&c, SUBQ_COMM_EXSCAN).bytes_sent == multi * 16);
  CHECK(data_(&c, SUBQ_COMM_EXSCAN).bytes_recv == (r > 0 ? 16u : 0u));
  uint64_t a2a_s = 0, a2a_r = 0;
  for (int j = 0; j < p; j++)
    if (j != r) a2a_s += 8u * (uint64_t)(j + 1), a2a_r += 8u * (uint64_t)(r + 1);
  CHECK(data_(&c, SUBQ_COMM_ALLTOALLV).bytes_sent == a2a_s);
  CHECK(data_(&c, SUBQ_COMM_ALLTOALLV).bytes_recv == a2a_r);
  CHECK(data_(&c, SUBQ_COMM_GATHERV).bytes_sent == (r == 0 ? 0u : 16u));
  CHECK(data_(&c, SUBQ_COMM_GATHERV).bytes_recv == (r == 0 ? 16u * (uint64_t)(p - 1) : 0u));
  CHECK(data_(&c, SUBQ_COMM_SENDRECV_REPLACE).calls == 1);
  CHECK(data_(&c, SUBQ_COMM_SENDRECV_REPLACE).bytes_sent == 48);
  CHECK(data_(&c, SUBQ_COMM_SENDRECV_REPLACE).bytes_recv == 48);
  /* Control sections and error agreement go to the control class. */
  subq_comm_reset();
  CHECK_OK(subq_error_agree(MPI_COMM_WORLD, 0));
  subq_comm_snapshot(&c);
  CHECK(subq_comm_total(&c, SUBQ_COMM_DATA).calls == 0);
  CHECK(subq_comm_total(&c, SUBQ_COMM_CONTROL).calls == 1);
}

/* Number of tree levels at which rank r receives an R in the TSQR binary tree. */
static int tsqr_children_(int r, int p) {
  int k = 0;
  for (int s = 1; s < p; s *= 2) {
    if (r % (2 * s) == s) break;
    if (r % (2 * s) == 0 && r + s < p) k++;
  }
  return k;
}

static void dist_(size_t n, size_t d) {
  subq_dmat_t *A = NULL;
  CHECK_OK(subq_dmat_create(MPI_COMM_WORLD, n, d, SUBQ_F64, &A));
  fill_gauss(A, 11, NULL);
  double *G = malloc(sizeof(double) * d * d);
  const uint64_t D2 = 8u * d * d, multi = size_ > 1;
  subq_comm_counters_t c;

  subq_comm_reset();
  CHECK_OK(subq_dmat_gram(A, G));
  subq_comm_snapshot(&c);
  int gram_ops[] = {SUBQ_COMM_ALLREDUCE};
  only_(&c, gram_ops, 1);
  CHECK(data_(&c, SUBQ_COMM_ALLREDUCE).calls == 1);
  CHECK(data_(&c, SUBQ_COMM_ALLREDUCE).bytes_sent == multi * D2);

  subq_comm_reset();
  CHECK_OK(subq_dmat_tsqr(A, G));
  subq_comm_snapshot(&c);
  int tsqr_ops[] = {SUBQ_COMM_SEND, SUBQ_COMM_RECV, SUBQ_COMM_BCAST};
  only_(&c, tsqr_ops, 3);
  CHECK(data_(&c, SUBQ_COMM_SEND).calls == (rank_ ? 1u : 0u));
  CHECK(data_(&c, SUBQ_COMM_SEND).bytes_sent == (rank_ ? D2 : 0));
  CHECK(data_(&c, SUBQ_COMM_RECV).calls == (uint64_t)tsqr_children_(rank_, size_));
  CHECK(data_(&c, SUBQ_COMM_RECV).bytes_recv == (uint64_t)tsqr_children_(rank_, size_) * D2);
  CHECK(data_(&c, SUBQ_COMM_BCAST).calls == 1);
  CHECK(data_(&c, SUBQ_COMM_BCAST).bytes_sent + data_(&c, SUBQ_COMM_BCAST).bytes_recv == multi * D2);
  subq_comm_counters_t mx, sm;
  CHECK_OK(subq_comm_reduce(MPI_COMM_WORLD, &c, &mx, &sm));
  CHECK(sm.c[SUBQ_COMM_DATA][SUBQ_COMM_SEND].calls == (uint64_t)(size_ - 1));
  CHECK(sm.c[SUBQ_COMM_DATA][SUBQ_COMM_RECV].calls == (uint64_t)(size_ - 1));
  int levels = 0;
  for (int s = 1; s < size_; s *= 2) levels++;
  CHECK(mx.c[SUBQ_COMM_DATA][SUBQ_COMM_RECV].calls == (uint64_t)levels); /* rank 0: ceil(log2 p) */

  /* Leverage scores: full-rank Gaussian K, so the weights are d x d. */
  double *W = malloc(sizeof(double) * d * d);
  for (int m = 0; m < 3; m++) {
    subq_lev_opts_t o;
    subq_lev_info_t info;
    subq_lev_opts_default(&o);
    o.method = m == 0 ? SUBQ_LEV_QR : m == 1 ? SUBQ_LEV_GRAM : SUBQ_LEV_SKETCH;
    o.sketch_rows = 3 * d;
    o.jl_cols = 1000; /* >= rank: no JL step */
    subq_comm_reset();
    CHECK_OK(subq_lev_weights(A, &o, W, &info));
    subq_comm_snapshot(&c);
    CHECK(info.weight_cols == d);
    const uint64_t bc = multi * (48 + 8u * d * info.weight_cols);
    uint64_t b = data_(&c, SUBQ_COMM_BCAST).bytes_sent + data_(&c, SUBQ_COMM_BCAST).bytes_recv;
    if (m == 0) {
      CHECK(data_(&c, SUBQ_COMM_BCAST).calls == 3);
      CHECK(b == multi * D2 + bc);
    } else {
      CHECK(data_(&c, SUBQ_COMM_BCAST).calls == 2);
      CHECK(b == bc);
      CHECK(data_(&c, SUBQ_COMM_ALLREDUCE).calls == 1);
      CHECK(data_(&c, SUBQ_COMM_ALLREDUCE).bytes_sent == multi * (m == 1 ? D2 : 8u * 3 * d * d));
    }
  }
  free(W);
  free(G);
  subq_dmat_destroy(&A);
}

static void attn_(int causal, int f32) {
  const int d = 8, dv = 5, r = 4;
  const size_t n = 97;
  size_t r0, nl;
  subq_dist_block(n, size_, rank_, &r0, &nl);
  double *Q = malloc(sizeof(double) * (n * d + 1)), *K = malloc(sizeof(double) * (n * d + 1));
  double *V = malloc(sizeof(double) * (n * dv + 1)), *O = malloc(sizeof(double) * (n * dv + 1));
  float *Qf = malloc(sizeof(float) * (n * d + 1)), *Kf = malloc(sizeof(float) * (n * d + 1));
  float *Vf = malloc(sizeof(float) * (n * dv + 1)), *Of = malloc(sizeof(float) * (n * dv + 1));
  for (size_t i = 0; i < n * d; i++) Qf[i] = (float)(Q[i] = subq_rng_gauss(5, 1, i)), Kf[i] = (float)(K[i] = subq_rng_gauss(5, 2, i));
  for (size_t i = 0; i < n * dv; i++) Vf[i] = (float)(V[i] = subq_rng_gauss(5, 3, i));
  subq_attn_t *a = NULL;
  CHECK_OK(subq_attn_create(MPI_COMM_WORLD, SUBQ_ATTN_POLYSKETCH, d, dv, &a));
  CHECK_OK(subq_attn_set_causal(a, causal));
  CHECK_OK(subq_attn_set_block(a, 16));
  CHECK_OK(subq_attn_set_degree(a, 4));
  CHECK_OK(subq_attn_set_sketch(a, SUBQ_SKETCH_GAUSSIAN, r, 9));
  CHECK_OK(subq_attn_setup(a));
  subq_comm_counters_t c;
  subq_comm_reset();
  if (f32) CHECK_OK(subq_attn_apply_f32(a, nl, Qf + r0 * d, Kf + r0 * d, Vf + r0 * dv, Of));
  else CHECK_OK(subq_attn_apply(a, nl, Q + r0 * d, K + r0 * d, V + r0 * dv, O));
  subq_comm_snapshot(&c);
  const uint64_t multi = size_ > 1, state = (uint64_t)(r * (r + 1) / 2) * (uint64_t)(dv + 1);
  const uint64_t w = f32 ? 4 : 8;
  int ops[] = {SUBQ_COMM_EXSCAN, SUBQ_COMM_ALLREDUCE};
  only_(&c, ops, 2);
  if (causal) {
    CHECK(data_(&c, SUBQ_COMM_EXSCAN).calls == 1 + multi);
    CHECK(data_(&c, SUBQ_COMM_EXSCAN).bytes_sent == multi * (8 + w * state));
    CHECK(data_(&c, SUBQ_COMM_EXSCAN).bytes_recv == (rank_ > 0 ? 8 + w * state : 0));
    CHECK(data_(&c, SUBQ_COMM_ALLREDUCE).calls == 0);
  } else {
    CHECK(data_(&c, SUBQ_COMM_EXSCAN).calls == 1);
    CHECK(data_(&c, SUBQ_COMM_ALLREDUCE).calls == multi);
    CHECK(data_(&c, SUBQ_COMM_ALLREDUCE).bytes_sent == multi * w * state);
  }
  subq_attn_destroy(&a);
  free(Q), free(K), free(V), free(O), free(Qf), free(Kf), free(Vf), free(Of);
}

int main(int argc, char **argv) {
  CHECK_OK(subq_init(&argc, &argv));
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  raw_();
  dist_(53, 6);
  dist_(8, 3);
  for (int causal = 0; causal < 2; causal++)
    for (int f32 = 0; f32 < 2; f32++) attn_(causal, f32);
  CHECK_FINISH();
}
