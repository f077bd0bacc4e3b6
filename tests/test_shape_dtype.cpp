#include <doctest/doctest.h>

#include <bit>
#include <cmath>

#include "runtime/dtype.h"
#include "runtime/error.h"
#include "runtime/shape.h"

using fh::Shape;

TEST_CASE("shape basics: numel, strides, wrap_dim, str") {
  const Shape s{2, 3, 4};
  CHECK(s.numel() == 24);
  CHECK(s.strides() == std::vector<int64_t>{12, 4, 1});
  CHECK(s.wrap_dim(-1, "t") == 2);
  CHECK(s.str() == "[2, 3, 4]");
  CHECK(Shape{}.numel() == 1);
  CHECK_THROWS_AS(s.wrap_dim(3, "t"), fh::Error);
  Shape t = s;
  t.insert(1, 7);
  CHECK(t == Shape{2, 7, 3, 4});
  t.erase(0);
  CHECK(t == Shape{7, 3, 4});
}

TEST_CASE("broadcast_shapes follows NumPy rules") {
  CHECK(fh::broadcast_shapes({3, 1, 5}, {4, 1}, "t") == Shape{3, 4, 5});
  CHECK(fh::broadcast_shapes({}, {2, 2}, "t") == Shape{2, 2});
  CHECK(fh::broadcast_shapes({1}, {0}, "t") == Shape{0});
  CHECK_THROWS_WITH_AS(fh::broadcast_shapes({2, 3}, {4, 3}, "add"),
                       doctest::Contains("add: shapes [2, 3] and [4, 3] cannot be broadcast together"), fh::Error);
}

TEST_CASE("float16 conversion: known values and an exhaustive round trip") {
  CHECK(fh::float_to_half(1.0f) == 0x3c00);
  CHECK(fh::float_to_half(-2.0f) == 0xc000);
  CHECK(fh::float_to_half(65504.0f) == 0x7bff);
  CHECK(fh::float_to_half(65520.0f) == 0x7c00);       // ties to even -> overflow to inf
  CHECK(fh::float_to_half(std::ldexp(1.0f, -24)) == 0x0001);  // smallest subnormal
  CHECK(fh::float_to_half(std::ldexp(1.0f, -25)) == 0x0000);  // tie to even -> 0
  CHECK(fh::float_to_half(0.1f) == 0x2e66);
  CHECK(fh::float_to_half(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);  // tie -> even (down)
  CHECK(fh::float_to_half(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3c02);  // tie -> even (up)
  CHECK(std::isnan(fh::half_to_float(fh::float_to_half(NAN))));
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = fh::half_to_float(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    REQUIRE(fh::float_to_half(f) == h);
  }
}

TEST_CASE("bfloat16 conversion rounds to nearest even") {
  CHECK(fh::float_to_bfloat16(1.0f) == 0x3f80);
  CHECK(fh::bfloat16_to_float(0x3f80) == 1.0f);
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even -> 1.
  CHECK(fh::float_to_bfloat16(1.0f + std::ldexp(1.0f, -8)) == 0x3f80);
  CHECK(fh::float_to_bfloat16(1.0f + 3 * std::ldexp(1.0f, -8)) == 0x3f82);
  CHECK(std::isnan(fh::bfloat16_to_float(fh::float_to_bfloat16(NAN))));
  for (uint32_t b = 0; b < 0x10000; ++b) {
    const float f = fh::bfloat16_to_float(static_cast<uint16_t>(b));
    if (std::isnan(f)) continue;
    REQUIRE(fh::float_to_bfloat16(f) == b);
  }
}
