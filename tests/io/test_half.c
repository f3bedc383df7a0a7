/* IEEE binary16 conversion against known bit patterns (IEEE 754-2008 table of binary16
 * values: 0x3C00 = 1, 0x7BFF = 65504 (max), 0x0400 = 2^-14 (min normal), 0x0001 = 2^-24
 * (min subnormal), 0x03FF = 1023 * 2^-24 (max subnormal), 0x3555 ~ 1/3, 0x2E66 = nearest
 * to 0.1) and the round-to-nearest-even ties, plus the exhaustive check that every
 * non-NaN half survives half -> float -> half. */
#include <stdint.h>
#include <string.h>

#include "check.h"

static uint32_t fbits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

int main(int argc, char **argv) {
  subq_init(&argc, &argv);
  /* half -> float */
  CHECK(subq_half_to_float(0x3C00) == 1.0f);
  CHECK(subq_half_to_float(0xC000) == -2.0f);
  CHECK(subq_half_to_float(0x7BFF) == 65504.0f);
  CHECK(subq_half_to_float(0x0400) == 0x1p-14f);
  CHECK(subq_half_to_float(0x0001) == 0x1p-24f);
  CHECK(subq_half_to_float(0x03FF) == 1023.0f * 0x1p-24f);
  CHECK(subq_half_to_float(0x3555) == 0.333251953125f);
  CHECK(subq_half_to_float(0x3BFF) == 0.99951171875f);
  CHECK(subq_half_to_float(0x2E66) == 0.0999755859375f);
  CHECK(fbits(subq_half_to_float(0x0000)) == 0x00000000u);
  CHECK(fbits(subq_half_to_float(0x8000)) == 0x80000000u); /* -0 */
  CHECK(isinf(subq_half_to_float(0x7C00)) && subq_half_to_float(0x7C00) > 0);
  CHECK(isinf(subq_half_to_float(0xFC00)) && subq_half_to_float(0xFC00) < 0);
  CHECK(isnan(subq_half_to_float(0x7E00)));
  CHECK(isnan(subq_half_to_float(0x7C01))); /* signalling-NaN pattern is still NaN */

  /* float -> half */
  CHECK(subq_float_to_half(1.0f) == 0x3C00);
  CHECK(subq_float_to_half(-2.0f) == 0xC000);
  CHECK(subq_float_to_half(65504.0f) == 0x7BFF);
  CHECK(subq_float_to_half(65519.0f) == 0x7BFF);  /* below the midpoint 65520 */
  CHECK(subq_float_to_half(65520.0f) == 0x7C00);  /* midpoint: ties to even = inf */
  CHECK(subq_float_to_half(1e6f) == 0x7C00);
  CHECK(subq_float_to_half(-1e6f) == 0xFC00);
  CHECK(subq_float_to_half(0.1f) == 0x2E66);
  CHECK(subq_float_to_half(1.0f / 3.0f) == 0x3555);
  CHECK(subq_float_to_half(0x1p-14f) == 0x0400);
  CHECK(subq_float_to_half(0x1p-24f) == 0x0001);
  CHECK(subq_float_to_half(0x1p-25f) == 0x0000);          /* tie 0 vs 2^-24: even is 0 */
  CHECK(subq_float_to_half(0x1.0002p-25f) == 0x0001);     /* just above the tie */
  CHECK(subq_float_to_half(3 * 0x1p-25f) == 0x0002);      /* tie 1 vs 2: even is 2 */
  CHECK(subq_float_to_half(1023.5f * 0x1p-24f) == 0x0400); /* tie 0x3FF vs 0x400 */
  CHECK(subq_float_to_half(1e-10f) == 0x0000);
  CHECK(subq_float_to_half(-1e-10f) == 0x8000);
  CHECK(subq_float_to_half(1.0f + 0x1p-11f) == 0x3C00);     /* tie: 0x3C00 is even */
  CHECK(subq_float_to_half(1.0f + 3 * 0x1p-11f) == 0x3C02); /* tie: 0x3C02 is even */
  CHECK(subq_float_to_half(1.0f + 0x1.8p-11f) == 0x3C01);   /* above the tie */
  CHECK(subq_float_to_half(2047.5f) == 0x6800);             /* 2048, carry into exponent */
  CHECK(subq_float_to_half(-0.0f) == 0x8000);
  CHECK(subq_float_to_half(INFINITY) == 0x7C00);
  CHECK(subq_float_to_half(-INFINITY) == 0xFC00);
  uint16_t hn = subq_float_to_half(NAN);
  CHECK((hn & 0x7C00) == 0x7C00 && (hn & 0x03FF) != 0);

  /* Exhaustive: every non-NaN half round-trips, and positive halves are increasing. */
  int bad = 0;
  float prev = -1.0f;
  for (uint32_t h = 0; h < 0x10000; h++) {
    float f = subq_half_to_float((uint16_t)h);
    if (isnan(f)) continue;
    if (subq_float_to_half(f) != h) bad++;
    if (h <= 0x7C00) {
      if (!(f > prev)) bad++;
      prev = f;
    }
  }
  CHECK(bad == 0);
  CHECK(subq_dtype_size(SUBQ_F64) == 8 && subq_dtype_size(SUBQ_F32) == 4 &&
        subq_dtype_size(SUBQ_F16) == 2 && subq_dtype_size(SUBQ_U8) == 1);
  CHECK_FINISH();
}
