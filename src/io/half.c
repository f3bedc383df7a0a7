/* subq io: element sizes and IEEE 754 binary16 <-> binary32 conversion.
 *
 * binary16: 1 sign bit, 5 exponent bits (bias 15), 10 fraction bits; exponent 0 holds
 * zero and subnormals (fraction * 2^-24), exponent 31 holds inf (fraction 0) and NaN.
 * float -> half rounds to nearest, ties to even (IEEE 754-2008 default rounding), gives
 * +-inf for |f| >= 65520 (the midpoint between 65504, the largest half, and 2^16), and
 * keeps NaN a (quiet) NaN with the top fraction bits of the float. */
#include <string.h>

#include "subq/io.h"

size_t subq_dtype_size(subq_dtype_t t) {
  switch (t) {
  case SUBQ_F64: return 8;
  case SUBQ_F32: return 4;
  case SUBQ_F16: return 2;
  case SUBQ_U8: return 1;
  }
  return 0;
}

float subq_half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu, bits;
  float f;
  if (e == 0) {
    f = (float)m * 0x1p-24f; /* zero or subnormal: exact in float */
    memcpy(&bits, &f, 4);
    bits |= sign;
  } else if (e == 31) {
    bits = sign | 0x7f800000u | (m << 13); /* inf, or NaN with its payload */
  } else {
    bits = sign | ((e + 112u) << 23) | (m << 13); /* rebias 15 -> 127 */
  }
  memcpy(&f, &bits, 4);
  return f;
}

uint16_t subq_float_to_half(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
  uint32_t a = x & 0x7fffffffu;
  if (a >= 0x7f800000u) { /* inf or NaN */
    if (a == 0x7f800000u) return sign | 0x7c00u;
    return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu)); /* quiet NaN */
  }
  if (a >= 0x477ff000u) return sign | 0x7c00u; /* >= 65520 rounds to inf */
  if (a < 0x38800000u) {                         /* below 2^-14: subnormal or zero */
    uint32_t e = a >> 23;
    if (e < 102) return sign; /* < 2^-25: rounds to zero */
    uint32_t m = (a & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126u - e; /* 14..24 */
    uint32_t r = m >> shift, rem = m & ((1u << shift) - 1u), halfway = 1u << (shift - 1u);
    if (rem > halfway || (rem == halfway && (r & 1u))) r++;
    return (uint16_t)(sign | r); /* r == 0x400 is the smallest normal: still correct */
  }
  uint32_t r = (a - 0x38000000u) >> 13; /* rebias 127 -> 15, drop 13 fraction bits */
  uint32_t rem = a & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) r++; /* a carry bumps the exponent */
  return (uint16_t)(sign | r);
}
