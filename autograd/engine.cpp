#include "autograd/engine.h"

#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "kernels/core.h"

namespace fh::autograd {

namespace {

struct LaterFirst {
  bool operator()(const Node* a, const Node* b) const { return a->sequence_nr() < b->sequence_nr(); }
};

// Number of edges that point at each node reachable from `roots`.
std::unordered_map<Node*, int> count_dependencies(const std::vector<Node*>& roots) {
  std::unordered_map<Node*, int> deps;
  std::unordered_set<Node*> seen(roots.begin(), roots.end());
  std::vector<Node*> stack(seen.begin(), seen.end());
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Edge& e : n->next_edges()) {
      if (!e.node) continue;
      ++deps[e.node.get()];
      if (seen.insert(e.node.get()).second) stack.push_back(e.node.get());
    }
  }
  return deps;
}

void accumulate(Tensor& slot, const Tensor& g) {
  slot = slot.defined() ? kernels::binary(kernels::BinaryOp::Add, slot, g) : g;
}

}  // namespace

void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads, bool retain_graph) {
  FH_CHECK(roots.size() == grads.size(), "backward", roots.size(), " roots but ", grads.size(), " gradients");
  NoGradGuard no_grad;
  std::unordered_map<Node*, std::vector<Tensor>> buffers;
  std::vector<std::shared_ptr<Node>> root_nodes;  // keeps the roots alive while we run
  for (size_t i = 0; i < roots.size(); ++i) {
    const Tensor& root = roots[i];
    FH_CHECK(root.requires_grad(), "backward", "tensor ", root.describe(),
             " does not require grad and has no grad_fn (was it computed under NoGradGuard, or from inputs "
             "that do not require grad?)");
    Tensor g = grads[i];
    if (!g.defined()) {
      FH_CHECK(root.numel() == 1, "backward", "a gradient can be implied only for one-element outputs; output ",
               root.describe(), " needs an explicit gradient");
      g = Tensor::ones(root.shape(), root.dtype(), root.device());
    }
    FH_CHECK(g.shape() == root.shape() && g.dtype() == root.dtype() && g.device() == root.device(), "backward",
             "gradient ", g.describe(), " does not match output ", root.describe());
    const Edge edge = gradient_edge(root);
    auto& buffer = buffers[edge.node.get()];
    buffer.resize(edge.node->num_outputs());
    accumulate(buffer[edge.input_nr], g);
    root_nodes.push_back(edge.node);
  }

  std::vector<Node*> starts;
  for (auto& n : root_nodes) starts.push_back(n.get());
  std::unordered_map<Node*, int> deps = count_dependencies(starts);
  std::priority_queue<Node*, std::vector<Node*>, LaterFirst> ready;
  std::unordered_set<Node*> queued;
  for (Node* n : starts)
    if (deps[n] == 0 && queued.insert(n).second) ready.push(n);

  while (!ready.empty()) {
    Node* node = ready.top();
    ready.pop();
    std::vector<Tensor> grad_outputs = std::move(buffers[node]);
    buffers.erase(node);
    grad_outputs.resize(node->num_outputs());
    std::vector<Tensor> grad_inputs = node->apply(std::move(grad_outputs));
    if (!retain_graph) node->release();
    const auto& edges = node->next_edges();
    for (size_t i = 0; i < edges.size(); ++i) {
      Node* next = edges[i].node.get();
      if (next == nullptr) continue;
      if (grad_inputs[i].defined()) {
        auto& buffer = buffers[next];
        buffer.resize(next->num_outputs());
        accumulate(buffer[edges[i].input_nr], grad_inputs[i]);
      }
      if (--deps[next] == 0) ready.push(next);
    }
  }
}

}  // namespace fh::autograd
