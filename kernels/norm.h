// Normalisation kernels on NHWC images x [N,H,W,C]: batch norm, instance norm and the fused
// SPADE modulation. Pure functions (no autograd; autograd/norm.h wraps them): they validate
// the operands, allocate the outputs and dispatch to a backend (kernels/backend/norm.inc).
// Errors name the op and every operand's shape.
#pragma once

#include "kernels/norm_types.h"
#include "runtime/tensor.h"

namespace fh::kernels {

// A normalisation's output and the statistics that normalised x, which its backward reads:
// the mean and 1/sqrt(var + eps), [C] for batch norm and [N, C] for the per-instance norms.
struct NormForward {
  Tensor out, mean, invstd;
};

// Input gradients; those not asked for are left undefined.
struct NormGrads {
  Tensor x, weight, bias;
};
struct SpadeGrads {
  Tensor x, gamma, beta;
};

// Batch norm with optional affine weight, bias [C]. In training mode running_mean and
// running_var [C], when defined, are updated in place (see backend/norm.inc); in eval mode
// they are required and normalise x.
NormForward batch_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                         const Tensor& running_var, const BatchNormParams& params);
// training: the same flag as the forward (were the statistics the batch's?).
NormGrads batch_norm2d_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, const Tensor& mean,
                                const Tensor& invstd, bool training, bool want_x, bool want_weight, bool want_bias);

// Instance norm (statistics per (n, c) over H,W; no running statistics) with optional
// affine weight, bias [C].
NormForward instance_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps);
NormGrads instance_norm2d_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, const Tensor& mean,
                                   const Tensor& invstd, bool want_x, bool want_weight, bool want_bias);

// SPADE: out = IN(x)·(1 + gamma) + beta; x, gamma, beta [N,H,W,C]; IN not affine.
NormForward spade_modulation(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps);
// grad_beta is grad_out itself (shared storage, no copy).
SpadeGrads spade_modulation_backward(const Tensor& grad_out, const Tensor& x, const Tensor& gamma, const Tensor& mean,
                                     const Tensor& invstd, bool want_x, bool want_gamma, bool want_beta);

}  // namespace fh::kernels
