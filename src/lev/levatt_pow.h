/* Internal: |x|^p by binary powering (p >= 0), shared by the CPU restricted attention
 * (levatt_attend.c) and its device version (src/cuda/levatt.cu), so both weigh a score
 * with the same multiplications. */
#ifndef SUBQ_LEVATT_POW_H
#define SUBQ_LEVATT_POW_H

#include <math.h>

#ifdef __CUDACC__
#define SUBQ_LEVATT_HD static inline __host__ __device__
#else
#define SUBQ_LEVATT_HD static inline
#endif

SUBQ_LEVATT_HD double subq_levatt_ipow_abs(double x, int p) {
  double r = 1, b = fabs(x);
  while (p) {
    if (p & 1) r *= b;
    b *= b;
    p >>= 1;
  }
  return r;
}

#endif
