// Differentiable warp family: bilinear warping by a flow field, N-shot fusion and pixel
// shuffle (kernels in kernels/warp.h). Images are NHWC.
#pragma once

#include <cstdint>

#include "runtime/tensor.h"

namespace fh {

// FlowNet2's Resample2d: out(n,y,x,:) = bilinear(src(n), x + dx, y + dy), (dx, dy) =
// flow(n,y,x,0:2) in pixels, the sample point clamped to the border (PyTorch's grid_sample
// with border padding and align_corners=True). src [N,H,W,C], flow [N,H,W,2] -> [N,H,W,C].
// Gradients to src and flow; the flow's gradient is zero along an axis where the sample
// point was clamped. On a one-pixel axis (W = 1 or H = 1) every coordinate clamps to it.
Tensor warp(const Tensor& src, const Tensor& flow);

// Σ_j softmax_j(m) · x_j, the softmax over the M sources per pixel: m [N,M,H,W,1],
// x [N,M,H,W,C] -> [N,H,W,C]. Gradients to m and x.
Tensor nshot_fusion(const Tensor& m, const Tensor& x);

// [N,H,W,C·r²] -> [N,H·r,W·r,C] in PyTorch's channel order, and its inverse.
Tensor pixel_shuffle(const Tensor& x, int64_t r);
Tensor pixel_unshuffle(const Tensor& x, int64_t r);

}  // namespace fh
