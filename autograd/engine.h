// The backward engine: runs the graph's nodes in reverse topological order, summing the
// gradients that reach each node before running it, and accumulating into leaves' .grad.
#pragma once

#include <vector>

#include "runtime/tensor.h"

namespace fh::autograd {

// Backpropagates from `roots` with the given output gradients (an undefined gradient means
// ones for a one-element root). Frees the graph afterwards unless retain_graph. Nodes run
// one at a time, later-created first among those ready: the order, and so every sum of
// gradients, is the same on every run.
void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads, bool retain_graph = false);

}  // namespace fh::autograd
