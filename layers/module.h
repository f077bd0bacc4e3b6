// Modules: the building blocks of the networks. A module owns named tensor slots
// (parameters, which are trained, and buffers, which are not) and named child modules;
// a slot's full name is the dotted path from the network's root, exactly the parameter
// names of docs/networks.md, so state dicts and weights files need no translation table.
//
// Layout at the file boundary: files hold tensors as PyTorch does (conv weights
// [out, in, kh, kw]); inside the runtime conv weights are [out, kh, kw, in] to match NHWC
// activations. Each slot records its FileLayout and state dicts convert on the way in and out.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "runtime/random.h"
#include "runtime/tensor.h"

namespace fh::nn {

// How a slot is stored in files, where that differs from the runtime.
struct FileLayout {
  enum class Kind {
    Same,          // the runtime and file layouts agree
    ConvWeight,    // runtime [O, kh, kw, I] ↔ file [O, I, kh, kw]
    ImageColumns,  // a linear weight [O, H·W·C] reading an NHWC image flattened as it lies
                   // in memory ↔ file [O, C·H·W], PyTorch's flattening of the same image
  };
  Kind kind = Kind::Same;
  int64_t height = 0, width = 0;  // ImageColumns: the image's H and W (C follows from I)

  static const FileLayout Same, ConvWeight;
  static FileLayout image_columns(int64_t height, int64_t width) { return {Kind::ImageColumns, height, width}; }
  bool operator==(const FileLayout&) const = default;
};
inline const FileLayout FileLayout::Same{FileLayout::Kind::Same};
inline const FileLayout FileLayout::ConvWeight{FileLayout::Kind::ConvWeight};

enum class SlotKind { Parameter, Buffer };

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
using TensorMap = std::map<std::string, Tensor>;

// What loading a state dict found wrong, all at once.
struct LoadReport {
  std::vector<std::string> missing;     // expected by the module, absent from the file
  std::vector<std::string> unexpected;  // under the module's prefix in the file, unknown to it
  std::vector<std::string> mismatched;  // "name: file [..] vs expected [..]"
  std::vector<std::string> nonfinite;   // "name [..]: element i is not finite (nan)"
  bool ok() const { return missing.empty() && unexpected.empty() && mismatched.empty() && nonfinite.empty(); }
  std::string message() const;
  // "does not fit" when names or shapes disagree, else "holds non-finite weights".
  const char* problem() const;
};

class Module {
 public:
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  virtual ~Module() = default;

  // Train/eval mode, applied to the whole subtree. Modes change BatchNorm statistics and
  // whether spectral normalisation runs its power iteration.
  void train(bool on = true);
  void eval() { train(false); }
  bool training() const { return training_; }

  NamedTensors named_parameters(const std::string& prefix = "") const;
  NamedTensors named_buffers(const std::string& prefix = "") const;
  std::vector<Tensor> parameters() const;
  int64_t num_parameters() const;

  // Moves every slot to `device` (parameters stay leaves that require grad).
  void to(Device device);
  Device device() const;
  // Converts every slot to `dtype` (float64 serves the parity tests; float32 is the default).
  void to(DType dtype);
  void set_requires_grad(bool on);
  void zero_grad();

  // PyTorch's default initialisation for every layer in the subtree, in registration
  // order, drawing from `gen` (so a seed fixes every value).
  void reset_parameters(Generator& gen);

  // The tensors a file holds for this module, file layout, float32, on the CPU.
  NamedTensors state_dict(const std::string& prefix = "") const;
  // Loads every slot named `prefix + name` from `tensors` (any float dtype, file layout).
  // Names under `prefix` that no slot claims are "unexpected"; tensors outside `prefix`
  // belong to other networks and are ignored. Returns what was wrong; loads nothing unless
  // the report is clean (or `allow_partial`). load_weights() below throws the report instead.
  LoadReport load_state_dict(const TensorMap& tensors, const std::string& prefix = "", bool allow_partial = false);

  // The file layout of every parameter by full name: optimiser state files keep a
  // parameter's moments in the layout of its file.
  std::map<std::string, FileLayout> parameter_layouts(const std::string& prefix = "") const;
  // Slot value ↔ file tensor (file tensors are float32 on the CPU).
  static Tensor to_file_layout(const Tensor& t, FileLayout layout);
  static Tensor from_file_layout(const Tensor& t, FileLayout layout, DType dtype, Device device);

 protected:
  Tensor& register_parameter(const std::string& name, Tensor init, FileLayout layout = FileLayout::Same);
  // `in_file`: whether files must hold this buffer (false: optional, e.g. training state).
  Tensor& register_buffer(const std::string& name, Tensor init, FileLayout layout = FileLayout::Same,
                          bool required_in_file = true);
  void register_module(const std::string& name, Module& child);

  // Layers override to draw their initial values (called by reset_parameters).
  virtual void init_parameters(Generator& gen) {}
  // Layers whose file form differs from their slots (spectral normalisation) override these.
  virtual void write_state(const std::string& prefix, NamedTensors& out) const;
  virtual void read_state(const std::string& prefix, const TensorMap& tensors, std::set<std::string>& used,
                          LoadReport& report, bool apply);
  virtual void on_mode_change() {}

  struct Slot {
    std::string name;
    Tensor tensor;
    SlotKind kind;
    FileLayout layout;
    bool required_in_file;
  };
  std::deque<Slot>& slots() { return slots_; }
  const std::deque<Slot>& slots() const { return slots_; }

  static Shape file_shape(const Shape& runtime_shape, FileLayout layout);
  // Checks one slot against the file and loads it when `apply`.
  static void read_slot(Slot& slot, const std::string& full_name, const TensorMap& tensors,
                        std::set<std::string>& used, LoadReport& report, bool apply);

 private:
  void collect(const std::string& prefix, SlotKind kind, NamedTensors& out) const;
  void read_tree(const std::string& prefix, const TensorMap& tensors, std::set<std::string>& used, LoadReport& report,
                 bool apply);
  void write_tree(const std::string& prefix, NamedTensors& out) const;

  std::deque<Slot> slots_;  // deque: references returned by register_* stay valid
  std::vector<std::pair<std::string, Module*>> children_;
  bool training_ = true;
};

// Replaces a slot's tensor with `value` (a tensor outside the graph), which then requires
// grad exactly when the slot's tensor did: parameters stay trainable leaves.
void assign_keeping_grad(Tensor& slot, const Tensor& value);

// Loads tensors from `tensors` named with `prefix` into `module`; throws an error naming
// `source` and every missing, unexpected and mis-shaped tensor.
void load_weights(Module& module, const TensorMap& tensors, const std::string& prefix, const std::string& source);

}  // namespace fh::nn
