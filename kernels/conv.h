// Device-agnostic entry points of the conv family: 2-d convolution of NHWC images, with
// its gradients. Pure kernels (no autograd); autograd/conv.h wraps them. Each validates its
// operands (errors name the op and every shape), allocates the result and dispatches to the
// backend (kernels/backend/conv.inc).
#pragma once

#include <cstdint>

#include "kernels/conv_types.h"
#include "runtime/tensor.h"

namespace fh::kernels {

// Checks the shapes of a convolution of x [N, H, W, Cin] by w [Cout, kh, kw, Cin] (stride
// >= 1, padding >= 0, the kernel no larger than the padded input) and returns its sizes.
// Errors name `op`.
Conv2dParams conv2d_params(const char* op, const Shape& x, const Shape& w, int64_t stride, int64_t padding);

// out [N, Ho, Wo, Cout] = conv2d(x, w) + bias, Ho = (H + 2·padding - kh) / stride + 1;
// bias [Cout], or undefined for none.
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, int64_t stride, int64_t padding);
// The gradients of <conv2d(x, w, bias), grad_out> with respect to x (of shape x_shape), w
// (of shape w_shape) and bias.
Tensor conv2d_backward_input(const Tensor& grad_out, const Tensor& w, const Shape& x_shape, int64_t stride,
                             int64_t padding);
Tensor conv2d_backward_weight(const Tensor& grad_out, const Tensor& x, const Shape& w_shape, int64_t stride,
                              int64_t padding);
Tensor conv2d_backward_bias(const Tensor& grad_out);

}  // namespace fh::kernels
