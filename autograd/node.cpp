#include "autograd/node.h"

#include <atomic>
#include <span>

#include "autograd/grad_mode.h"
#include "kernels/core.h"

namespace fh::autograd {

namespace {
std::atomic<uint64_t> g_next_sequence_nr{0};
}

Node::Node(std::string name, uint32_t num_outputs)
    : name_(std::move(name)), sequence_nr_(g_next_sequence_nr++), num_outputs_(num_outputs) {}

Node::~Node() {
  thread_local bool draining = false;
  thread_local std::vector<std::shared_ptr<Node>> orphans;
  // Children only this node keeps alive are queued instead of destroyed recursively.
  for (Edge& e : next_edges_)
    if (e.node && e.node.use_count() == 1) orphans.push_back(std::move(e.node));
  next_edges_.clear();
  if (draining) return;
  draining = true;
  while (!orphans.empty()) {
    std::shared_ptr<Node> n = std::move(orphans.back());
    orphans.pop_back();
    n.reset();  // its destructor queues its own children
  }
  draining = false;
}

std::vector<Tensor> Node::apply(std::vector<Tensor> grad_outputs) {
  FH_CHECK(!released_, "backward",
           name_, "'s saved tensors were freed by an earlier backward(); pass retain_graph=true to run backward "
           "through the same graph again");
  FH_CHECK(grad_outputs.size() == num_outputs_, "backward", name_, " expects ", num_outputs_,
           " output gradients, got ", grad_outputs.size());
  // Outputs that received no gradient contribute zeros; find one defined gradient for dtype/device.
  const Tensor* any = nullptr;
  for (const Tensor& g : grad_outputs)
    if (g.defined()) any = &g;
  if (any == nullptr) return std::vector<Tensor>(next_edges_.size());
  for (uint32_t i = 0; i < num_outputs_; ++i) {
    Tensor& g = grad_outputs[i];
    if (!output_shapes.empty()) {
      if (!g.defined()) g = Tensor::zeros(output_shapes[i], any->dtype(), any->device());
      FH_CHECK(g.shape() == output_shapes[i], "backward", name_, " output ", i, " has shape ", output_shapes[i],
               " but received a gradient of shape ", g.shape());
    }
  }
  std::vector<Tensor> grads = backward(grad_outputs);
  FH_CHECK(grads.size() == next_edges_.size(), "backward", name_, " returned ", grads.size(),
           " input gradients for ", next_edges_.size(), " inputs");
  return grads;
}

void Node::release() {
  if (!saves_tensors()) return;
  release_saved();
  released_ = true;
}

AccumulateGrad::AccumulateGrad(std::shared_ptr<TensorImpl> leaf)
    : Node("AccumulateGrad", 1), leaf_(std::move(leaf)) {
  output_shapes = {leaf_->shape};
}

std::vector<Tensor> AccumulateGrad::backward(std::vector<Tensor>& grad_outputs) {
  Tensor leaf(leaf_);
  const Tensor& g = grad_outputs[0];
  FH_CHECK(g.dtype() == leaf.dtype() && g.device() == leaf.device(), "backward",
           "gradient ", g.describe(), " does not match its leaf ", leaf.describe());
  Tensor current = leaf.grad();
  if (!current.defined()) {
    // A copy: the incoming buffer may be shared with other gradients.
    leaf.set_grad(g.clone());
  } else {
    kernels::binary_(kernels::BinaryOp::Add, current, g);
  }
  return {};
}

namespace {

bool needs_grad_span(std::span<const Tensor* const> inputs) {
  if (!grad_enabled()) return false;
  for (const Tensor* t : inputs)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}

}  // namespace

bool needs_grad(std::initializer_list<const Tensor*> inputs) { return needs_grad_span({inputs.begin(), inputs.size()}); }
bool needs_grad(const std::vector<const Tensor*>& inputs) { return needs_grad_span(inputs); }

Edge gradient_edge(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return {};
  AutogradMeta& meta = *t.impl()->autograd;
  if (meta.grad_fn) return {meta.grad_fn, meta.output_nr};
  std::shared_ptr<Node> acc = meta.grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(t.impl_ptr());
    meta.grad_accumulator = acc;
  }
  return {acc, 0};
}

namespace {

void record_span(const std::string& name, std::span<const Tensor* const> inputs, std::vector<Tensor*> outputs,
                 FunctionNode::Backward fn) {
  auto node = std::make_shared<FunctionNode>(name, static_cast<uint32_t>(outputs.size()), std::move(fn));
  std::vector<Edge> edges;
  edges.reserve(inputs.size());
  for (const Tensor* t : inputs) edges.push_back(gradient_edge(*t));
  node->set_next_edges(std::move(edges));
  for (uint32_t i = 0; i < outputs.size(); ++i) {
    Tensor& out = *outputs[i];
    node->output_shapes.push_back(out.shape());
    auto& meta = out.impl()->autograd;
    if (!meta) meta = std::make_unique<AutogradMeta>();
    meta->requires_grad = true;
    meta->grad_fn = node;
    meta->output_nr = i;
  }
}

}  // namespace

void record(const std::string& name, std::initializer_list<const Tensor*> inputs, std::vector<Tensor*> outputs,
            FunctionNode::Backward fn) {
  record_span(name, {inputs.begin(), inputs.size()}, std::move(outputs), std::move(fn));
}

void record(const std::string& name, const std::vector<const Tensor*>& inputs, std::vector<Tensor*> outputs,
            FunctionNode::Backward fn) {
  record_span(name, inputs, std::move(outputs), std::move(fn));
}

}  // namespace fh::autograd
