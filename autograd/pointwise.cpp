#include "autograd/pointwise.h"

#include <string>

#include "autograd/node.h"
#include "kernels/pointwise.h"

namespace fh {

using autograd::needs_grad;
using autograd::record;
using kernels::ActivationOp;
using kernels::ActivationParams;
using kernels::LossOp;
using Grads = std::vector<Tensor>;

namespace {

const char* node_name(ActivationOp op) {
  switch (op) {
    case ActivationOp::LeakyRelu: return "LeakyReluBackward";
    case ActivationOp::Tanh: return "TanhBackward";
    case ActivationOp::Sigmoid: return "SigmoidBackward";
    case ActivationOp::Sqrt: return "SqrtBackward";
    case ActivationOp::Sin: return "SinBackward";
    case ActivationOp::Cos: return "CosBackward";
    case ActivationOp::Acos: return "AcosBackward";
    case ActivationOp::Clamp: return "ClampBackward";
    case ActivationOp::AcosClamped: return "AcosClampedBackward";
  }
  return "ActivationBackward";
}

Tensor activation_op(ActivationOp op, const Tensor& x, const ActivationParams& params = {}) {
  Tensor out = kernels::activation(op, x, params);
  if (needs_grad({&x})) {
    // Only the one tensor the derivative reads is kept, detached.
    const Tensor saved = kernels::backward_reads_output(op) ? out.detach() : x.detach();
    record(node_name(op), {&x}, {&out}, [op, params, saved](Grads& g) -> Grads {
      return {kernels::activation_backward(op, g[0], saved, params)};
    });
  }
  return out;
}

const char* node_name(LossOp op) {
  switch (op) {
    case LossOp::L1: return "L1LossBackward";
    case LossOp::Mse: return "MseLossBackward";
    case LossOp::HingeReal: return "HingeRealBackward";
    case LossOp::HingeFake: return "HingeFakeBackward";
    case LossOp::HingeGenerator: return "HingeGeneratorBackward";
  }
  return "LossBackward";
}

Tensor loss_op(LossOp op, const Tensor& a, const Tensor& b = Tensor()) {
  Tensor out = kernels::loss(op, a, b);
  if (needs_grad({&a, &b})) {
    const bool ga = a.requires_grad(), gb = b.defined() && b.requires_grad();
    // The backward kernel reads the operands (for the hinge generator term only a's size):
    // detached views, no copies.
    record(node_name(op), {&a, &b}, {&out},
           [op, ga, gb, as = a.detach(), bs = b.defined() ? b.detach() : Tensor()](Grads& g) -> Grads {
             kernels::LossGrads grads = kernels::loss_backward(op, g[0], as, bs, ga, gb);
             return {grads.a, grads.b};
           });
  }
  return out;
}

}  // namespace

Tensor leaky_relu(const Tensor& x, double slope) {
  ActivationParams p;
  p.slope = slope;
  return activation_op(ActivationOp::LeakyRelu, x, p);
}

Tensor tanh(const Tensor& x) { return activation_op(ActivationOp::Tanh, x); }
Tensor sigmoid(const Tensor& x) { return activation_op(ActivationOp::Sigmoid, x); }
Tensor sqrt(const Tensor& x) { return activation_op(ActivationOp::Sqrt, x); }
Tensor sin(const Tensor& x) { return activation_op(ActivationOp::Sin, x); }
Tensor cos(const Tensor& x) { return activation_op(ActivationOp::Cos, x); }
Tensor acos(const Tensor& x) { return activation_op(ActivationOp::Acos, x); }

Tensor clamp(const Tensor& x, double lo, double hi) {
  ActivationParams p;
  p.lo = lo;
  p.hi = hi;
  return activation_op(ActivationOp::Clamp, x, p);
}

Tensor acos_clamped(const Tensor& x, double eps) {
  FH_CHECK(eps >= 0.0 && eps < 1.0, "acos_clamped", "eps must be in [0, 1), got ", eps, " (input ", x.describe(), ")");
  // The bounds are formed in double and rounded to x's dtype by the kernel, as PyTorch
  // rounds the Python floats -1 + eps and 1 - eps.
  ActivationParams p;
  p.lo = -1.0 + eps;
  p.hi = 1.0 - eps;
  return activation_op(ActivationOp::AcosClamped, x, p);
}

Tensor softmax(const Tensor& x, int64_t dim) {
  Tensor out = kernels::softmax(x, dim);
  if (needs_grad({&x})) {
    record("SoftmaxBackward", {&x}, {&out}, [dim, y = out.detach()](Grads& g) -> Grads {
      return {kernels::softmax_backward(g[0], y, dim)};
    });
  }
  return out;
}

Tensor l1_loss(const Tensor& a, const Tensor& b) { return loss_op(LossOp::L1, a, b); }
Tensor mse_loss(const Tensor& a, const Tensor& b) { return loss_op(LossOp::Mse, a, b); }
Tensor hinge_real(const Tensor& d) { return loss_op(LossOp::HingeReal, d); }
Tensor hinge_fake(const Tensor& d) { return loss_op(LossOp::HingeFake, d); }
Tensor hinge_generator(const Tensor& d) { return loss_op(LossOp::HingeGenerator, d); }

}  // namespace fh
