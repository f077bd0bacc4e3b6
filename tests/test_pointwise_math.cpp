// The CPU backend's vectorised float32 functions against float64 references, over a sweep
// of float bit patterns covering every exponent and sign: exp, tanh and sigmoid
// (kernels/cpu/vector_math.h, plus dense runs around the points where their formulas
// change), and the sin and cos kernels (Eigen's SIMD versions).
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <vector>

#include "kernels/cpu/vector_math.h"
#include "kernels/pointwise.h"

namespace vmath = fh::kernels::cpu::vmath;

namespace {

// |got - ref| in units of the float spacing at ref. Below the smallest normal float the unit
// is `tiny_unit`: the denormal spacing 2^-149 where a function keeps denormal results, or
// larger where the float formula cannot form them. NaN must match NaN, infinities exactly.
double ulp_error(float got, double ref, double tiny_unit) {
  if (std::isnan(ref)) return std::isnan(got) ? 0.0 : INFINITY;
  // Beyond the largest float, the correctly rounded result is an infinity.
  const float rounded = static_cast<float>(ref);
  if (std::isinf(rounded) || std::isinf(got)) return got == rounded ? 0.0 : INFINITY;
  const double magnitude = std::abs(ref);
  const double spacing = magnitude >= std::numeric_limits<float>::min() ? std::ldexp(1.0, std::ilogb(magnitude) - 23)
                                                                          : tiny_unit;
  return std::abs(static_cast<double>(got) - ref) / spacing;
}

struct Worst {
  double ulp = 0;
  float at = 0;
  void update(double e, float x) {
    if (!(e <= ulp)) ulp = e, at = x;
  }
};

constexpr double kDenormalSpacing = 0x1p-149;

template <class Fn, class Ref>
Worst sweep(Fn fn, Ref ref, double tiny_unit = kDenormalSpacing) {
  Worst w;
  auto check = [&](float x) { w.update(ulp_error(fn(x), ref(static_cast<double>(x)), tiny_unit), x); };
  // Every 4099th bit pattern: all signs and exponents, NaN and infinities included.
  for (uint64_t bits = 0; bits < (uint64_t{1} << 32); bits += 4099) check(std::bit_cast<float>(static_cast<uint32_t>(bits)));
  // Dense runs at the formulas' seams: 0, the tanh switch at ±0.625, overflow and underflow.
  for (float centre : {0.0f, 0.625f, -0.625f, 88.72f, -87.33f, -103.97f, 9.0f}) {
    float x = centre;
    for (int i = 0; i < 20000; ++i) x = std::nextafter(x, -INFINITY);
    for (int i = 0; i < 40000; ++i, x = std::nextafter(x, INFINITY)) check(x);
  }
  return w;
}

void report(const char* name, const Worst& w, double limit) {
  std::ostringstream os;
  os << name << ": worst " << w.ulp << " ulp at x = " << w.at;
  INFO(os.str());
  MESSAGE(os.str());
  CHECK(w.ulp <= limit);
}

}  // namespace

TEST_CASE("vector math: float32 exp, tanh and sigmoid are within 2 ulp") {
  report("exp", sweep([](float x) { return vmath::exp(x); }, [](double x) { return std::exp(x); }), 2.0);
  report("tanh", sweep([](float x) { return vmath::tanh(x); }, [](double x) { return std::tanh(x); }), 2.0);
  // Where e^-x overflows float (x < -88.7), 1/(1 + e^-x) is a denormal that the float
  // formula (PyTorch's too) gives as 0: below the smallest normal, count in its units.
  report("sigmoid",
         sweep([](float x) { return vmath::sigmoid(x); }, [](double x) { return 1.0 / (1.0 + std::exp(-x)); },
               std::numeric_limits<float>::min()),
         2.0);
  CHECK(vmath::exp(-INFINITY) == 0.0f);
  CHECK(vmath::exp(INFINITY) == INFINITY);
  CHECK(vmath::tanh(-0.0f) == 0.0f);
  CHECK(std::signbit(vmath::tanh(-0.0f)));
  CHECK(vmath::tanh(-INFINITY) == -1.0f);
  CHECK(vmath::sigmoid(-INFINITY) == 0.0f);
}

TEST_CASE("vector math: float32 sin and cos kernels are within 2 ulp") {
  std::vector<float> xs;
  for (uint64_t bits = 0; bits < (uint64_t{1} << 32); bits += 4099) xs.push_back(std::bit_cast<float>(static_cast<uint32_t>(bits)));
  for (float v : {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-40f, 3.14159265f, 1e30f}) xs.push_back(v);
  const fh::Tensor x = fh::Tensor::from_vector<float>(xs, {static_cast<int64_t>(xs.size())});
  namespace k = fh::kernels;
  const std::vector<float> s = k::activation(k::ActivationOp::Sin, x).to_vector<float>();
  const std::vector<float> c = k::activation(k::ActivationOp::Cos, x).to_vector<float>();
  Worst ws, wc;
  for (size_t i = 0; i < xs.size(); ++i) {
    ws.update(ulp_error(s[i], std::sin(static_cast<double>(xs[i])), kDenormalSpacing), xs[i]);
    wc.update(ulp_error(c[i], std::cos(static_cast<double>(xs[i])), kDenormalSpacing), xs[i]);
  }
  report("sin", ws, 2.0);
  report("cos", wc, 2.0);
  CHECK(std::signbit(s[xs.size() - 7]));  // sin(-0) = -0
}
