#include "autograd/ops.h"

#include "autograd/node.h"
#include "kernels/core.h"

namespace fh {

using autograd::needs_grad;
using autograd::record;
using kernels::BinaryOp;
using kernels::UnaryOp;
using Grads = std::vector<Tensor>;

namespace {

Tensor binary_op(BinaryOp op, const char* node_name, const Tensor& a, const Tensor& b) {
  Tensor out = kernels::binary(op, a, b);
  if (!needs_grad({&a, &b})) return out;
  const bool ga = a.requires_grad(), gb = b.requires_grad();
  const Shape sa = a.shape(), sb = b.shape();
  // Save only what this op's backward reads; saved tensors are detached (no graph cycles).
  // mul: da needs b, db needs a. div: da needs b, db needs a and b.
  const bool save_a = (op == BinaryOp::Mul || op == BinaryOp::Div) && gb;
  const bool save_b = (op == BinaryOp::Mul && ga) || op == BinaryOp::Div;
  const Tensor a_saved = save_a ? a.detach() : Tensor();
  const Tensor b_saved = save_b ? b.detach() : Tensor();
  record(node_name, {&a, &b}, {&out}, [=](Grads& g) -> Grads {
    const Tensor& go = g[0];
    Tensor da, db;
    switch (op) {
      case BinaryOp::Add:
        if (ga) da = kernels::sum_to_shape(go, sa);
        if (gb) db = kernels::sum_to_shape(go, sb);
        break;
      case BinaryOp::Sub:
        if (ga) da = kernels::sum_to_shape(go, sa);
        if (gb) db = kernels::unary(UnaryOp::Neg, kernels::sum_to_shape(go, sb));
        break;
      case BinaryOp::Mul:
        if (ga) da = kernels::sum_to_shape(kernels::binary(BinaryOp::Mul, go, b_saved), sa);
        if (gb) db = kernels::sum_to_shape(kernels::binary(BinaryOp::Mul, go, a_saved), sb);
        break;
      case BinaryOp::Div:
        if (ga) da = kernels::sum_to_shape(kernels::binary(BinaryOp::Div, go, b_saved), sa);
        if (gb) {
          // d(a/b)/db = -a / b²
          const Tensor num = kernels::binary(BinaryOp::Mul, go, a_saved);
          const Tensor den = kernels::binary(BinaryOp::Mul, b_saved, b_saved);
          db = kernels::unary(UnaryOp::Neg, kernels::sum_to_shape(kernels::binary(BinaryOp::Div, num, den), sb));
        }
        break;
    }
    return {da, db};
  });
  return out;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::Add, "AddBackward", a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::Sub, "SubBackward", a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::Mul, "MulBackward", a, b); }
Tensor div(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::Div, "DivBackward", a, b); }

Tensor neg(const Tensor& x) { return scale(x, -1.0); }

Tensor scale(const Tensor& x, double alpha) {
  Tensor out = kernels::unary(UnaryOp::Scale, x, alpha);
  if (needs_grad({&x})) {
    record("ScaleBackward", {&x}, {&out}, [alpha](Grads& g) -> Grads { return {kernels::unary(UnaryOp::Scale, g[0], alpha)}; });
  }
  return out;
}

Tensor add_scalar(const Tensor& x, double alpha) {
  Tensor out = kernels::unary(UnaryOp::AddScalar, x, alpha);
  if (needs_grad({&x})) record("AddScalarBackward", {&x}, {&out}, [](Grads& g) -> Grads { return {g[0]}; });
  return out;
}

Tensor relu(const Tensor& x) {
  Tensor out = kernels::unary(UnaryOp::Relu, x);
  if (needs_grad({&x})) {
    record("ReluBackward", {&x}, {&out},
           [y = out.detach()](Grads& g) -> Grads { return {kernels::relu_backward(g[0], y)}; });
  }
  return out;
}

Tensor exp(const Tensor& x) {
  Tensor out = kernels::unary(UnaryOp::Exp, x);
  if (needs_grad({&x})) {
    record("ExpBackward", {&x}, {&out},
           [y = out.detach()](Grads& g) -> Grads { return {kernels::binary(BinaryOp::Mul, g[0], y)}; });
  }
  return out;
}

