// Differentiable 2-d convolution of NHWC images (the conv family). Included by
// autograd/ops.h.
#pragma once

#include <cstdint>

#include "runtime/tensor.h"

namespace fh {

// x [N, H, W, Cin] (NHWC) convolved with weight [Cout, kh, kw, Cin] (PyTorch's
// [Cout, Cin, kh, kw] converts with kernels::nchw_to_nhwc), plus bias [Cout] unless
// undefined; zero padding on every side. Returns [N, Ho, Wo, Cout] with
// Ho = (H + 2·padding - kh) / stride + 1.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), int64_t stride = 1,
              int64_t padding = 0);

}  // namespace fh
