// Random flow fields for the warp tests.
//
// warp's output is piecewise bilinear in the sample point: its derivative with respect to
// the flow jumps where x + dx or y + dy crosses an integer (a pixel boundary, including the
// borders 0 and size - 1 where clamping starts). Central differences straddling a jump, or
// a reference whose coordinate rounds to the other side of one, would disagree with a
// correct gradient; so, as the relu checks keep inputs away from 0, these flows keep every
// sample coordinate at least `margin` from an integer. Coordinates far outside the image
// clamp to the border, where the flow's gradient is exactly zero on both sides.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "runtime/random.h"
#include "tests/harness/random_inputs.h"

namespace fh::test {

enum class FlowRange {
  Small,     // |d| < 1.5 pixels: mostly inside the image
  Image,     // |d| up to the image size: some points clamp
  Far,       // 5 to 20 image sizes away: everything clamps
  Mixed,     // each pixel picks one of the above
};

// Returns d, or d + 2·margin when pixel + d (evaluated exactly, in double) lies within
// `margin` of an integer. d is a T, so the shifted value is rounded to T.
template <class T>
inline T away_from_integers(int64_t pixel, T d, double margin) {
  const double u = static_cast<double>(pixel) + static_cast<double>(d);
  const double frac = u - std::floor(u);
  if (frac < margin || frac > 1.0 - margin) return static_cast<T>(static_cast<double>(d) + 2.0 * margin);
  return d;
}

// A flow [N, H, W, 2] (channel 0 = dx, 1 = dy) of dtype `dtype`.
inline Tensor random_flow(Generator& gen, int64_t N, int64_t H, int64_t W, FlowRange range, DType dtype,
                          double margin = 1e-3) {
  const int64_t pixels = N * H * W;
  const std::vector<double> u = rand(Shape{pixels, 4}, gen, 0.0, 1.0, DType::F64).to_vector<double>();
  std::vector<double> flow(static_cast<size_t>(2 * pixels));
  for (int64_t p = 0; p < pixels; ++p) {
    const int64_t y = (p / W) % H, x = p % W;
    FlowRange r = range;
    if (r == FlowRange::Mixed) r = u[4 * p + 3] < 0.5 ? FlowRange::Small : (u[4 * p + 3] < 0.8 ? FlowRange::Image : FlowRange::Far);
    for (int axis = 0; axis < 2; ++axis) {
      const double size = static_cast<double>(axis == 0 ? W : H), s = 2.0 * u[4 * p + axis] - 1.0;  // in [-1, 1)
      double d = 0;
      switch (r) {
        case FlowRange::Small: d = 1.5 * s; break;
        case FlowRange::Image: d = size * s; break;
        default: d = (s < 0 ? -1.0 : 1.0) * size * (5.0 + 15.0 * u[4 * p + 2]); break;
      }
      const int64_t pixel = axis == 0 ? x : y;
      d = dtype == DType::F32 ? static_cast<double>(away_from_integers<float>(pixel, static_cast<float>(d), margin))
                              : away_from_integers<double>(pixel, d, margin);
      flow[2 * p + axis] = d;
    }
  }
  const Tensor t = Tensor::from_vector(flow, Shape{N, H, W, 2});
  return dtype == DType::F64 ? t : t.to(dtype);
}

}  // namespace fh::test
