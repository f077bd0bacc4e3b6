// Device-agnostic entry points of the warp family (backend contract: kernels/backend/warp.inc):
// bilinear warping by a flow field, softmax-weighted N-shot fusion and pixel shuffle, with
// their backward kernels. Images are NHWC; float32 or float64. Autograd wrappers are in
// autograd/warp.h.
#pragma once

#include <cstdint>

#include "runtime/tensor.h"

namespace fh::kernels {

// FlowNet2's Resample2d: out(n,y,x,:) = bilinear(src(n), x + dx, y + dy) with (dx, dy) =
// flow(n,y,x,0:2) in pixels and the sample point clamped to [0, W-1] × [0, H-1] — PyTorch's
// grid_sample(bilinear, padding_mode='border', align_corners=True). On a one-pixel axis
// (W = 1 or H = 1) every coordinate clamps to that pixel. src [N,H,W,C], flow [N,H,W,2].
Tensor warp(const Tensor& src, const Tensor& flow);
// The gradient of warp with respect to src (a deterministic scatter), [N,H,W,C].
Tensor warp_backward_src(const Tensor& flow, const Tensor& grad_out);
// The gradient of warp with respect to flow, [N,H,W,2]; zero along an axis where the sample
// point was clamped (on or beyond the border).
Tensor warp_backward_flow(const Tensor& src, const Tensor& flow, const Tensor& grad_out);

// out(n,h,w,:) = Σ_j softmax_j(m(n,:,h,w,0)) · x(n,j,h,w,:). m [N,M,H,W,1], x [N,M,H,W,C]
// (M ≥ 1 sources), out [N,H,W,C]. With M = 1 the weight is 1 and out = x.
Tensor nshot_fusion(const Tensor& m, const Tensor& x);
// Gradients of nshot_fusion with respect to x ([N,M,H,W,C]) and m ([N,M,H,W,1]).
Tensor nshot_fusion_backward_x(const Tensor& m, const Tensor& grad_out);
Tensor nshot_fusion_backward_m(const Tensor& m, const Tensor& x, const Tensor& grad_out);

// [N,H,W,C·r²] -> [N,H·r,W·r,C] in PyTorch's channel order (NCHW: out[n,c,h·r+i,w·r+j] =
// in[n, c·r²+i·r+j, h, w]); r ≥ 1.
Tensor pixel_shuffle(const Tensor& x, int64_t r);
// The inverse: [N,H·r,W·r,C] -> [N,H,W,C·r²]; H and W must be multiples of r.
Tensor pixel_unshuffle(const Tensor& x, int64_t r);

}  // namespace fh::kernels
