#include "autograd/norm.h"

#include "autograd/node.h"
#include "kernels/norm.h"

namespace fh {

using autograd::needs_grad;
using autograd::record;
using Grads = std::vector<Tensor>;

namespace {

Tensor detached(const Tensor& t) { return t.defined() ? t.detach() : Tensor(); }

void check_buffer(const char* name, const Tensor& t) {
  FH_CHECK(!t.defined() || !t.requires_grad(), "batch_norm2d", name, " ", t.describe(),
           " requires grad, but running statistics are buffers, updated in place and never differentiated");
}

}  // namespace

Tensor batch_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                    const Tensor& running_var, bool training, double momentum, double eps) {
  check_buffer("running_mean", running_mean);
  check_buffer("running_var", running_var);
  kernels::BatchNormParams params;
  params.training = training;
  params.momentum = momentum;
  params.eps = eps;
  kernels::NormForward f = kernels::batch_norm2d(x, weight, bias, running_mean, running_var, params);
  if (!needs_grad({&x, &weight, &bias})) return f.out;
  const bool gx = x.requires_grad(), gw = weight.defined() && weight.requires_grad(),
             gb = bias.defined() && bias.requires_grad();
  // mean and invstd are the forward's; in eval mode they are a copy of the running
  // statistics, so a later in-place update of those cannot change this graph.
  record("BatchNorm2dBackward", {&x, &weight, &bias}, {&f.out},
         [=, xs = x.detach(), ws = detached(weight), mean = f.mean, invstd = f.invstd](Grads& g) -> Grads {
           kernels::NormGrads d =
               kernels::batch_norm2d_backward(g[0], xs, ws, mean, invstd, training, gx, gw, gb);
           return {d.x, d.weight, d.bias};
         });
  return f.out;
}

Tensor instance_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  kernels::NormForward f = kernels::instance_norm2d(x, weight, bias, eps);
  if (!needs_grad({&x, &weight, &bias})) return f.out;
  const bool gx = x.requires_grad(), gw = weight.defined() && weight.requires_grad(),
             gb = bias.defined() && bias.requires_grad();
  record("InstanceNorm2dBackward", {&x, &weight, &bias}, {&f.out},
         [=, xs = x.detach(), ws = detached(weight), mean = f.mean, invstd = f.invstd](Grads& g) -> Grads {
           kernels::NormGrads d = kernels::instance_norm2d_backward(g[0], xs, ws, mean, invstd, gx, gw, gb);
           return {d.x, d.weight, d.bias};
         });
  return f.out;
}

Tensor spade_modulation(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps) {
  kernels::NormForward f = kernels::spade_modulation(x, gamma, beta, eps);
  if (!needs_grad({&x, &gamma, &beta})) return f.out;
  const bool gx = x.requires_grad(), gg = gamma.requires_grad(), gb = beta.requires_grad();
  record("SpadeModulationBackward", {&x, &gamma, &beta}, {&f.out},
         [=, xs = x.detach(), gs = gamma.detach(), mean = f.mean, invstd = f.invstd](Grads& g) -> Grads {
           kernels::SpadeGrads d = kernels::spade_modulation_backward(g[0], xs, gs, mean, invstd, gx, gg, gb);
           return {d.x, d.gamma, d.beta};
         });
  return f.out;
}

}  // namespace fh
