#include "autograd/conv.h"

#include <vector>

#include "autograd/node.h"
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

}  // namespace fh
