// Adam with PyTorch's update rule (torch.optim.Adam, amsgrad off), its state names and a
// safetensors form of that state; learning-rate schedules.
//
// One step, for each parameter p with a gradient g (parameters without one are skipped
// and keep their step count, as in PyTorch):
//   step += 1
//   g = g + weight_decay·p                       (only when weight_decay ≠ 0)
//   exp_avg    = exp_avg·β1 + (1 − β1)·g
//   exp_avg_sq = exp_avg_sq·β2 + (1 − β2)·g·g
//   p = p − lr/(1 − β1^step) · exp_avg / (sqrt(exp_avg_sq)/sqrt(1 − β2^step) + eps)
// The moments start at zero on a parameter's first step. Element arithmetic is float32
// for float32 parameters in PyTorch's order of operations and roundings (its CPU kernels
// fuse the three multiply-adds); the bias corrections are double. CUDA parameters are updated
// on the host (copied down and back each step) with the same arithmetic; the moments live on the host.
//
// State file (safetensors): for each parameter `<name>` that has taken a step,
// `<name>.exp_avg` and `<name>.exp_avg_sq` (the parameter's shape and dtype) and
// `<name>.step` (a 0-d float32, as PyTorch keeps it); metadata "optimizer" = "adam" and
// the hyper-parameters as text (informational: the constructor and schedule decide them).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "runtime/tensor.h"

namespace fh::train {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
};

struct NamedParameter {
  std::string name;
  Tensor tensor;  // a leaf that requires grad; updated in place
};

// Maps a state tensor between the in-memory layout of its parameter and the file's (e.g.
// NHWC conv weights to PyTorch's [O,I,kh,kw]); empty = stored as held.
using StateLayout = std::function<Tensor(const std::string& param_name, const Tensor& state)>;

class Adam {
 public:
  struct State {
    Tensor exp_avg, exp_avg_sq;
    int64_t step = 0;
  };

  // Parameter names must be unique; tensors must be float32/float64 CPU leaves.
  Adam(std::vector<NamedParameter> params, AdamOptions options);

  // One update of every parameter that has a gradient.
  void step();
  // Clears every parameter's gradient.
  void zero_grad();

  double lr() const { return options_.lr; }
  void set_lr(double lr);
  const AdamOptions& options() const { return options_; }
  const std::vector<NamedParameter>& parameters() const { return params_; }
  // The state of a parameter (undefined moments and step 0 before its first step).
  const State& state(const std::string& name) const;

  // Writes the state atomically; `to_file` converts each state tensor's layout.
  void save_state(const std::string& path, const StateLayout& to_file = {}) const;
  // Reads a state file written by save_state (or by PyTorch's state converted to these
  // names): every tensor must belong to a known parameter with the right shape; a
  // parameter absent from the file starts afresh. Errors name the file and the tensor.
  void load_state(const std::string& path, const StateLayout& from_file = {});

 private:
  size_t index_of(const std::string& name, const char* op) const;

  std::vector<NamedParameter> params_;
  std::vector<State> states_;
  AdamOptions options_;
};

// Learning rate as a function of the iteration k = 0, 1, …: constant, or constant until
// `decay_start` and then linear to zero at `decay_end`: lr·(decay_end − k)/(decay_end −
// decay_start) for decay_start ≤ k < decay_end, 0 from decay_end on.
class LrSchedule {
 public:
  static LrSchedule constant(double lr);
  static LrSchedule linear_decay(double lr, int64_t decay_start, int64_t decay_end);

  double at(int64_t k) const;

 private:
  LrSchedule(double lr, int64_t start, int64_t end) : lr_(lr), start_(start), end_(end) {}
  double lr_;
  int64_t start_, end_;  // start_ < 0: constant
};

}  // namespace fh::train
