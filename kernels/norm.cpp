#include "kernels/norm.h"

#include <cmath>

#include "kernels/core.h"
#include "kernels/dispatch.h"

namespace fh::kernels {

namespace {

using detail::check_float;
using detail::check_same;

std::string shape_or_none(const Tensor& t) { return t.defined() ? t.shape().str() : std::string("none"); }

void check_image(const char* op, const char* name, const Tensor& x) {
  check_float(op, x);
  check_nhwc(op, name, x.shape());
}

// An optional per-channel operand [C] of the image x. `operands` lists every operand's shape.
template <class Operands>
void check_channel_vector(const char* op, const char* name, const Tensor& p, const Tensor& x, Operands operands) {
  if (!p.defined()) return;
  check_same(op, x, p);
  FH_CHECK(p.dim() == 1 && p.size(0) == x.size(3), op, name, " must be [C] = [", x.size(3), "] for x ", x.shape(),
           ", got ", p.shape(), " (", operands(), ")");
}

void check_eps(const char* op, double eps) {
  FH_CHECK(std::isfinite(eps) && eps >= 0, op, "eps must be finite and >= 0, got ", eps);
}

// PyTorch refuses to normalise a single value per statistic (its variance says nothing), in
// training mode for batch norm and always for instance norm; so do we.
void check_spatial(const char* op, const Tensor& x) {
  const int64_t hw = x.size(1) * x.size(2);
  FH_CHECK(hw > 1, op, "needs more than 1 spatial element per channel (as PyTorch's instance_norm), got x ",
           x.shape(), " (H·W = ", hw, ")");
}

// The operands every backward reads: grad_out like x, and the statistics of shape `stats`.
void check_backward(const char* op, const Tensor& grad_out, const Tensor& x, const Tensor& mean, const Tensor& invstd,
                    const Shape& stats) {
  check_image(op, "x", x);
  check_same(op, x, grad_out);
  check_same(op, x, mean);
  check_same(op, x, invstd);
  FH_CHECK(grad_out.shape() == x.shape(), op, "grad_out ", grad_out.shape(), " does not match x ", x.shape());
  FH_CHECK(mean.shape() == stats && invstd.shape() == stats, op, "statistics mean ", mean.shape(), " and invstd ",
           invstd.shape(), " must be ", stats, " for x ", x.shape());
}

// An empty x: an empty output, and zero statistics where there are any.
// Output shaped like x, and uninitialised per-(sample or batch, channel) statistics.
NormForward allocate_forward(const Tensor& x, const Shape& stats) {
  return {Tensor::empty(x.shape(), x.dtype(), x.device()), Tensor::empty(stats, x.dtype(), x.device()),
          Tensor::empty(stats, x.dtype(), x.device())};
}

NormForward empty_forward(const Tensor& x, const Shape& stats) {
  NormForward f{Tensor::empty(x.shape(), x.dtype(), x.device()), Tensor::zeros(stats, x.dtype(), x.device()),
                Tensor::zeros(stats, x.dtype(), x.device())};
  return f;
}

Tensor maybe_empty(bool wanted, const Shape& shape, const Tensor& like) {
  return wanted ? Tensor::empty(shape, like.dtype(), like.device()) : Tensor();
}

// Gradients of an empty x: an empty grad_x, zero parameter gradients.
NormGrads empty_grads(const Tensor& x, bool want_x, bool want_weight, bool want_bias) {
  const Shape c{x.size(3)};
  NormGrads g;
  if (want_x) g.x = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (want_weight) g.weight = Tensor::zeros(c, x.dtype(), x.device());
  if (want_bias) g.bias = Tensor::zeros(c, x.dtype(), x.device());
  return g;
}

}  // namespace

NormForward batch_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                         const Tensor& running_var, const BatchNormParams& params) {
  const char* op = "batch_norm2d";
  auto operands = [&] {
    return fh::detail::cat("x ", x.shape(), ", weight ", shape_or_none(weight), ", bias ", shape_or_none(bias),
                       ", running_mean ", shape_or_none(running_mean), ", running_var ", shape_or_none(running_var));
  };
  check_image(op, "x", x);
  check_channel_vector(op, "weight", weight, x, operands);
  check_channel_vector(op, "bias", bias, x, operands);
  check_channel_vector(op, "running_mean", running_mean, x, operands);
  check_channel_vector(op, "running_var", running_var, x, operands);
  check_eps(op, params.eps);
  FH_CHECK(std::isfinite(params.momentum), op, "momentum must be finite, got ", params.momentum);
  if (params.training) {
    const int64_t per_channel = x.size(0) * x.size(1) * x.size(2);
    FH_CHECK(per_channel > 1, op, "training needs more than 1 value per channel (as PyTorch), got x ", x.shape(),
             " (N·H·W = ", per_channel, ")");
  } else {
    FH_CHECK(running_mean.defined() && running_var.defined(), op,
             "eval mode normalises with the running statistics, which are missing (", operands(), ")");
  }
  const Shape stats{x.size(3)};
  if (x.numel() == 0) return empty_forward(x, stats);
  NormForward f = allocate_forward(x, stats);
  // Handles share storage: the backend updates the caller's running statistics in place.
  Tensor rm = running_mean, rv = running_var;
  FH_BACKEND(x.device(), batch_norm_forward, x, weight, bias, rm, rv, params, f.out, f.mean, f.invstd);
  return f;
}

