#include "train/adam.h"

#include <cmath>
#include <set>
#include <sstream>

#include "runtime/cuda_runtime.h"
#include "runtime/thread_pool.h"
#include "weights/safetensors.h"

namespace fh::train {

namespace {

void check_options(const AdamOptions& o) {
  FH_CHECK(o.lr >= 0 && std::isfinite(o.lr), "Adam", "learning rate ", o.lr, " must be finite and >= 0");
  FH_CHECK(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1, "Adam", "betas (", o.beta1, ", ", o.beta2,
           ") must lie in [0, 1)");
  FH_CHECK(o.eps >= 0 && o.weight_decay >= 0, "Adam", "eps ", o.eps, " and weight_decay ", o.weight_decay,
           " must be >= 0");
}

// One contiguous run of the update, written so the compiler vectorises it: the pointers are
// restrict-qualified and the coefficients plain values (read through the lambda's references
// they were reloaded after every store, which kept the loop scalar — a tenth of E_gaze's
// training step went here). Square root and division are exact in every lane, so the
// vectorised loop gives the scalar loop's bits.
template <class T, bool kDecaying>
void adam_run(T* __restrict p, const T* __restrict grad, T* __restrict m, T* __restrict v, int64_t n, T beta1,
              T one_minus_beta1, T beta2, T one_minus_beta2, T decay, T eps, T neg_step_size, T bias2_sqrt) {
  for (int64_t i = 0; i < n; ++i) {
    // grad.add(p, alpha=wd); exp_avg.mul_(β1).add_(g, alpha=1−β1);
    // exp_avg_sq.mul_(β2).addcmul_(g, g, value=1−β2); p.addcdiv_(m, denom, value=−step_size).
    const T g = kDecaying ? std::fma(p[i], decay, grad[i]) : grad[i];
    const T m_new = std::fma(g, one_minus_beta1, m[i] * beta1);
    const T v_new = std::fma(one_minus_beta2 * g, g, v[i] * beta2);
    m[i] = m_new;
    v[i] = v_new;
    const T denom = std::sqrt(v_new) / bias2_sqrt + eps;
    p[i] = p[i] + neg_step_size * m_new / denom;
  }
}

// The update of one parameter in T (the parameter's dtype), rounded as PyTorch's vectorised
// CPU kernels (AVX2, AVX-512) round it: add_(x, alpha=a) and addcmul_ are fused
// multiply-adds there, so g + wd·p, m·β1 + (1−β1)·g and v·β2 + ((1−β2)·g)·g round once
// after their last product; every other operation rounds once. The coefficients come in as
// double and are rounded to T as PyTorch's scalar arguments are. Given the same gradients,
// the parameters and moments equal torch.optim.Adam's bit for bit.
template <class T>
void adam_update(T* p, const T* grad, T* m, T* v, int64_t n, const AdamOptions& o, int64_t step) {
  const T beta1 = static_cast<T>(o.beta1), one_minus_beta1 = static_cast<T>(1 - o.beta1);
  const T beta2 = static_cast<T>(o.beta2), one_minus_beta2 = static_cast<T>(1 - o.beta2);
  const T decay = static_cast<T>(o.weight_decay), eps = static_cast<T>(o.eps);
  const double bias1 = 1 - std::pow(o.beta1, static_cast<double>(step));
  const double bias2 = 1 - std::pow(o.beta2, static_cast<double>(step));
  const T neg_step_size = static_cast<T>(-(o.lr / bias1));
  const T bias2_sqrt = static_cast<T>(std::sqrt(bias2));
  const bool decaying = o.weight_decay != 0;
  parallel_for(n, 1 << 14, [=](int64_t begin, int64_t end) {
    const int64_t count = end - begin;
    if (decaying) {
      adam_run<T, true>(p + begin, grad + begin, m + begin, v + begin, count, beta1, one_minus_beta1, beta2,
                        one_minus_beta2, decay, eps, neg_step_size, bias2_sqrt);
    } else {
      adam_run<T, false>(p + begin, grad + begin, m + begin, v + begin, count, beta1, one_minus_beta1, beta2,
                         one_minus_beta2, decay, eps, neg_step_size, bias2_sqrt);
    }
  });
}

std::string number(double x) {
  std::ostringstream s;
  s.precision(17);
  s << x;
  return s.str();
}

}  // namespace

Adam::Adam(std::vector<NamedParameter> params, AdamOptions options)
    : params_(std::move(params)), states_(params_.size()), options_(options) {
  check_options(options_);
  std::set<std::string> names;
  for (const NamedParameter& p : params_) {
    FH_CHECK(!p.name.empty() && names.insert(p.name).second, "Adam", "parameter name '", p.name,
             "' is empty or appears twice");
    FH_CHECK(p.tensor.defined(), "Adam", "parameter ", p.name, " is undefined");
    FH_CHECK(p.tensor.dtype() == DType::F32 || p.tensor.dtype() == DType::F64, "Adam", "parameter ", p.name, " ",
             p.tensor.describe(), " must be float32 or float64");
  }
}

void Adam::set_lr(double lr) {
  AdamOptions o = options_;
  o.lr = lr;
  check_options(o);
  options_ = o;
}

void Adam::step() {
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i].tensor;
    const Tensor grad = p.grad();
    if (!grad.defined()) continue;
    FH_CHECK(grad.shape() == p.shape() && grad.dtype() == p.dtype() && grad.device() == p.device(), "Adam::step",
             "gradient ", grad.describe(), " of parameter ", params_[i].name, " does not match ", p.describe());
    State& s = states_[i];
    if (!s.exp_avg.defined()) {
      s.exp_avg = Tensor::zeros(p.shape(), p.dtype());
      s.exp_avg_sq = Tensor::zeros(p.shape(), p.dtype());
    }
    s.step += 1;
    // CUDA parameters are updated on the host — copied down with their gradient, updated with
    // the CPU's arithmetic, copied back — until the optimiser has a kernel of its own; the
    // moments stay in host memory.
    const bool on_device = !p.device().is_cpu();
    Tensor hp = on_device ? p.detach().to(Device::cpu()) : p;
    const Tensor hg = on_device ? grad.to(Device::cpu()) : grad;
    // The update writes the parameter's storage in place: it is outside autograd, like
    // PyTorch's optimiser under no_grad.
    if (p.dtype() == DType::F32) {
      adam_update(hp.data<float>(), hg.data<float>(), s.exp_avg.data<float>(), s.exp_avg_sq.data<float>(), p.numel(),
                  options_, s.step);
    } else {
      adam_update(hp.data<double>(), hg.data<double>(), s.exp_avg.data<double>(), s.exp_avg_sq.data<double>(),
                  p.numel(), options_, s.step);
    }
    if (on_device) cuda::copy_host_to_device(p.raw_data(), hp.raw_data(), p.nbytes(), p.device().index);
  }
}

