// Differentiable pooling and resizing (the pool family). Images are NHWC
// [N, H, W, C]; every op has a gradient to each of its floating-point inputs.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/pool_types.h"
#include "runtime/tensor.h"

namespace fh {

// Kernel size, stride and padding of a pooling window; PoolWindow::square(k, s, p) for
// the usual square ones. Outputs are floor((in + 2·pad − kernel) / stride) + 1 (ceil_mode off).
using kernels::PoolWindow;

// Window means (F.avg_pool2d). With count_include_pad the divisor is the window's extent
// within the padded image, else only the input elements it covers.
Tensor avg_pool2d(const Tensor& x, const PoolWindow& window, bool count_include_pad = true);
// Window maxima (F.max_pool2d); the gradient goes to the first maximum of each window.
Tensor max_pool2d(const Tensor& x, const PoolWindow& window);
// [N, H, W, C] -> [N, C]: the mean over each image (x.mean((2, 3)) in NCHW).
Tensor global_avg_pool(const Tensor& x);
// [N, H, W, C] -> [N, out_h, out_w, C] by F.interpolate(mode='nearest', size=(out_h, out_w)).
Tensor resize_nearest(const Tensor& x, int64_t out_h, int64_t out_w);

}  // namespace fh
