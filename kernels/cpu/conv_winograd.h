// 3x3 stride-1 pad-1 convolutions by Winograd's minimal filtering F(m×m, 3×3), m = 2 or 4.
// Each m×m output tile is computed from a (m+2)×(m+2) input patch: transform the patch
// (Bᵀ d B), multiply each of its (m+2)² transformed positions by the transformed weight
// (G g Gᵀ) summed over input channels, and fold the products back into the m×m outputs
// (Aᵀ M A). Per (input, output) channel pair an output pixel then costs 16/4 = 4 multiplies
// for F(2×2) and 36/16 = 2.25 for F(4×4), against 9 for the direct product. Over a chunk of
// tiles the (m+2)² position-wise products are GEMMs [tiles, Cin]·[Cin, Cout]. The forward
// transforms the weight a block of 64 output channels at a time inside the task that
// multiplies by it, with a register-blocked product (register_product.h), and folds its own
// products back into outputs, so the transformed weight and the products stay in the core's
// cache; conv2d_winograd_eigen is the first version (the whole transformed weight, Eigen
// GEMMs), kept to measure against.
//
// Both tile sizes are kept: F(4×4) does the fewest multiplies and moves the least
// transformed data per output, and is what conv2d picks (winograd_tile) from 16 pixels and
// 16 channels (from 8 pixels at 128 channels and more), by measurement on the generator's
// and the gaze network's layers, and under 16 pixels where a training batch gives enough
// tiles; F(2×2) rounds about ten times less and wastes less on images whose sides are not
// multiples of 4 (2² layers of a training batch). Fewer tiles and narrower layers keep the
// direct path, where the weight transform is shared by too few tiles.
//
// Float32 only. conv2d's forward takes it, and so does the input gradient of such a layer
// (itself a 3x3 stride-1 pad-1 convolution, of grad_out by the flipped, transposed weight).
// The weight gradient takes the transposed algorithm: d<y, g>/dw = Gᵀ[(A g Aᵀ) ⊙ (Bᵀ d B)]G
// summed over tiles, one GEMM [Cout, tiles]·[tiles, Cin] per transformed position.
//
// Every value is computed by one task in an order fixed by the shapes, so results do not
// depend on the thread count. Precision: each position's GEMM sums Cin terms, whose rounding
// the output transform amplifies by up to 5 for F(2×2) and 94 for F(4×4) (coefficients up
// to 8 and fractions like 1/24), against the direct product's 9·Cin-term sums: F(2×2) errs
// about as the direct path does, F(4×4) about ten times more (tests/test_conv_winograd.cpp
// derives the factors and checks both). On the networks that stays well inside the PyTorch
// parity tolerance (tests/test_network_parity.cpp).
#pragma once

#include "kernels/conv_types.h"
#include "runtime/tensor.h"

namespace fh::kernels::cpu {

// The output tile side conv2d, a stride-1 layer's input gradient (a convolution of grad_out)
// and conv2d_backward_weight use for these parameters: 4, 2, or 0 for the direct path. The
// batch counts: the weight transform is shared by the tiles of every image.
int winograd_tile(const Conv2dParams& p);

// Whether a Winograd tile size can compute this layer at all (3x3, stride 1, pad 1).
bool winograd_possible(const Conv2dParams& p);

// x [N,H,W,Cin], w [Cout,3,3,Cin], bias [Cout] or null, out [N,H,W,Cout]; tile is 2 or 4
// and winograd_possible(p) must hold.
void conv2d_winograd(const float* x, const float* w, const float* bias, const Conv2dParams& p, int tile, float* out);

// The same by the first version (the whole weight transformed up front, one Eigen GEMM per
// position): the same transformed values, summed in another order.
void conv2d_winograd_eigen(const float* x, const float* w, const float* bias, const Conv2dParams& p, int tile,
                           float* out);

// grad_w [Cout,3,3,Cin] = d<conv2d(x, w), grad_out>/dw by the same tiles (the transposed
// transforms); grad_out [N,H,W,Cout], x [N,H,W,Cin].
void conv2d_backward_weight_winograd(const float* grad_out, const float* x, const Conv2dParams& p, int tile,
                                     float* grad_w);

// The direct paths (tiled column-matrix GEMMs, kernels/cpu/conv.cpp, conv_weight_grad.cpp)
// that conv2d and conv2d_backward_weight take when winograd_tile is 0, callable on their own
// for the tests and benchmarks that compare the algorithms.
void conv2d_direct(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p, Tensor& out);
void conv2d_backward_weight_direct(const Tensor& grad_out, const Tensor& x, const Conv2dParams& p, Tensor& grad_w);

}  // namespace fh::kernels::cpu
