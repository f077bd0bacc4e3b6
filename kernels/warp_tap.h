// Where the bilinear warp samples along one axis: written once for the CPU and the CUDA
// kernels (kernels/cpu/warp.cpp, kernels/cuda/warp.cu), so that both place the sample point
// and compute its weights the same way, bit for bit.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/host_device.h"


namespace fh::kernels {

// Where pixel `pos` + displacement d lands along an axis of `size` pixels: the sample
// coordinate, clamped to [0, size-1], lies between pixels i0 and i0 + step at fraction w
// from i0 (step is 0 on a one-pixel axis, where everything clamps to pixel 0).
// `interior`: strictly inside (0, size-1), the only case where the coordinate's gradient
// flows; on or beyond the border it is zero, as in PyTorch's border padding.
//
// The coordinate pos + d is never formed in floating point, where it would round by half an
// ulp of the image size: d splits into floor(d), an integer that joins pos as one, and
// w = d - floor(d), which is exact (Sterbenz) except for -1/2 < d < 0, where 1 + d rounds by
// at most half an ulp of 1. So the weights are as exact as the flow, however large the
// image, and an integer coordinate is recognised as one. A NaN d gives w = NaN (so NaN
// outputs) and reads pixel 0.
template <class T>
struct AxisTap {
  int64_t i0, step;
  T w;
  bool interior;
};

// floor() of the float or double function, on the device (floorf / floor) and the host.
template <class T>
FH_HOST_DEVICE T floor_of(T v) {
#if defined(__CUDA_ARCH__)
  if constexpr (std::is_same_v<T, float>) {
    return floorf(v);
  } else {
    return floor(v);
  }
#else
  return std::floor(v);
#endif
}

template <class T>
FH_HOST_DEVICE AxisTap<T> axis_tap(int64_t pos, T d, int64_t size) {
  const int64_t last = size - 1, step = size > 1 ? 1 : 0;
  if (d != d) return {0, step, d, false};
  const T k = floor_of(d);
  // pos + k < 0: clamped to pixel 0. Compared as floats, so that huge or infinite d never
  // reaches the integer conversion.
  if (k < -static_cast<T>(pos)) return {0, step, T(0), false};
  // pos + k ≥ last: clamped to the last pixel, reached from the one before it with w = 1.
  if (k >= static_cast<T>(last - pos)) return {last - 1 > 0 ? last - 1 : 0, step, static_cast<T>(step), false};
  const int64_t i0 = pos + static_cast<int64_t>(k);
  const T w = d - k;
  return {i0, 1, w, i0 > 0 || w > T(0)};
}

}  // namespace fh::kernels