void Adam::zero_grad() {
  for (NamedParameter& p : params_) p.tensor.zero_grad();
}

size_t Adam::index_of(const std::string& name, const char* op) const {
  for (size_t i = 0; i < params_.size(); ++i)
    if (params_[i].name == name) return i;
  FH_FAIL(op, "no parameter named '", name, "'");
}

const Adam::State& Adam::state(const std::string& name) const { return states_[index_of(name, "Adam::state")]; }

void Adam::save_state(const std::string& path, const StateLayout& to_file) const {
  safetensors::NamedTensors tensors;
  auto convert = [&](const std::string& name, const Tensor& t) { return to_file ? to_file(name, t) : t; };
  for (size_t i = 0; i < params_.size(); ++i) {
    const State& s = states_[i];
    if (s.step == 0) continue;
    const std::string& name = params_[i].name;
    tensors.emplace_back(name + ".exp_avg", convert(name, s.exp_avg));
    tensors.emplace_back(name + ".exp_avg_sq", convert(name, s.exp_avg_sq));
    tensors.emplace_back(name + ".step", Tensor::scalar(static_cast<double>(s.step)));
  }
  safetensors::save(path, tensors,
                    {{"optimizer", "adam"},
                     {"lr", number(options_.lr)},
                     {"betas", number(options_.beta1) + "," + number(options_.beta2)},
                     {"eps", number(options_.eps)},
                     {"weight_decay", number(options_.weight_decay)}});
}

