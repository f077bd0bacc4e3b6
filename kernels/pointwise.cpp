#include "kernels/pointwise.h"

#include <cmath>
#include <limits>

#include "kernels/dispatch.h"
#include "kernels/core.h"

namespace fh::kernels {

using detail::check_float;
using detail::check_same;

const char* op_name(ActivationOp op) {
  switch (op) {
    case ActivationOp::LeakyRelu: return "leaky_relu";
    case ActivationOp::Tanh: return "tanh";
    case ActivationOp::Sigmoid: return "sigmoid";
    case ActivationOp::Sqrt: return "sqrt";
    case ActivationOp::Sin: return "sin";
    case ActivationOp::Cos: return "cos";
    case ActivationOp::Acos: return "acos";
    case ActivationOp::Clamp: return "clamp";
    case ActivationOp::AcosClamped: return "acos_clamped";
  }
  return "activation";
}

const char* op_name(LossOp op) {
  switch (op) {
    case LossOp::L1: return "l1_loss";
    case LossOp::Mse: return "mse_loss";
    case LossOp::HingeReal: return "hinge_real";
    case LossOp::HingeFake: return "hinge_fake";
    case LossOp::HingeGenerator: return "hinge_generator";
  }
  return "loss";
}

namespace {

void check_params(ActivationOp op, const ActivationParams& p) {
  if (op == ActivationOp::Clamp || op == ActivationOp::AcosClamped) {
    FH_CHECK(!std::isnan(p.lo) && !std::isnan(p.hi), op_name(op), "bounds must not be NaN, got lo ", p.lo, " hi ",
             p.hi);
  }
}

SoftmaxLayout softmax_layout(const char* op, const Shape& shape, int64_t dim) {
  SoftmaxLayout L;
  if (shape.size() == 0) {
    FH_CHECK(dim == 0 || dim == -1, op, "dim ", dim, " is out of range for a 0-d tensor");
    return L;
  }
  const int d = shape.wrap_dim(dim, op);
  for (int i = 0; i < d; ++i) L.outer *= shape[i];
  L.axis = shape[d];
  for (int i = d + 1; i < shape.size(); ++i) L.inner *= shape[i];
  return L;
}

}  // namespace

Tensor activation(ActivationOp op, const Tensor& x, const ActivationParams& params) {
  const char* name = op_name(op);
  check_float(name, x);
  check_params(op, params);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (x.numel() == 0) return out;
  FH_BACKEND(x.device(), activation_forward, op, params, x, out);
  return out;
}

Tensor activation_backward(ActivationOp op, const Tensor& grad, const Tensor& saved, const ActivationParams& params) {
  const char* name = op_name(op);
  check_same(name, grad, saved);
  check_float(name, grad);
  check_params(op, params);
  FH_CHECK(grad.shape() == saved.shape(), name, "gradient ", grad.describe(), " does not match the saved ",
           backward_reads_output(op) ? "output " : "input ", saved.describe());
  Tensor grad_in = Tensor::empty(saved.shape(), saved.dtype(), saved.device());
  if (saved.numel() == 0) return grad_in;
  FH_BACKEND(saved.device(), activation_backward, op, params, grad, saved, grad_in);
  return grad_in;
}

Tensor softmax(const Tensor& x, int64_t dim) {
  check_float("softmax", x);
  const SoftmaxLayout layout = softmax_layout("softmax", x.shape(), dim);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (x.numel() == 0) return y;
  FH_BACKEND(x.device(), softmax_forward, x, layout, y);
  return y;
}

Tensor softmax_backward(const Tensor& grad, const Tensor& y, int64_t dim) {
  check_same("softmax_backward", grad, y);
  check_float("softmax_backward", grad);
  FH_CHECK(grad.shape() == y.shape(), "softmax_backward", "gradient ", grad.describe(), " does not match the output ",
           y.describe());
  const SoftmaxLayout layout = softmax_layout("softmax_backward", y.shape(), dim);
  Tensor grad_in = Tensor::empty(y.shape(), y.dtype(), y.device());
  if (y.numel() == 0) return grad_in;
  FH_BACKEND(y.device(), softmax_backward, grad, y, layout, grad_in);
  return grad_in;
}

namespace {

void check_loss_operands(LossOp op, const Tensor& a, const Tensor& b) {
  const char* name = op_name(op);
  check_float(name, a);
  if (loss_is_binary(op)) {
    FH_CHECK(b.defined(), name, "needs two tensors; the second is undefined (first ", a.describe(), ")");
    check_same(name, a, b);
    FH_CHECK(a.shape() == b.shape(), name, "operands differ in shape: ", a.shape(), " and ", b.shape());
  } else {
    FH_CHECK(!b.defined(), name, "takes one tensor, got ", a.describe(), " and ", b.describe());
  }
}

}  // namespace

Tensor loss(LossOp op, const Tensor& a, const Tensor& b) {
  check_loss_operands(op, a, b);
  Tensor out = Tensor::empty(Shape{}, a.dtype(), a.device());
  if (a.numel() == 0) {
    // The mean of nothing, as in PyTorch.
    fill(out, std::numeric_limits<double>::quiet_NaN());
    return out;
  }
  FH_BACKEND(a.device(), loss_forward, op, a, b, out);
  return out;
}

LossGrads loss_backward(LossOp op, const Tensor& grad_out, const Tensor& a, const Tensor& b, bool want_a,
                        bool want_b) {
  const char* name = op_name(op);
  check_loss_operands(op, a, b);
  check_same(name, grad_out, a);
  FH_CHECK(grad_out.numel() == 1, name, "the loss gradient must have one element, got ", grad_out.describe());
  FH_CHECK(!want_b || loss_is_binary(op), name, "has no second operand to differentiate");
  LossGrads grads;
  if (want_a) grads.a = Tensor::empty(a.shape(), a.dtype(), a.device());
  if (want_b) grads.b = Tensor::empty(b.shape(), b.dtype(), b.device());
  if (a.numel() == 0 || !(want_a || want_b)) return grads;
  FH_BACKEND(a.device(), loss_backward, op, grad_out, a, b, grads.a, grads.b);
  return grads;
}

}  // namespace fh::kernels
