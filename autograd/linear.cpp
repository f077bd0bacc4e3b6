#include "autograd/linear.h"

#include "autograd/node.h"
#include "kernels/linear.h"

namespace fh {

using autograd::needs_grad;
using autograd::record;
using Grads = std::vector<Tensor>;

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

}  // namespace fh
