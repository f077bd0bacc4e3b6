// Device-agnostic entry points of the pool family: pooling and nearest-neighbour resizing
// of NHWC images, each with the backward kernel its autograd node calls (the shape ops that
// share its backend are in kernels/shape_ops.h). They validate operands (errors name the op
// and every shape), allocate outputs and dispatch to the backends (kernels/backend/pool.inc).
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/pool_types.h"
#include "runtime/tensor.h"

namespace fh::kernels {

// ---- Pooling (x is NHWC [N, H, W, C], float32 or float64) --------------------------------
// Windows need kernel >= 1, stride >= 1, 0 <= padding <= kernel / 2 (as PyTorch), and must
// fit the padded input: output size floor((in + 2·pad - kernel) / stride) + 1 >= 1.

// [N, OH, OW, C]: window means; the divisor counts padding when count_include_pad.
Tensor avg_pool2d(const Tensor& x, const PoolWindow& window, bool count_include_pad);
Tensor avg_pool2d_backward(const Tensor& grad_out, const Shape& input_shape, const PoolWindow& window,
                           bool count_include_pad);

struct MaxPoolResult {
  Tensor output;   // [N, OH, OW, C]
  Tensor indices;  // int64, output's shape: iy·W + ix of each maximum within its image plane
};
// Window maxima; ties go to the first maximum in row-major order, NaN propagates (PyTorch's rule).
MaxPoolResult max_pool2d(const Tensor& x, const PoolWindow& window);
// indices_from_forward: the indices are max_pool2d's own for this input shape and window
// (autograd's case), so their validation, which costs a CUDA device a wait, is skipped.
Tensor max_pool2d_backward(const Tensor& grad_out, const Tensor& indices, const Shape& input_shape,
                           const PoolWindow& window, bool indices_from_forward = false);

// [N, C]: the mean over H and W.
Tensor global_avg_pool(const Tensor& x);
Tensor global_avg_pool_backward(const Tensor& grad_out, const Shape& input_shape);

// ---- Resizing --------------------------------------------------------------------------------
// [N, out_h, out_w, C]: PyTorch's F.interpolate(mode='nearest') with size=(out_h, out_w),
// up or down by any factor (kernels/pool_types.h nearest_source_index).
Tensor resize_nearest(const Tensor& x, int64_t out_h, int64_t out_w);
Tensor resize_nearest_backward(const Tensor& grad_out, const Shape& input_shape);

}  // namespace fh::kernels
