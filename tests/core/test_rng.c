/* Philox4x32-10 against the published known-answer vectors (Random123 1.09,
 * tests/kat_vectors, the three "philox4x32 10" lines), and the derived draws against
 * their distributions. */
#include <math.h>
#include <string.h>

#include "check.h"

static void kat_(const uint32_t c[4], const uint32_t k[2], const uint32_t want[4]) {
  uint32_t out[4];
  subq_philox4x32_10(c, k, out);
  for (int i = 0; i < 4; i++) CHECK(out[i] == want[i]);
}

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  {
    const uint32_t c[4] = {0, 0, 0, 0}, k[2] = {0, 0};
    const uint32_t w[4] = {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8};
    kat_(c, k, w);
  }
  {
    const uint32_t c[4] = {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff};
    const uint32_t k[2] = {0xffffffff, 0xffffffff};
    const uint32_t w[4] = {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd};
    kat_(c, k, w);
  }
  {
    const uint32_t c[4] = {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344};
    const uint32_t k[2] = {0xa4093822, 0x299f31d0};
    const uint32_t w[4] = {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1};
    kat_(c, k, w);
  }
  /* The (seed, stream, index) mapping: counter = (index lo, hi, stream lo, hi),
   * key = (seed lo, hi); u64 = out[1]:out[0]. */
  {
    const uint32_t c[4] = {0x13198a2e, 0x03707344, 0x243f6a88, 0x85a308d3};
    const uint32_t k[2] = {0xa4093822, 0x299f31d0};
    uint32_t o[4];
    subq_philox4x32_10(c, k, o);
    uint64_t want = ((uint64_t)o[1] << 32) | o[0];
    CHECK(subq_rng_u64(0x299f31d0a4093822ull, 0x85a308d3243f6a88ull, 0x0370734413198a2eull) == want);
  }
  /* Moments of 10^6 draws: mean within 5 sigma of the standard error. */
  const size_t n = 1000000;
  double s1 = 0, s2 = 0, u1 = 0, r1 = 0, s4 = 0;
  long below[10] = {0};
  for (size_t i = 0; i < n; i++) {
    double g = subq_rng_gauss(7, 3, i), u = subq_rng_uniform(7, 4, i);
    s1 += g;
    s2 += g * g;
    s4 += g * g * g * g;
    u1 += u;
    r1 += subq_rng_rademacher(7, 5, i);
    below[subq_rng_below(7, 6, i, 10)]++;
    CHECK(u > 0 && u < 1);
  }
  CHECK(fabs(s1 / n) < 5 / sqrt((double)n));
  CHECK(fabs(s2 / n - 1) < 5 * sqrt(2.0 / n));
  CHECK(fabs(s4 / n - 3) < 5 * sqrt(96.0 / n)); /* Var(g^4) = 105 - 9 = 96 */
  CHECK(fabs(u1 / n - 0.5) < 5 * sqrt(1.0 / 12 / n));
  CHECK(fabs(r1 / n) < 5 / sqrt((double)n));
  for (int b = 0; b < 10; b++) CHECK(fabs(below[b] / (double)n - 0.1) < 5 * sqrt(0.09 / n));
  /* Bulk fill equals the single draws (any thread split). */
  double buf[100];
  subq_rng_fill_gauss(9, 1, 1000, 100, buf);
  for (int i = 0; i < 100; i++) CHECK(buf[i] == subq_rng_gauss(9, 1, 1000 + (uint64_t)i));
  /* Different seeds and streams give different sequences. */
  CHECK(subq_rng_u64(1, 0, 0) != subq_rng_u64(2, 0, 0));
  CHECK(subq_rng_u64(1, 0, 0) != subq_rng_u64(1, 1, 0));
  CHECK_FINISH();
}
