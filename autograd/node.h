// The autograd graph. Each differentiable op that sees an input requiring gradients records
// a Node: it knows how to map the gradients of its outputs to the gradients of its inputs,
// and holds one Edge per input to the node that produced that input (or to the leaf's
// AccumulateGrad). The graph is built as the program runs (define-by-run) and walked
// backwards by the engine (engine.h).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/tensor.h"

namespace fh::autograd {

class Node;

struct Edge {
  std::shared_ptr<Node> node;  // nullptr: that input does not need a gradient
  uint32_t input_nr = 0;       // which output of `node` the input was
};

class Node {
 public:
  explicit Node(std::string name, uint32_t num_outputs = 1);
  // Frees a chain of nodes iteratively: a graph thousands of ops deep must not exhaust the stack.
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const std::string& name() const { return name_; }
  // Creation order: the engine runs later nodes first, which makes backward deterministic.
  uint64_t sequence_nr() const { return sequence_nr_; }
  uint32_t num_outputs() const { return num_outputs_; }
  const std::vector<Edge>& next_edges() const { return next_edges_; }
  void set_next_edges(std::vector<Edge> edges) { next_edges_ = std::move(edges); }

  // Output shapes, recorded at creation, to check incoming gradients.
  std::vector<Shape> output_shapes;

  // Gradients of the outputs in (undefined = zero), gradients of the inputs out, one per
  // next edge (undefined where an input needs none). Throws once the graph is released.
  std::vector<Tensor> apply(std::vector<Tensor> grad_outputs);
  // Frees what the backward needs (saved tensors); apply() then throws.
  void release();
  bool released() const { return released_; }

 protected:
  virtual std::vector<Tensor> backward(std::vector<Tensor>& grad_outputs) = 0;
  virtual void release_saved() {}
  // Nodes that save nothing (AccumulateGrad) outlive a backward pass unchanged.
  virtual bool saves_tensors() const { return true; }

 private:
  std::string name_;
  uint64_t sequence_nr_;
  uint32_t num_outputs_;
  std::vector<Edge> next_edges_;
  bool released_ = false;
};

// The node of an ordinary op: its backward is a closure that owns what it saved.
// Saved tensors must be detached (Tensor::detach) so the graph holds no cycles.
class FunctionNode final : public Node {
 public:
  using Backward = std::function<std::vector<Tensor>(std::vector<Tensor>& grad_outputs)>;
  FunctionNode(std::string name, uint32_t num_outputs, Backward fn)
      : Node(std::move(name), num_outputs), fn_(std::move(fn)) {}

 protected:
  std::vector<Tensor> backward(std::vector<Tensor>& grad_outputs) override { return fn_(grad_outputs); }
  void release_saved() override { fn_ = nullptr; }

 private:
  Backward fn_;
};

// The sink for a leaf: adds the incoming gradient into leaf.grad (+=).
class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(std::shared_ptr<TensorImpl> leaf);

 protected:
  std::vector<Tensor> backward(std::vector<Tensor>& grad_outputs) override;
  bool saves_tensors() const override { return false; }

 private:
  std::shared_ptr<TensorImpl> leaf_;
};

// True when any input requires gradients and recording is on.
bool needs_grad(std::initializer_list<const Tensor*> inputs);
bool needs_grad(const std::vector<const Tensor*>& inputs);  // for ops with any number of inputs

// Records `fn` as the backward of an op with these inputs and outputs: builds the edges,
// sets each output's grad_fn and requires_grad. Call only when needs_grad(inputs).
void record(const std::string& name, std::initializer_list<const Tensor*> inputs, std::vector<Tensor*> outputs,
            FunctionNode::Backward fn);
void record(const std::string& name, const std::vector<const Tensor*>& inputs, std::vector<Tensor*> outputs,
            FunctionNode::Backward fn);

// The edge through which a gradient for `t` should flow (null edge if none needed).
Edge gradient_edge(const Tensor& t);

}  // namespace fh::autograd
