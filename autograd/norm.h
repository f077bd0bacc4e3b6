// Differentiable normalisation of NHWC images x [N,H,W,C]: batch norm, instance norm and
// the fused SPADE modulation. Statistics are biased variances, eps defaults to 1e-5 and
// optional affine parameters are passed as undefined tensors, all as in PyTorch.
#pragma once

#include "runtime/tensor.h"

namespace fh {

// Batch norm: out = (x - mean)/sqrt(var + eps)·weight + bias per channel, weight and bias [C]
// optional.
// training: mean and biased variance of each channel over N,H,W (needs N·H·W > 1); gradients
//   flow to x through them. When running_mean and running_var [C] are given they are updated
//   in place, exactly as PyTorch does:
//     running_mean = (1 - momentum)·running_mean + momentum·mean
//     running_var  = (1 - momentum)·running_var  + momentum·var·M/(M - 1)   (M = N·H·W)
//   This update is a side effect of the forward, not part of the graph: running statistics
//   are buffers and may not require gradients.
// eval: running_mean and running_var (required) normalise x; gradients are those of the
//   per-channel affine map they define.
Tensor batch_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                    const Tensor& running_var, bool training, double momentum = 0.1, double eps = 1e-5);

// Instance norm: statistics of each (n, c) over H,W (needs H·W > 1), optional affine
// weight, bias [C], no running statistics (PyTorch's InstanceNorm2d default).
Tensor instance_norm2d(const Tensor& x, const Tensor& weight = Tensor(), const Tensor& bias = Tensor(),
                       double eps = 1e-5);

// SPADE modulation, fused: out = IN(x)·(1 + gamma) + beta, with IN the non-affine instance
// norm; x, gamma and beta are all [N,H,W,C].
Tensor spade_modulation(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps = 1e-5);

}  // namespace fh
