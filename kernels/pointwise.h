// Device-agnostic entry points of the pointwise family: activations, clamps, softmax and
// mean-reduced losses. Pure functions: they validate operands (errors name the op and every
// shape), allocate outputs and dispatch to the backend (kernels/backend/pointwise.inc).
// Differentiable versions are in autograd/pointwise.h.
#pragma once

#include <cstdint>

#include "kernels/pointwise_types.h"
#include "runtime/tensor.h"

namespace fh::kernels {

// y = op(x; params) elementwise.
Tensor activation(ActivationOp op, const Tensor& x, const ActivationParams& params = {});
// grad · op'(x), from `saved` = y where backward_reads_output(op), else x.
Tensor activation_backward(ActivationOp op, const Tensor& grad, const Tensor& saved,
                           const ActivationParams& params = {});

// Softmax along `dim` (negative counts from the end; a 0-d tensor takes dim 0 or -1).
Tensor softmax(const Tensor& x, int64_t dim);
// y · (grad - Σ_dim grad·y), from the forward's output y.
Tensor softmax_backward(const Tensor& grad, const Tensor& y, int64_t dim);

// The loss as a 0-d tensor. Binary losses (L1, Mse) take a and b of one shape; the hinge
// terms take a alone (b undefined).
Tensor loss(LossOp op, const Tensor& a, const Tensor& b = Tensor());
struct LossGrads {
  Tensor a, b;  // undefined where not wanted
};
// The loss' gradients scaled by grad_out (a one-element tensor), for the operands wanted.
LossGrads loss_backward(LossOp op, const Tensor& grad_out, const Tensor& a, const Tensor& b, bool want_a,
                        bool want_b);

}  // namespace fh::kernels