NormGrads batch_norm2d_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, const Tensor& mean,
                                const Tensor& invstd, bool training, bool want_x, bool want_weight, bool want_bias) {
  const char* op = "batch_norm2d_backward";
  check_backward(op, grad_out, x, mean, invstd, Shape{x.size(3)});
  check_channel_vector(op, "weight", weight, x, [&] { return fh::detail::cat("x ", x.shape()); });
  if (x.numel() == 0) return empty_grads(x, want_x, want_weight, want_bias);
  const Shape c{x.size(3)};
  NormGrads g{maybe_empty(want_x, x.shape(), x), maybe_empty(want_weight, c, x), maybe_empty(want_bias, c, x)};
  FH_BACKEND(x.device(), batch_norm_backward, grad_out, x, weight, mean, invstd, training, g.x, g.weight, g.bias);
  return g;
}

NormForward instance_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  const char* op = "instance_norm2d";
  auto operands = [&] {
    return fh::detail::cat("x ", x.shape(), ", weight ", shape_or_none(weight), ", bias ", shape_or_none(bias));
  };
  check_image(op, "x", x);
  check_channel_vector(op, "weight", weight, x, operands);
  check_channel_vector(op, "bias", bias, x, operands);
  check_eps(op, eps);
  check_spatial(op, x);
  const Shape stats{x.size(0), x.size(3)};
  if (x.numel() == 0) return empty_forward(x, stats);
  NormForward f = allocate_forward(x, stats);
  FH_BACKEND(x.device(), instance_norm_forward, x, weight, bias, eps, f.out, f.mean, f.invstd);
  return f;
}

NormGrads instance_norm2d_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, const Tensor& mean,
                                   const Tensor& invstd, bool want_x, bool want_weight, bool want_bias) {
  const char* op = "instance_norm2d_backward";
  check_backward(op, grad_out, x, mean, invstd, Shape{x.size(0), x.size(3)});
  check_channel_vector(op, "weight", weight, x, [&] { return fh::detail::cat("x ", x.shape()); });
  if (x.numel() == 0) return empty_grads(x, want_x, want_weight, want_bias);
  const Shape c{x.size(3)};
  NormGrads g{maybe_empty(want_x, x.shape(), x), maybe_empty(want_weight, c, x), maybe_empty(want_bias, c, x)};
  FH_BACKEND(x.device(), instance_norm_backward, grad_out, x, weight, mean, invstd, g.x, g.weight, g.bias);
  return g;
}

NormForward spade_modulation(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps) {
  const char* op = "spade_modulation";
  check_image(op, "x", x);
  check_same(op, x, gamma);
  check_same(op, x, beta);
  FH_CHECK(gamma.shape() == x.shape() && beta.shape() == x.shape(), op, "gamma ", gamma.shape(), " and beta ",
           beta.shape(), " must both match x ", x.shape());
  check_eps(op, eps);
  check_spatial(op, x);
  const Shape stats{x.size(0), x.size(3)};
  if (x.numel() == 0) return empty_forward(x, stats);
  NormForward f = allocate_forward(x, stats);
  FH_BACKEND(x.device(), spade_modulation_forward, x, gamma, beta, eps, f.out, f.mean, f.invstd);
  return f;
}

SpadeGrads spade_modulation_backward(const Tensor& grad_out, const Tensor& x, const Tensor& gamma, const Tensor& mean,
                                     const Tensor& invstd, bool want_x, bool want_gamma, bool want_beta) {
  const char* op = "spade_modulation_backward";
  check_backward(op, grad_out, x, mean, invstd, Shape{x.size(0), x.size(3)});
  check_same(op, x, gamma);
  FH_CHECK(gamma.shape() == x.shape(), op, "gamma ", gamma.shape(), " must match x ", x.shape());
  SpadeGrads g{maybe_empty(want_x, x.shape(), x), maybe_empty(want_gamma, x.shape(), x),
               want_beta ? grad_out : Tensor()};
  if (x.numel() == 0 || !(want_x || want_gamma)) return g;
  FH_BACKEND(x.device(), spade_modulation_backward, grad_out, x, gamma, mean, invstd, g.x, g.gamma);
  return g;
}

}  // namespace fh::kernels