void Adam::load_state(const std::string& path, const StateLayout& from_file) {
  const safetensors::Contents file = safetensors::load(path);
  const char* op = "Adam::load_state";
  auto it = file.metadata.find("optimizer");
  FH_CHECK(it != file.metadata.end() && it->second == "adam", op, path,
           " is not an Adam state file (metadata 'optimizer' is ",
           it == file.metadata.end() ? std::string("missing") : "'" + it->second + "'", ")");
  // Every tensor must belong to a parameter: a misnamed state would otherwise be dropped silently.
  for (const auto& [name, t] : file.tensors) {
    bool known = false;
    for (const NamedParameter& p : params_)
      for (const char* suffix : {".exp_avg", ".exp_avg_sq", ".step"})
        if (name == p.name + suffix) known = true;
    FH_CHECK(known, op, path, ": tensor '", name, "' belongs to no parameter of this optimiser");
  }
  std::vector<State> loaded(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string& name = params_[i].name;
    const Tensor& p = params_[i].tensor;
    if (!file.contains(name + ".step")) {
      FH_CHECK(!file.contains(name + ".exp_avg") && !file.contains(name + ".exp_avg_sq"), op, path, ": tensor '", name,
               ".step' is missing but the moments of ", name, " are present");
      continue;
    }
    const Tensor& step = file.get(name + ".step");
    FH_CHECK(step.numel() == 1, op, path, ": tensor '", name, ".step' has shape ", step.shape().str(),
             ", expected one value");
    const double steps = step.item();
    FH_CHECK(std::isfinite(steps) && steps >= 1 && steps == std::floor(steps), op, path, ": tensor '", name,
             ".step' holds ", steps, ", expected a whole number >= 1");
    State& s = loaded[i];
    s.step = static_cast<int64_t>(steps);
    for (const char* suffix : {".exp_avg", ".exp_avg_sq"}) {
      Tensor t = file.get(name + suffix);
      if (from_file) t = from_file(name, t);
      FH_CHECK(t.shape() == p.shape(), op, path, ": tensor '", name, suffix, "' has shape ", t.shape().str(),
               " but parameter ", name, " has ", p.shape().str());
      t = t.to(p.dtype()).clone();
      for (double x : t.to_vector<double>())
        FH_CHECK(std::isfinite(x), op, path, ": tensor '", name, suffix, "' holds a non-finite value");
      (std::string(suffix) == ".exp_avg" ? s.exp_avg : s.exp_avg_sq) = t;
    }
  }
  states_ = std::move(loaded);
}

LrSchedule LrSchedule::constant(double lr) {
  FH_CHECK(lr >= 0 && std::isfinite(lr), "LrSchedule", "learning rate ", lr, " must be finite and >= 0");
  return LrSchedule(lr, -1, -1);
}

LrSchedule LrSchedule::linear_decay(double lr, int64_t decay_start, int64_t decay_end) {
  FH_CHECK(lr >= 0 && std::isfinite(lr), "LrSchedule", "learning rate ", lr, " must be finite and >= 0");
  FH_CHECK(decay_start >= 0 && decay_end > decay_start, "LrSchedule", "decay from ", decay_start, " to ", decay_end,
           " needs 0 <= start < end");
  return LrSchedule(lr, decay_start, decay_end);
}

double LrSchedule::at(int64_t k) const {
  if (start_ < 0 || k < start_) return lr_;
  if (k >= end_) return 0.0;
  return lr_ * static_cast<double>(end_ - k) / static_cast<double>(end_ - start_);
}

}  // namespace fh::train
