// Branch-free float32 exp, tanh and sigmoid that the compiler vectorises when they are
// called in a plain loop (the C library's versions are opaque calls, one element at a
// time). Accuracy: within 2 ulp of the correctly rounded result over the whole float range
// (tests/test_pointwise_math.cpp checks this against float64 references). Infinities and
// NaN behave as in <cmath>. Float64, used by the gradient checks, goes to <cmath>.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace fh::kernels::cpu::vmath {

// e^x. x = n·ln2 + r with |r| <= ln2/2; e^r by its degree-7 Taylor polynomial (truncation
// below 1e-8 relative); 2^n applied as two exponent-field scales so that results near the
// overflow and denormal ends are formed without an intermediate overflow.
inline float exp(float x) {
  // Beyond these every result is inf or 0 already; the clamp keeps n within the scales' range.
  x = x < -104.0f ? -104.0f : x;
  x = x > 89.0f ? 89.0f : x;
  // Round x·log2(e) to an integer by adding 1.5·2^23: the float's low mantissa bits are then n.
  constexpr float kRound = 12582912.0f;
  const float shifted = x * 1.44269504088896341f + kRound;
  const float n = shifted - kRound;
  const int32_t ni = std::bit_cast<int32_t>(shifted) - std::bit_cast<int32_t>(kRound);
  // ln2 split into a head with few mantissa bits (n·head is exact) and the remainder.
  const float r = (x - n * 0.693145751953125f) - n * 1.428606765330187e-6f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t half = ni >> 1;  // n in [-150, 128]: both halves stay inside the exponent range
  const float scale_a = std::bit_cast<float>((half + 127) << 23);
  const float scale_b = std::bit_cast<float>((ni - half + 127) << 23);
  return p * scale_a * scale_b;
}

// tanh x. Near 0 an odd polynomial (tanh(x)/x - 1 fitted in x² on [0, 0.625] by weighted
// least squares, relative error below 5e-9); beyond, 1 - 2/(e^{2|x|} + 1), which has no
// cancellation there. The sign is copied from x.
inline float tanh(float x) {
  const uint32_t sign = std::bit_cast<uint32_t>(x) & 0x80000000u;
  const float a = std::bit_cast<float>(std::bit_cast<uint32_t>(x) & 0x7fffffffu);
  const float a2 = a * a;
  float p = -0.005718962565f;
  p = p * a2 + 0.020653124519f;
  p = p * a2 - 0.053744657902f;
  p = p * a2 + 0.133315126650f;
  p = p * a2 - 0.333332852196f;
  const float small = a + a * (a2 * p);
  const float large = 1.0f - 2.0f / (exp(2.0f * a) + 1.0f);
  // NaN fails the comparison and takes the `large` side, which is NaN.
  const float t = a < 0.625f ? small : large;
  return std::bit_cast<float>(std::bit_cast<uint32_t>(t) | sign);
}

// 1 / (1 + e^-x). Rounding 1 + e^-x loses up to half an ulp of a number near 2, which is
// two ulp of a result near 0.5; the lost part is recovered exactly (big - sum + small) and
// folded into the reciprocal to first order. e^-x overflows to inf for very negative x,
// giving 0 (NaN correction terms are discarded there).
inline float sigmoid(float x) {
  const float e = exp(-x);
  const float sum = 1.0f + e;
  const float big = e > 1.0f ? e : 1.0f, small = e > 1.0f ? 1.0f : e;
  const float lost = (big - sum) + small;
  const float r = 1.0f / sum;
  const float corrected = r - r * (r * lost);
  return e < 1e30f ? corrected : r;
}

inline double exp(double x) { return std::exp(x); }
inline double tanh(double x) { return std::tanh(x); }
inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace fh::kernels::cpu::vmath
