/* Internals of the LevAttention selection object (src/lev/levatt_select.c, the two-pass
 * method, and src/lev/levatt_online.c, the one-pass online scores); not installed. */
#ifndef SUBQ_LEVATT_IMPL_H
#define SUBQ_LEVATT_IMPL_H

#include <lapacke.h>

#include "subq/levatt.h"
#include "subq/sketch.h"

enum { ST_GRAM = 0, ST_FACTORED = 1, ST_SELECTED = 2 };

struct subq_levatt {
  MPI_Comm comm;
  int rank, size;
  subq_levatt_opts_t o;
  size_t d, D, m;          /* key dim, features, tensor degree m = p/2 */
  subq_polysketch_t *ps;   /* sketched features (polynomial sketch), else NULL */
  int *fidx;               /* D x m key coordinates of each feature (m > 1, exact) */
  double *fcoef;           /* D: sqrt(m! / prod c_a!) */
  double *G;               /* D x D Gram (two-pass: then rank 0's pivoted Cholesky factor;
                              one-pass: the running prefix Gram) */
  double *M;               /* D x r row-major scoring matrix P_{:,1:r} L11^{-T} */
  double *Gc;              /* D x D: one chunk's Gram (blocked gram_add), then added to G */
  lapack_int *piv;         /* D, 1-based pivots of dpstrf */
  size_t r;                /* numerical rank */
  double *phi, *y;         /* chunk buffers: rows x D features, block rows x r scores */
  size_t cap_rows;         /* rows phi holds (when allocated) */
  size_t y_rows;           /* rows y holds: min(chunk, subq_gram_block_rows_(D)) */
  size_t n_gram, n_scored; /* local rows seen in pass 1 and pass 2 */
  size_t n_global;         /* after factor */
  double sum_tau, max_tau; /* local */
  double *ct;              /* candidates: tau */
  int64_t *ci;             /*             global index */
  size_t nc, capc;
  int64_t *U;
  size_t nU;
  size_t bytes, bytes_peak; /* current and peak workspace of the buffers above */
  subq_levatt_info_t info;
  int state;
  /* one pass (o.passes == 1; src/lev/levatt_online.c) */
  double *F;               /* D x D: Cholesky factor of G_prefix + lambda I */
  double *Z;               /* D x blk (col-major): whitened block, then dtpqrt's V */
  double *R;               /* blk x blk: identity, then the triangular factor */
  double *T;               /* nb x blk: dtpqrt's block reflectors */
  size_t blk;              /* rows per block of the online update */
  size_t g_next;           /* global index the next online chunk must start at */
  size_t g_first;          /* first global index scored here (SIZE_MAX: none) */
  double lam_min, lam_max; /* smallest and largest lambda used on this rank */
};

/* Chunks of keys up to this many bytes (1024 keys at d = 64) are taken to be in L2 when they
 * come (just read or generated): pass 1 checks them whole for NaN/Inf and adds their Gram
 * to G directly (subq_levatt_gram_add_keys_). */
enum { SUBQ_LEVATT_CACHED_CHUNK_BYTES = 512 * 1024 };

/* Internal helpers shared by the two files (arguments trusted). */
void subq_levatt_account_(subq_levatt_t *L, long long delta);
int subq_levatt_reserve_(subq_levatt_t *L, size_t rows, int need_y);
const double *subq_levatt_features_of_(subq_levatt_t *L, size_t rows, const double *K);
int subq_levatt_push_(subq_levatt_t *L, double t, int64_t g);
/* Pass 1 for features = keys (m = 1, not sketched) and D <= 128: a chunk of at most 512 KiB
 * is checked for NaN/Inf and then added to G; a larger one is checked row block by row
 * block right before the block's products, its Gram summed in Gc and added to G only when
 * every key is finite.  G is unchanged on error.  Errors: SUBQ_ERR_NUMERIC, _MEM. */
int subq_levatt_gram_add_keys_(subq_levatt_t *L, size_t rows, const double *K);
/* SUBQ_ERR_NUMERIC naming the first key (local index base + i) with a NaN/Inf entry. */
int subq_levatt_check_finite_(const subq_levatt_t *L, size_t rows, const double *K, size_t base,
                              const char *what);
/* One pass: after the local Gram pass (if any), the MPI_Exscan of the Gram (collective). */
int subq_levatt_online_prefix_(subq_levatt_t *L);
/* One pass: online scores of rows features phi (rows x D) with global indices g0.. */
int subq_levatt_online_score_(subq_levatt_t *L, size_t rows, const double *phi, size_t g0,
                              double *tau);
/* One pass, collective at select: checks of the sequence order, the final Gram's
 * spectrum on the last rank (rank, CMP bound), info fields. */
int subq_levatt_online_finish_(subq_levatt_t *L);

#endif
