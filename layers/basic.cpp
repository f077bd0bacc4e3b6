#include "layers/basic.h"

#include <cmath>
#include <limits>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "layers/flops.h"
#include "layers/sync_batch_norm.h"
#include "runtime/error.h"

namespace fh::nn {

namespace {

void fill_uniform(Tensor& t, Generator& gen, double bound) {
  assign_keeping_grad(t, rand(t.shape(), gen, -bound, bound, t.dtype(), t.device()));
}

Tensor normalise(const Tensor& v, double eps) {
  // v / max(‖v‖, eps), as torch.nn.functional.normalize, in tensor ops: the norm stays on
  // the device, so a training step never waits for it on the host.
  return div(v, clamp(sqrt(sum(mul(v, v))), eps, std::numeric_limits<double>::infinity()));
}

}  // namespace

// ---- Conv2d ------------------------------------------------------------------------------------

Conv2d::Conv2d(const ConvSpec& spec) : spec_(spec) {
  FH_CHECK(spec.in > 0 && spec.out > 0 && spec.kernel > 0 && spec.stride > 0 && spec.padding >= 0, "Conv2d",
           "invalid spec in=", spec.in, " out=", spec.out, " kernel=", spec.kernel, " stride=", spec.stride,
           " padding=", spec.padding);
  const Shape wshape{spec.out, spec.kernel, spec.kernel, spec.in};
  if (spec.spectral) {
    weight_orig_ = &register_parameter("weight_orig", Tensor::zeros(wshape), FileLayout::ConvWeight);
    slots().back().required_in_file = false;
    weight_u_ = &register_buffer("weight_u", Tensor::zeros({spec.out}), FileLayout::Same, false);
    weight_ = &register_buffer("weight", Tensor::zeros(wshape), FileLayout::ConvWeight);
  } else {
    weight_ = &register_parameter("weight", Tensor::zeros(wshape), FileLayout::ConvWeight);
  }
  bias_ = spec.bias ? &register_parameter("bias", Tensor::zeros({spec.out})) : &none_;
}

void Conv2d::init_parameters(Generator& gen) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(spec_.in * spec_.kernel * spec_.kernel));
  fill_uniform(spec_.spectral ? *weight_orig_ : *weight_, gen, bound);
  if (spec_.bias) fill_uniform(*bias_, gen, bound);
  if (spec_.spectral) {
    *weight_u_ = normalise(randn({spec_.out}, gen, 0.0, 1.0, weight_u_->dtype(), weight_u_->device()), kSpectralEps);
    effective_is_loaded_ = false;
    *weight_ = effective_without_iteration();
  }
}

Tensor Conv2d::power_vector_v() const {
  const Tensor w = reshape(weight_orig_->detach(), {spec_.out, -1});
  return normalise(reshape(matmul(reshape(*weight_u_, {1, spec_.out}), w), {-1}), kSpectralEps);
}

Tensor Conv2d::sigma(const Tensor& w, const Tensor& u, const Tensor& v) const {
  return sum(mul(u, reshape(matmul(reshape(w, {spec_.out, -1}), reshape(v, {-1, 1})), {-1})));
}

Tensor Conv2d::effective_without_iteration() const {
  NoGradGuard no_grad;
  const Tensor w = weight_orig_->detach();
  return div(w, sigma(w, *weight_u_, power_vector_v())).detach();
}

Tensor Conv2d::current_weight() {
  if (!spec_.spectral) return *weight_;
  if (!training()) return *weight_;
  // One power iteration on the detached weight (u and v carry no gradient), then
  // σ = uᵀ W v, differentiable in W, as torch.nn.utils.spectral_norm.
  Tensor u, v;
  {
    NoGradGuard no_grad;
    v = power_vector_v();
    u = normalise(reshape(matmul(reshape(weight_orig_->detach(), {spec_.out, -1}), reshape(v, {-1, 1})), {-1}),
                  kSpectralEps);
    *weight_u_ = u;
  }
  Tensor w_sn = div(*weight_orig_, sigma(*weight_orig_, u, v));
  *weight_ = w_sn.detach();
  effective_is_loaded_ = false;
  return w_sn;
}

Tensor Conv2d::forward(const Tensor& x) {
  FH_CHECK(x.dim() == 4 && x.size(3) == spec_.in, "Conv2d", "expects NHWC input with ", spec_.in,
           " channels, got ", x.describe());
  Tensor y = conv2d(x, current_weight(), *bias_, spec_.stride, spec_.padding);
  FlopCounter::add(2.0 * static_cast<double>(y.numel()) * static_cast<double>(spec_.kernel * spec_.kernel * spec_.in));
  return y;
}

void Conv2d::on_mode_change() {
  // Entering eval after training steps: the effective weight follows the trained weight_orig
  // with the current u (no iteration), unless it came straight from a file.
  if (spec_.spectral && !training() && !effective_is_loaded_) {
    *weight_ = effective_without_iteration();
  }
}