Tensor log(const Tensor& x) {
  Tensor out = kernels::unary(UnaryOp::Log, x);
  if (needs_grad({&x})) {
    record("LogBackward", {&x}, {&out},
           [xs = x.detach()](Grads& g) -> Grads { return {kernels::binary(BinaryOp::Div, g[0], xs)}; });
  }
  return out;
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  Tensor out = kernels::matmul(a, b);
  if (!needs_grad({&a, &b})) return out;
  const bool ga = a.requires_grad(), gb = b.requires_grad();
  record("MatmulBackward", {&a, &b}, {&out}, [ga, gb, as = a.detach(), bs = b.detach()](Grads& g) -> Grads {
    // C = A·B: dA = dC·Bᵀ, dB = Aᵀ·dC, each summed over the batch dims its operand was broadcast along.
    Tensor da, db;
    if (ga) da = kernels::sum_to_shape(kernels::matmul(g[0], bs, false, true), as.shape());
    if (gb) db = kernels::sum_to_shape(kernels::matmul(as, g[0], true, false), bs.shape());
    return {da, db};
  });
  return out;
}

namespace {

// The shape a reduced tensor has with keepdim, to broadcast gradients back.
Shape keepdim_shape(const Shape& in, const std::vector<int64_t>& dims) {
  Shape out = in;
  if (dims.empty()) {
    for (int d = 0; d < in.size(); ++d) out[d] = 1;
  } else {
    for (int64_t d : dims) out[in.wrap_dim(d, "sum")] = 1;
  }
  return out;
}

Tensor reduce_op(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim, bool is_mean) {
  Tensor total = kernels::sum(x, dims, keepdim);
  const Shape kept = keepdim_shape(x.shape(), dims);
  const int64_t count = kept.numel() == 0 ? 0 : x.numel() / kept.numel();
  const double factor = is_mean ? 1.0 / static_cast<double>(count) : 1.0;
  Tensor out = is_mean ? kernels::unary(UnaryOp::Scale, total, factor) : total;
  if (needs_grad({&x})) {
    record(is_mean ? "MeanBackward" : "SumBackward", {&x}, {&out}, [kept, factor, in = x.shape(), is_mean](Grads& g) -> Grads {
      Tensor grad = kernels::broadcast_to(g[0].view(kept), in);
      return {is_mean ? kernels::unary(UnaryOp::Scale, grad, factor) : grad};
    });
  }
  return out;
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) { return reduce_op(x, dims, keepdim, false); }
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) { return reduce_op(x, dims, keepdim, true); }

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  Tensor out = kernels::permute(x, dims);
  if (needs_grad({&x})) {
    // The gradient goes back through the inverse permutation.
    std::vector<int64_t> inverse(dims.size());
    for (size_t d = 0; d < dims.size(); ++d) inverse[x.shape().wrap_dim(dims[d], "permute")] = static_cast<int64_t>(d);
    record("PermuteBackward", {&x}, {&out}, [inverse](Grads& g) -> Grads { return {kernels::permute(g[0], inverse)}; });
  }
  return out;
}

Tensor reshape(const Tensor& x, const std::vector<int64_t>& shape) {
  Shape target;
  int inferred = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      FH_CHECK(inferred < 0, "reshape", "only one size may be -1 (reshaping ", x.shape(), ")");
      inferred = static_cast<int>(i);
      target.push_back(1);
    } else {
      FH_CHECK(shape[i] >= 0, "reshape", "sizes must be >= 0 or -1, got ", shape[i]);
      target.push_back(shape[i]);
      known *= shape[i];
    }
  }
  if (inferred >= 0) {
    FH_CHECK(known > 0 && x.numel() % known == 0, "reshape", "cannot infer the -1 size reshaping ", x.shape(),
             " (", x.numel(), " elements) with known sizes multiplying to ", known);
    target[inferred] = x.numel() / known;
  }
  FH_CHECK(target.numel() == x.numel(), "reshape", "cannot reshape ", x.shape(), " (", x.numel(), " elements) to ",
           target, " (", target.numel(), " elements)");
  Tensor out = x.view(target);
  if (needs_grad({&x})) {
    record("ReshapeBackward", {&x}, {&out}, [in = x.shape()](Grads& g) -> Grads { return {g[0].view(in)}; });
  }
  return out;
}

}  // namespace fh
