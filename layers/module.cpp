#include "layers/module.h"

#include <cmath>
#include <sstream>

#include "autograd/grad_mode.h"
#include "kernels/core.h"
#include "runtime/error.h"

namespace fh::nn {

std::string LoadReport::message() const {
  std::ostringstream out;
  auto list = [&](const char* what, const std::vector<std::string>& names) {
    if (names.empty()) return;
    out << "\n  " << names.size() << " " << what << ":";
    for (const auto& n : names) out << "\n    " << n;
  };
  list("missing", missing);
  list("unexpected", unexpected);
  list("mis-shaped", mismatched);
  list("not finite", nonfinite);
  return out.str();
}

const char* LoadReport::problem() const {
  return missing.empty() && unexpected.empty() && mismatched.empty() ? "holds non-finite weights" : "does not fit";
}

void assign_keeping_grad(Tensor& slot, const Tensor& value) {
  const bool grad = slot.requires_grad();
  slot = value;
  if (grad) slot.requires_grad_(true);
}

void Module::train(bool on) {
  training_ = on;
  on_mode_change();
  for (auto& [name, child] : children_) child->train(on);
}

void Module::collect(const std::string& prefix, SlotKind kind, NamedTensors& out) const {
  for (const auto& s : slots_)
    if (s.kind == kind) out.emplace_back(prefix + s.name, s.tensor);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", kind, out);
}

std::map<std::string, FileLayout> Module::parameter_layouts(const std::string& prefix) const {
  std::map<std::string, FileLayout> out;
  for (const auto& s : slots_)
    if (s.kind == SlotKind::Parameter) out.emplace(prefix + s.name, s.layout);
  for (const auto& [name, child] : children_) out.merge(child->parameter_layouts(prefix + name + "."));
  return out;
}

NamedTensors Module::named_parameters(const std::string& prefix) const {
  NamedTensors out;
  collect(prefix, SlotKind::Parameter, out);
  return out;
}

NamedTensors Module::named_buffers(const std::string& prefix) const {
  NamedTensors out;
  collect(prefix, SlotKind::Buffer, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters()) out.push_back(t);
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

void Module::to(Device device) {
  for (auto& s : slots_)
    if (s.tensor.device() != device) assign_keeping_grad(s.tensor, s.tensor.detach().to(device));
  for (auto& [name, child] : children_) child->to(device);
}

void Module::to(DType dtype) {
  for (auto& s : slots_)
    if (s.tensor.dtype() != dtype) assign_keeping_grad(s.tensor, s.tensor.detach().to(dtype));
  for (auto& [name, child] : children_) child->to(dtype);
}

Device Module::device() const {
  for (const auto& s : slots_) return s.tensor.device();
  for (const auto& [name, child] : children_) return child->device();
  return Device::cpu();
}

void Module::set_requires_grad(bool on) {
  for (auto& s : slots_)
    if (s.kind == SlotKind::Parameter) s.tensor.requires_grad_(on);
  for (auto& [name, child] : children_) child->set_requires_grad(on);
}

void Module::zero_grad() {
  for (auto& s : slots_)
    if (s.kind == SlotKind::Parameter) s.tensor.zero_grad();
  for (auto& [name, child] : children_) child->zero_grad();
}

void Module::reset_parameters(Generator& gen) {
  NoGradGuard no_grad;
  init_parameters(gen);
  for (auto& [name, child] : children_) child->reset_parameters(gen);
}

Tensor& Module::register_parameter(const std::string& name, Tensor init, FileLayout layout) {
  init.requires_grad_(true);
  slots_.push_back(Slot{name, std::move(init), SlotKind::Parameter, layout, true});
  return slots_.back().tensor;
}

Tensor& Module::register_buffer(const std::string& name, Tensor init, FileLayout layout, bool required_in_file) {
  slots_.push_back(Slot{name, std::move(init), SlotKind::Buffer, layout, required_in_file});
  return slots_.back().tensor;
}

void Module::register_module(const std::string& name, Module& child) { children_.emplace_back(name, &child); }

namespace {

// An ImageColumns matrix [O, H·W·C] seen as the 4-d tensor [O, H, W, C] (or, in the file's
// order, [O, C, H, W]), so that the layout change is the NHWC ↔ NCHW permutation.
Shape image_columns_4d(const Tensor& t, const FileLayout& layout, bool file_order) {
  const int64_t hw = layout.height * layout.width;
  FH_CHECK(t.dim() == 2 && hw > 0 && t.size(1) % hw == 0, "FileLayout", "a weight of shape ", t.shape(),
           " cannot read an image of ", layout.height, "x", layout.width, " pixels flattened");
  const int64_t c = t.size(1) / hw;
  return file_order ? Shape{t.size(0), c, layout.height, layout.width} : Shape{t.size(0), layout.height, layout.width, c};
}

}  // namespace

Tensor Module::to_file_layout(const Tensor& t, FileLayout layout) {
  Tensor host = t.detach().to(Device::cpu()).to(DType::F32);
  switch (layout.kind) {
    case FileLayout::Kind::Same: return host;
    case FileLayout::Kind::ConvWeight: return kernels::nhwc_to_nchw(host);
    case FileLayout::Kind::ImageColumns:
      return kernels::nhwc_to_nchw(host.view(image_columns_4d(host, layout, false))).view(host.shape());
  }
  return host;
}

Tensor Module::from_file_layout(const Tensor& t, FileLayout layout, DType dtype, Device device) {
  Tensor host = t.detach().to(Device::cpu()).to(dtype);
  if (layout == FileLayout::ConvWeight) host = kernels::nchw_to_nhwc(host);
  if (layout.kind == FileLayout::Kind::ImageColumns)
    host = kernels::nchw_to_nhwc(host.view(image_columns_4d(host, layout, true))).view(host.shape());
  return host.to(device);
}

Shape Module::file_shape(const Shape& s, FileLayout layout) {
  if (layout != FileLayout::ConvWeight) return s;  // ImageColumns keeps [O, I]
  return Shape{s[0], s[3], s[1], s[2]};
}

void Module::write_state(const std::string& prefix, NamedTensors& out) const {
  for (const auto& s : slots_) out.emplace_back(prefix + s.name, to_file_layout(s.tensor, s.layout));
}

void Module::read_slot(Slot& slot, const std::string& full, const TensorMap& tensors, std::set<std::string>& used,
                       LoadReport& report, bool apply) {
  const auto it = tensors.find(full);
  if (it == tensors.end()) {
    if (slot.required_in_file) report.missing.push_back(full);
    return;
  }
  used.insert(full);
  const Shape want = file_shape(slot.tensor.shape(), slot.layout);
  const Tensor& t = it->second;
  const bool float_file = t.dtype() == DType::F32 || t.dtype() == DType::F64 || t.dtype() == DType::F16 ||
                          t.dtype() == DType::BF16;
  if (t.shape() != want || !float_file) {
    report.mismatched.push_back(full + ": file " + t.shape().str() + " " + dtype_name(t.dtype()) + ", expected " +
                                want.str() + " float");
    return;
  }
  if (!apply) {
    // A NaN or Inf weight would only show later as NaN outputs; name it at load time.
    const Tensor f = t.dtype() == DType::F32 ? t : t.to(DType::F32);
    const float* v = f.data<float>();
    for (int64_t i = 0; i < f.numel(); ++i)
      if (!std::isfinite(v[i])) {
        std::ostringstream line;
        line << full << " " << t.shape().str() << ": element " << i << " is not finite (" << v[i] << ")";
        report.nonfinite.push_back(line.str());
        break;
      }
    return;
  }
  assign_keeping_grad(slot.tensor, from_file_layout(t, slot.layout, slot.tensor.dtype(), slot.tensor.device()));
}

void Module::read_state(const std::string& prefix, const TensorMap& tensors, std::set<std::string>& used,
                        LoadReport& report, bool apply) {
  for (auto& s : slots_) read_slot(s, prefix + s.name, tensors, used, report, apply);
}

void Module::read_tree(const std::string& prefix, const TensorMap& tensors, std::set<std::string>& used,
                       LoadReport& report, bool apply) {
  read_state(prefix, tensors, used, report, apply);
  for (auto& [name, child] : children_) child->read_tree(prefix + name + ".", tensors, used, report, apply);
}

void Module::write_tree(const std::string& prefix, NamedTensors& out) const {
  write_state(prefix, out);
  for (const auto& [name, child] : children_) child->write_tree(prefix + name + ".", out);
}

NamedTensors Module::state_dict(const std::string& prefix) const {
  NoGradGuard no_grad;
  NamedTensors out;
  write_tree(prefix, out);
  return out;
}

LoadReport Module::load_state_dict(const TensorMap& tensors, const std::string& prefix, bool allow_partial) {
  NoGradGuard no_grad;
  LoadReport report;
  std::set<std::string> used;
  read_tree(prefix, tensors, used, report, /*apply=*/false);
  for (const auto& [name, t] : tensors)
    if (name.compare(0, prefix.size(), prefix) == 0 && !used.count(name)) report.unexpected.push_back(name);
  if (report.ok() || allow_partial) {
    std::set<std::string> again;
    LoadReport ignored;
    read_tree(prefix, tensors, again, ignored, /*apply=*/true);
  }
  return report;
}

void load_weights(Module& module, const TensorMap& tensors, const std::string& prefix, const std::string& source) {
  const LoadReport report = module.load_state_dict(tensors, prefix);
  FH_CHECK(report.ok(), "load weights", "'", source, "' ", report.problem(), " (network prefix '", prefix, "'):",
           report.message());
}

}  // namespace fh::nn
