// Differentiable concat, stack, slice, crops, index_select and transpose: each backward cuts (or pads,
// or permutes) the incoming gradient back to the shape of the input it belongs to.
#include "autograd/shape_ops.h"

#include <numeric>

#include "autograd/node.h"
#include "autograd/ops.h"
#include "kernels/shape_ops.h"

namespace fh {

using autograd::needs_grad;
using autograd::record;
using Grads = std::vector<Tensor>;

namespace {

std::vector<const Tensor*> pointers(const std::vector<Tensor>& xs) {
  std::vector<const Tensor*> p;
  p.reserve(xs.size());
  for (const Tensor& x : xs) p.push_back(&x);
  return p;
}

std::vector<bool> wants_grad(const std::vector<Tensor>& xs) {
  std::vector<bool> w;
  w.reserve(xs.size());
  for (const Tensor& x : xs) w.push_back(x.requires_grad());
  return w;
}

}  // namespace

Tensor concat(const std::vector<Tensor>& xs, int64_t axis) {
  Tensor out = kernels::concat(xs, axis);
  const std::vector<const Tensor*> inputs = pointers(xs);
  if (!needs_grad(inputs)) return out;
  const int a = xs[0].shape().wrap_dim(axis, "concat");
  std::vector<int64_t> lengths;
  for (const Tensor& x : xs) lengths.push_back(x.size(a));
  record("ConcatBackward", inputs, {&out}, [a, lengths, wanted = wants_grad(xs)](Grads& g) -> Grads {
    // Input i's gradient is its own stretch of the output gradient along the axis.
    return kernels::split(g[0], a, lengths, wanted);
  });
  return out;
}

Tensor stack(const std::vector<Tensor>& xs, int64_t axis) {
  Tensor out = kernels::stack(xs, axis);
  const std::vector<const Tensor*> inputs = pointers(xs);
  if (!needs_grad(inputs)) return out;
  const int a = out.shape().wrap_dim(axis, "stack");
  record("StackBackward", inputs, {&out}, [a, in = xs[0].shape(), wanted = wants_grad(xs)](Grads& g) -> Grads {
    // Input i's gradient is index i of the new axis.
    Grads grads = kernels::split(g[0], a, std::vector<int64_t>(wanted.size(), 1), wanted);
    for (Tensor& grad : grads)
      if (grad.defined()) grad = grad.view(in);
    return grads;
  });
  return out;
}

Tensor slice(const Tensor& x, int64_t axis, int64_t start, int64_t length) {
  Tensor out = kernels::slice(x, axis, start, length);
  if (needs_grad({&x})) {
    record("SliceBackward", {&x}, {&out}, [in = x.shape(), axis, start](Grads& g) -> Grads {
      return {kernels::slice_backward(g[0], in, axis, start)};
    });
  }
  return out;
}

Tensor crop2d(const Tensor& x, const std::vector<int64_t>& tops, const std::vector<int64_t>& lefts, int64_t height,
              int64_t width) {
  Tensor out = kernels::crop2d(x, tops, lefts, height, width);
  if (needs_grad({&x})) {
    record("Crop2dBackward", {&x}, {&out}, [in = x.shape(), tops, lefts](Grads& g) -> Grads {
      return {kernels::crop2d_backward(g[0], in, tops, lefts)};
    });
  }
  return out;
}

Tensor index_select(const Tensor& x, int64_t axis, const std::vector<int64_t>& index) {
  Tensor out = kernels::index_select(x, axis, index);
  if (needs_grad({&x})) {
    record("IndexSelectBackward", {&x}, {&out}, [in = x.shape(), axis, index](Grads& g) -> Grads {
      return {kernels::index_select_backward(g[0], in, axis, index)};
    });
  }
  return out;
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  std::vector<int64_t> dims(static_cast<size_t>(x.dim()));
  std::iota(dims.begin(), dims.end(), int64_t{0});
  std::swap(dims[x.shape().wrap_dim(dim0, "transpose")], dims[x.shape().wrap_dim(dim1, "transpose")]);
  return permute(x, dims);  // differentiable: its backward permutes back
}

}  // namespace fh
