// 3x3 stride-1 convolutions by Winograd's minimal filtering F(2x2, 3x3): each 2x2 output
// tile costs 16 multiplies per (input, output) channel pair instead of 36, so the GEMM work
// of the wide 3x3 layers drops by 2.25x. Over a chunk of tiles: transform the 4x4 input
// patches (Bᵀ d B), multiply each of the 16 transformed positions by the transformed weight
// (G g Gᵀ) as one GEMM over the whole chunk (so each weight matrix is packed once per
// chunk), and fold the products back into 2x2 outputs (Aᵀ m A).
//
// Float32 forward only, for layers wide enough to gain (narrow ones are bound by the
// transforms' memory traffic); the weight and input gradients keep the direct path. Every
// value is computed by one task in an order fixed by the shapes, so results do not depend
// on the thread count. The transforms add a few ulps of rounding over the direct product.
#pragma once

#include "kernels/conv_types.h"

namespace fh::kernels::cpu {

// Whether conv2d takes the Winograd path for these parameters.
bool winograd_applies(const Conv2dParams& p);

// x [N,H,W,Cin], w [Cout,3,3,Cin], bias [Cout] or null, out [N,H,W,Cout].
void conv2d_winograd(const float* x, const float* w, const float* bias, const Conv2dParams& p, float* out);

}  // namespace fh::kernels::cpu
