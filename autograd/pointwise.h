// Differentiable activations, clamps, softmax and losses (the pointwise family). Each
// computes its result with kernels/pointwise.h and, when an input requires gradients and
// recording is on, records a node whose backward follows PyTorch's formulas, including its
// conventions at kinks (the gradient of relu-like terms is 0 at the kink; clamp passes the
// gradient at its bounds).
#pragma once

#include <cstdint>

#include "runtime/tensor.h"

namespace fh {

// x > 0 ? x : slope·x (the model uses slope 0.2).
Tensor leaky_relu(const Tensor& x, double slope);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor acos(const Tensor& x);
// min(max(x, lo), hi); the gradient passes where lo <= x <= hi. ±infinity leaves a side open.
Tensor clamp(const Tensor& x, double lo, double hi);
// acos(clamp(x, -1 + eps, 1 - eps)) with the gradient of that composition (0 outside the
// bounds), for angles between unit vectors (the gaze loss uses eps = 1e-7). 0 <= eps < 1.
Tensor acos_clamped(const Tensor& x, double eps);

// Softmax along `dim` (negative counts from the end), max-subtracted.
Tensor softmax(const Tensor& x, int64_t dim);

// Losses, each a 0-d tensor with mean reduction.
Tensor l1_loss(const Tensor& a, const Tensor& b);   // mean |a - b|; a and b of one shape
Tensor mse_loss(const Tensor& a, const Tensor& b);  // mean (a - b)²
Tensor hinge_real(const Tensor& d);                 // mean relu(1 - d): discriminator on real
Tensor hinge_fake(const Tensor& d);                 // mean relu(1 + d): discriminator on fake
Tensor hinge_generator(const Tensor& d);            // -mean d: generator's adversarial term

}  // namespace fh