void Conv2d::write_state(const std::string& prefix, NamedTensors& out) const {
  if (spec_.spectral && !effective_is_loaded_) {
    out.emplace_back(prefix + "weight", to_file_layout(effective_without_iteration(), FileLayout::ConvWeight));
    out.emplace_back(prefix + "weight_orig", to_file_layout(*weight_orig_, FileLayout::ConvWeight));
    out.emplace_back(prefix + "weight_u", to_file_layout(*weight_u_, FileLayout::Same));
    if (spec_.bias) out.emplace_back(prefix + "bias", to_file_layout(*bias_, FileLayout::Same));
    return;
  }
  Module::write_state(prefix, out);
}

void Conv2d::read_state(const std::string& prefix, const TensorMap& tensors, std::set<std::string>& used,
                        LoadReport& report, bool apply) {
  Module::read_state(prefix, tensors, used, report, apply);
  if (!spec_.spectral) return;
  const bool has_orig = tensors.count(prefix + "weight_orig") != 0;
  if (has_orig && !tensors.count(prefix + "weight_u")) report.missing.push_back(prefix + "weight_u (needed with weight_orig)");
  // A partial load (allow_partial) without this conv's `weight` leaves the conv as it was.
  if (!apply || !tensors.count(prefix + "weight")) return;
  // Eval reads the file's `weight` exactly as stored until a training forward changes
  // weight_orig. An inference file (no weight_orig) starts training from weight_orig = weight.
  effective_is_loaded_ = true;
  if (!has_orig) {
    NoGradGuard no_grad;
    assign_keeping_grad(*weight_orig_, weight_->clone());
  }
}

// ---- Linear ------------------------------------------------------------------------------------

Linear::Linear(int64_t in, int64_t out, bool bias, FileLayout weight_layout)
    : in_(in), out_(out), weight_(register_parameter("weight", Tensor::zeros({out, in}), weight_layout)),
      bias_(bias ? &register_parameter("bias", Tensor::zeros({out})) : &none_) {}

void Linear::init_parameters(Generator& gen) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_));
  // Drawn in the file's order and converted, so a seed gives the same weights file whatever
  // the runtime layout.
  Tensor drawn = rand(weight_.shape(), gen, -bound, bound, weight_.dtype(), weight_.device());
  const FileLayout layout = slots().front().layout;  // the weight's slot, registered first
  if (layout != FileLayout::Same) drawn = from_file_layout(drawn, layout, weight_.dtype(), weight_.device());
  assign_keeping_grad(weight_, drawn);
  if (bias_->defined()) fill_uniform(*bias_, gen, bound);
}

Tensor Linear::forward(const Tensor& x) {
  FH_CHECK(x.dim() >= 1 && x.size(-1) == in_, "Linear", "expects [..., ", in_, "], got ", x.describe());
  FlopCounter::add(2.0 * static_cast<double>(x.numel()) * static_cast<double>(out_));
  return linear(x, weight_, *bias_);
}

// ---- Norms -------------------------------------------------------------------------------------

BatchNorm2d::BatchNorm2d(int64_t channels, double eps, double momentum)
    : eps_(eps), momentum_(momentum), weight_(register_parameter("weight", Tensor::ones({channels}))),
      bias_(register_parameter("bias", Tensor::zeros({channels}))),
      running_mean_(register_buffer("running_mean", Tensor::zeros({channels}))),
      running_var_(register_buffer("running_var", Tensor::ones({channels}))) {}

void BatchNorm2d::init_parameters(Generator&) {
  weight_.fill_(1.0);
  bias_.fill_(0.0);
  running_mean_.fill_(0.0);
  running_var_.fill_(1.0);
}

Tensor BatchNorm2d::forward(const Tensor& x) {
  // Data-parallel training: the statistics of every rank's batch (layers/sync_batch_norm.h).
  if (training())
    if (dist::Communicator* comm = BatchNormSync::active())
      return sync_batch_norm2d(x, weight_, bias_, running_mean_, running_var_, momentum_, eps_, *comm);
  return batch_norm2d(x, weight_, bias_, running_mean_, running_var_, training(), momentum_, eps_);
}

InstanceNorm2d::InstanceNorm2d(int64_t channels, bool affine, double eps)
    : affine_(affine), eps_(eps),
      weight_(affine ? &register_parameter("weight", Tensor::ones({channels})) : &none_),
      bias_(affine ? &register_parameter("bias", Tensor::zeros({channels})) : &none_) {}

void InstanceNorm2d::init_parameters(Generator&) {
  if (!affine_) return;
  weight_->fill_(1.0);
  bias_->fill_(0.0);
}

Tensor InstanceNorm2d::forward(const Tensor& x) { return instance_norm2d(x, *weight_, *bias_, eps_); }

}  // namespace fh::nn
