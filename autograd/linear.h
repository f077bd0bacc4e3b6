// The differentiable linear layer. Included by autograd/ops.h.
#pragma once

#include "runtime/tensor.h"

namespace fh {

// x [..., in] · weightᵀ + bias: weight [out, in] (PyTorch's layout), bias [out] unless
// undefined. Returns [..., out].
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace fh
