#include "autograd/conv.h"

#include <numeric>
#include <vector>

#include "autograd/node.h"
#include "autograd/ops.h"
#include "kernels/conv.h"

namespace fh {

using autograd::needs_grad;
using autograd::record;
using Grads = std::vector<Tensor>;

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t padding) {
  Tensor out = kernels::conv2d(x, weight, bias, stride, padding);
  if (!needs_grad({&x, &weight, &bias})) return out;
  const bool gx = x.requires_grad(), gw = weight.requires_grad(), gb = bias.defined() && bias.requires_grad();
  // The input gradient reads the weight, the weight gradient reads the input.
  const Tensor x_saved = gw ? x.detach() : Tensor();
  const Tensor w_saved = gx ? weight.detach() : Tensor();
  record("Conv2dBackward", {&x, &weight, &bias}, {&out},
         [=, x_shape = x.shape(), w_shape = weight.shape()](Grads& g) -> Grads {
           Tensor dx, dw, db;
           if (gx) dx = kernels::conv2d_backward_input(g[0], w_saved, x_shape, stride, padding);
           if (gw) dw = kernels::conv2d_backward_weight(g[0], x_saved, w_shape, stride, padding);
           if (gb) db = kernels::conv2d_backward_bias(g[0]);
           return {dx, dw, db};
         });
  return out;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  Tensor out = kernels::linear(x, weight, bias);
  if (!needs_grad({&x, &weight, &bias})) return out;
  const bool gx = x.requires_grad(), gw = weight.requires_grad(), gb = bias.defined() && bias.requires_grad();
  const Tensor x_saved = gw ? x.detach() : Tensor();
  const Tensor w_saved = gx ? weight.detach() : Tensor();
  record("LinearBackward", {&x, &weight, &bias}, {&out}, [=, x_shape = x.shape()](Grads& g) -> Grads {
    Tensor dx, dw, db;
    if (gx) dx = kernels::linear_backward_input(g[0], w_saved, x_shape);
    if (gw) dw = kernels::linear_backward_weight(g[0], x_saved);
    if (gb) db = kernels::linear_backward_bias(g[0]);
    return {dx, dw, db};
  });
  return out;
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  std::vector<int64_t> dims(static_cast<size_t>(x.dim()));
  std::iota(dims.begin(), dims.end(), int64_t{0});
  std::swap(dims[x.shape().wrap_dim(dim0, "transpose")], dims[x.shape().wrap_dim(dim1, "transpose")]);
  return permute(x, dims);  // differentiable: its backward permutes back
}

}  // namespace fh
