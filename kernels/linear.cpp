#include "kernels/linear.h"

#include "kernels/core.h"
#include "kernels/dispatch.h"

namespace fh::kernels {

using detail::check_float;
using detail::check_same;

namespace {

// x [..., in] as a [rows, in] matrix.
Tensor as_rows(const Tensor& x) {
  int64_t rows = 1;
  for (int d = 0; d + 1 < x.dim(); ++d) rows *= x.size(d);
  return x.view(Shape{rows, x.size(-1)});
}

// x_shape with its last size replaced.
Shape with_last(Shape shape, int64_t last) {
  shape[shape.size() - 1] = last;
  return shape;
}

}  // namespace

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias) {
  check_same("linear", x, w);
  check_float("linear", x);
  FH_CHECK(x.dim() >= 1 && w.dim() == 2, "linear", "needs input [..., in] and weight [out, in], got input ", x.shape(),
           " and weight ", w.shape());
  FH_CHECK(x.size(-1) == w.size(1), "linear", "input ", x.shape(), " has in=", x.size(-1), " but weight ", w.shape(),
           " expects in=", w.size(1));
  if (bias.defined()) {
    check_same("linear", x, bias);
    FH_CHECK(bias.dim() == 1 && bias.size(0) == w.size(0), "linear", "bias ", bias.shape(), " does not match weight ",
             w.shape(), " (expected [", w.size(0), "])");
  }
  Tensor out = matmul(as_rows(x), w, false, true);
  if (bias.defined() && out.numel() > 0) binary_(BinaryOp::Add, out, bias);
  return out.view(with_last(x.shape(), w.size(0)));
}

Tensor linear_backward_input(const Tensor& grad_out, const Tensor& w, const Shape& x_shape) {
  FH_CHECK(w.dim() == 2 && x_shape.size() >= 1 && x_shape[x_shape.size() - 1] == w.size(1) &&
               grad_out.shape() == with_last(x_shape, w.size(0)),
           "linear_backward_input", "gradient ", grad_out.shape(), " does not match input ", x_shape, " and weight ",
           w.shape());
  return matmul(as_rows(grad_out), w).view(x_shape);
}

Tensor linear_backward_weight(const Tensor& grad_out, const Tensor& x) {
  FH_CHECK(x.dim() >= 1 && grad_out.dim() == x.dim() && grad_out.shape() == with_last(x.shape(), grad_out.size(-1)),
           "linear_backward_weight", "gradient ", grad_out.shape(), " does not match input ", x.shape());
  return matmul(as_rows(grad_out), as_rows(x), true, false);
}

Tensor linear_backward_bias(const Tensor& grad_out) { return sum(as_rows(grad_out), {0}, false); }

}  // namespace fh::kernels
