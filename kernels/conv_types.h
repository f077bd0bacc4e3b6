// Parameter types of the conv family's backend contract (kernels/backend/conv.inc).
#pragma once

#include <cstdint>

namespace fh::kernels {

// A 2-d convolution in freehead's layout: input [N, H, W, Cin] (NHWC), weight
// [Cout, kh, kw, Cin], optional bias [Cout], output [N, Ho, Wo, Cout] with
// Ho = (H + 2·pad - kh) / stride + 1 (likewise Wo). Zero padding, the same on every side.
struct Conv2dParams {
  int64_t N = 0, H = 0, W = 0, Cin = 0;
  int64_t Cout = 0, kh = 0, kw = 0;
  int64_t stride = 1, pad = 0;
  int64_t Ho = 0, Wo = 0;
};

}  // namespace fh::kernels
