// Device-agnostic entry points of the pool family: pooling and nearest-neighbour resizing
// of NHWC images, and the shape ops concat, stack, slice and per-image crops, each with
// the backward kernel its autograd node calls. They validate operands (errors name the op
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

// ---- Shape ops (any dtype; axes may be negative) -------------------------------------------
// Joins tensors that agree on every dim but `axis` along it (torch.cat).
Tensor concat(const std::vector<Tensor>& xs, int64_t axis);
// The inverse of concat: the consecutive pieces of x along `axis` with these lengths (which
// sum to its size there). Pieces with wanted[i] false (all are wanted when it is empty)
// are left undefined.
std::vector<Tensor> split(const Tensor& x, int64_t axis, const std::vector<int64_t>& lengths,
                          const std::vector<bool>& wanted = {});
// Joins same-shape tensors along a new dim `axis` in [-(dim+1), dim] (torch.stack).
Tensor stack(const std::vector<Tensor>& xs, int64_t axis);
// Elements [start, start + length) of `axis` (x.narrow(axis, start, length)).
Tensor slice(const Tensor& x, int64_t axis, int64_t start, int64_t length);
// The gradient of slice: zeros of input_shape with grad placed at `start` along `axis`.
Tensor slice_backward(const Tensor& grad, const Shape& input_shape, int64_t axis, int64_t start);
// Per-image crops of an NHWC batch: out[n] = x[n, tops[n] : tops[n] + height,
// lefts[n] : lefts[n] + width, :]. tops and lefts hold one offset per image, or a single one
// shared by all; every window must lie inside the image.
Tensor crop2d(const Tensor& x, const std::vector<int64_t>& tops, const std::vector<int64_t>& lefts, int64_t height,
              int64_t width);
// The gradient of crop2d: zeros of input_shape with each image's crop placed back.
Tensor crop2d_backward(const Tensor& grad, const Shape& input_shape, const std::vector<int64_t>& tops,
                       const std::vector<int64_t>& lefts);

}  // namespace fh::kernels
