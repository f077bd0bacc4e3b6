// The linear layer and its gradients, as matrix products over the rows of x (every dim but
// the last): pure kernels built on the core family's matmul, sum and broadcast add, so
// they run on whichever device their operands are on. autograd/linear.h wraps them.
#pragma once

#include "runtime/tensor.h"

namespace fh::kernels {

// out [..., out] = x [..., in] · wᵀ + bias, w [out, in] (PyTorch's layout), bias [out] or
// undefined.
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias);
// The gradients of <linear(x, w, bias), grad_out> with respect to x (of shape x_shape), w and bias.
Tensor linear_backward_input(const Tensor& grad_out, const Tensor& w, const Shape& x_shape);
Tensor linear_backward_weight(const Tensor& grad_out, const Tensor& x);
Tensor linear_backward_bias(const Tensor& grad_out);

}  // namespace fh::kernels
