// Differentiable pooling and resizing: kernels forward, their backward kernels in the nodes.
#include "autograd/pool.h"

#include "autograd/node.h"
#include "kernels/pool.h"

namespace fh {

using autograd::needs_grad;
using autograd::record;
using Grads = std::vector<Tensor>;

Tensor avg_pool2d(const Tensor& x, const PoolWindow& window, bool count_include_pad) {
  Tensor out = kernels::avg_pool2d(x, window, count_include_pad);
  if (needs_grad({&x})) {
    record("AvgPool2dBackward", {&x}, {&out}, [in = x.shape(), window, count_include_pad](Grads& g) -> Grads {
      return {kernels::avg_pool2d_backward(g[0], in, window, count_include_pad)};
    });
  }
  return out;
}

Tensor max_pool2d(const Tensor& x, const PoolWindow& window) {
  kernels::MaxPoolResult r = kernels::max_pool2d(x, window);
  if (needs_grad({&x})) {
    // The argmax positions are all the backward needs (int64, outside the graph).
    record("MaxPool2dBackward", {&x}, {&r.output}, [in = x.shape(), window, at = r.indices](Grads& g) -> Grads {
      return {kernels::max_pool2d_backward(g[0], at, in, window, /*indices_from_forward=*/true)};
    });
  }
  return r.output;
}

Tensor global_avg_pool(const Tensor& x) {
  Tensor out = kernels::global_avg_pool(x);
  if (needs_grad({&x})) {
    record("GlobalAvgPoolBackward", {&x}, {&out},
           [in = x.shape()](Grads& g) -> Grads { return {kernels::global_avg_pool_backward(g[0], in)}; });
  }
  return out;
}

Tensor resize_nearest(const Tensor& x, int64_t out_h, int64_t out_w) {
  Tensor out = kernels::resize_nearest(x, out_h, out_w);
  if (needs_grad({&x})) {
    record("ResizeNearestBackward", {&x}, {&out},
           [in = x.shape()](Grads& g) -> Grads { return {kernels::resize_nearest_backward(g[0], in)}; });
  }
  return out;
}

}  // namespace fh
