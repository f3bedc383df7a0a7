/* Internal helpers of src/lev (not installed). */
#ifndef SUBQ_LEV_IMPL_H
#define SUBQ_LEV_IMPL_H

#include "subq/lev.h"

/* W = V_r S_r^{-1} from the SVD of R (d x d row-major, destroyed), with the cut
 * sigma > sigma_max * max(nscale, d) * eps; fills rank, weight_cols, sigma_*,
 * threshold of info.  Not collective. */
int subq_lev_weights_from_r_(double *R, size_t d, size_t nscale, double *W,
                             subq_lev_info_t *info);

/* Collective: agree on rank 0's outcome e, then broadcast info and W from rank 0. */
int subq_lev_bcast_weights_(MPI_Comm comm, int e, size_t d, double *W, subq_lev_info_t *info);

/* Collective: the sketch method of subq_lev_weights (src/lev/levsketch.c). */
int subq_lev_sketch_weights_(const subq_dmat_t *K, const subq_lev_opts_t *o, double *W,
                             subq_lev_info_t *info);

/* Default CountSketch rows: 20 d, capped at max(d, n) (a sketch with more rows than the
 * matrix is no cheaper than the matrix itself). */
static inline size_t subq_lev_default_sketch_rows_(size_t n, size_t d) {
  size_t m = 20 * d;
  if (m > n) m = n > d ? n : d;
  return m;
}

#endif
