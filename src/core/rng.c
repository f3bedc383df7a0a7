/* Counter-based random numbers: Philox4x32-10 (Salmon, Moraes, Dror, Shaw, "Parallel
 * random numbers: as easy as 1, 2, 3", SC 2011).  A draw depends only on
 * (seed, stream, index), so any rank or thread can generate any entry of a sketch
 * matrix on demand, identically. */
#include <math.h>

#include "subq/core.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static inline void mulhilo_(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo) {
  uint64_t p = (uint64_t)a * b;
  *hi = (uint32_t)(p >> 32);
  *lo = (uint32_t)p;
}

void subq_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
  uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
  uint32_t k0 = key[0], k1 = key[1];
  for (int r = 0; r < 10; r++) {
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo_(PHILOX_M0, c0, &hi0, &lo0);
    mulhilo_(PHILOX_M1, c2, &hi1, &lo1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += PHILOX_W0;
    k1 += PHILOX_W1;
  }
  out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

static inline void block_(uint64_t seed, uint64_t stream, uint64_t index, uint32_t out[4]) {
  const uint32_t ctr[4] = {(uint32_t)index, (uint32_t)(index >> 32), (uint32_t)stream,
                           (uint32_t)(stream >> 32)};
  const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
  subq_philox4x32_10(ctr, key, out);
}

/* 53 random bits -> (0, 1): (k + 0.5) / 2^53 */
static inline double open01_(uint32_t hi, uint32_t lo) {
  uint64_t k = (((uint64_t)hi << 32) | lo) >> 11;
  return ((double)k + 0.5) * 0x1.0p-53;
}

uint64_t subq_rng_u64(uint64_t seed, uint64_t stream, uint64_t index) {
  uint32_t o[4];
  block_(seed, stream, index, o);
  return ((uint64_t)o[1] << 32) | o[0];
}

double subq_rng_uniform(uint64_t seed, uint64_t stream, uint64_t index) {
  uint32_t o[4];
  block_(seed, stream, index, o);
  return open01_(o[1], o[0]);
}

double subq_rng_gauss(uint64_t seed, uint64_t stream, uint64_t index) {
  uint32_t o[4];
  block_(seed, stream, index, o);
  double u1 = open01_(o[1], o[0]), u2 = open01_(o[3], o[2]);
  return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

float subq_rng_gaussf(uint64_t seed, uint64_t stream, uint64_t index) {
  return (float)subq_rng_gauss(seed, stream, index);
}

int subq_rng_rademacher(uint64_t seed, uint64_t stream, uint64_t index) {
  uint32_t o[4];
  block_(seed, stream, index, o);
  return (o[0] & 1u) ? 1 : -1;
}

uint64_t subq_rng_below(uint64_t seed, uint64_t stream, uint64_t index, uint64_t n) {
  uint64_t x = subq_rng_u64(seed, stream, index);
  return (uint64_t)(((unsigned __int128)x * n) >> 64);
}

void subq_rng_fill_gauss(uint64_t seed, uint64_t stream, uint64_t first, size_t n, double *out) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; i++) out[i] = subq_rng_gauss(seed, stream, first + i);
}

void subq_rng_fill_uniform(uint64_t seed, uint64_t stream, uint64_t first, size_t n,
                           double *out) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; i++) out[i] = subq_rng_uniform(seed, stream, first + i);
}
