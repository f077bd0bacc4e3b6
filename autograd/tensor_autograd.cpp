// Tensor's autograd members (declared in runtime/tensor.h, implemented here with the graph).
#include "autograd/engine.h"
#include "autograd/node.h"

namespace fh {

bool Tensor::requires_grad() const {
  const auto& meta = checked()->autograd;
  return meta && meta->requires_grad;
}

Tensor& Tensor::requires_grad_(bool enabled) {
  FH_CHECK(is_leaf(), "requires_grad_", "only leaves can change requires_grad; ", describe(),
           " is the output of ", grad_fn()->name(), " (use detach() for a new leaf)");
  FH_CHECK(!enabled || is_floating(dtype()), "requires_grad_", "only floating tensors can require gradients, got ",
           describe());
  auto& meta = checked()->autograd;
  if (!meta) meta = std::make_unique<AutogradMeta>();
  meta->requires_grad = enabled;
  return *this;
}

bool Tensor::is_leaf() const {
  const auto& meta = checked()->autograd;
  return !meta || !meta->grad_fn;
}

Tensor Tensor::grad() const {
  const auto& meta = checked()->autograd;
  return meta ? meta->grad : Tensor();
}

void Tensor::set_grad(const Tensor& g) {
  if (g.defined()) {
    FH_CHECK(g.shape() == shape() && g.dtype() == dtype() && g.device() == device(), "set_grad", "gradient ",
             g.describe(), " does not match tensor ", describe());
  }
  auto& meta = checked()->autograd;
  if (!meta) meta = std::make_unique<AutogradMeta>();
  meta->grad = g;
}

void Tensor::zero_grad() {
  const auto& meta = checked()->autograd;
  if (meta) meta->grad = Tensor();
}

std::shared_ptr<autograd::Node> Tensor::grad_fn() const {
  const auto& meta = checked()->autograd;
  return meta ? meta->grad_fn : nullptr;
}

void Tensor::backward(const Tensor& grad, bool retain_graph) const {
  autograd::backward({*this}, {grad}, retain_graph);
}

}  // namespace fh
