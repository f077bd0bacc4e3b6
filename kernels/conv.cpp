#include "kernels/conv.h"

#include "kernels/dispatch.h"
#include "kernels/core.h"

namespace fh::kernels {

using detail::check_float;
using detail::check_same;

Conv2dParams conv2d_params(const char* op, const Shape& x, const Shape& w, int64_t stride, int64_t padding) {
  FH_CHECK(x.size() == 4, op, "input must be 4-d NHWC [N, H, W, Cin], got ", x, " (weight ", w, ")");
  FH_CHECK(w.size() == 4, op, "weight must be 4-d [Cout, kh, kw, Cin], got ", w, " (input ", x, ")");
  FH_CHECK(x[3] == w[3], op, "input ", x, " has Cin=", x[3], " but weight ", w, " expects Cin=", w[3]);
  FH_CHECK(w[1] >= 1 && w[2] >= 1, op, "kernel of weight ", w, " is empty");
  FH_CHECK(stride >= 1, op, "stride must be >= 1, got ", stride, " (input ", x, ", weight ", w, ")");
  FH_CHECK(padding >= 0, op, "padding must be >= 0, got ", padding, " (input ", x, ", weight ", w, ")");
  FH_CHECK(x[1] + 2 * padding >= w[1] && x[2] + 2 * padding >= w[2], op, "kernel ", w[1], "x", w[2], " of weight ", w,
           " is larger than input ", x, " padded by ", padding, " (", x[1] + 2 * padding, "x", x[2] + 2 * padding, ")");
  Conv2dParams p;
  p.N = x[0], p.H = x[1], p.W = x[2], p.Cin = x[3];
  p.Cout = w[0], p.kh = w[1], p.kw = w[2];
  p.stride = stride, p.pad = padding;
  p.Ho = (p.H + 2 * padding - p.kh) / stride + 1;
  p.Wo = (p.W + 2 * padding - p.kw) / stride + 1;
  return p;
}

namespace {

Shape output_shape(const Conv2dParams& p) { return Shape{p.N, p.Ho, p.Wo, p.Cout}; }

void check_grad_out(const char* op, const Tensor& grad_out, const Conv2dParams& p, const Shape& x, const Shape& w) {
  FH_CHECK(grad_out.shape() == output_shape(p), op, "gradient ", grad_out.shape(), " does not match the output ",
           output_shape(p), " of input ", x, " and weight ", w, " (stride ", p.stride, ", padding ", p.pad, ")");
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, int64_t stride, int64_t padding) {
  check_same("conv2d", x, w);
  check_float("conv2d", x);
  const Conv2dParams p = conv2d_params("conv2d", x.shape(), w.shape(), stride, padding);
  if (bias.defined()) {
    check_same("conv2d", x, bias);
    FH_CHECK(bias.dim() == 1 && bias.size(0) == p.Cout, "conv2d", "bias ", bias.shape(), " does not match weight ",
             w.shape(), " (expected [", p.Cout, "])");
  }
  Tensor out = Tensor::empty(output_shape(p), x.dtype(), x.device());
  if (out.numel() == 0) return out;
  if (p.Cin == 0)
    return bias.defined() ? broadcast_to(bias, out.shape()) : Tensor::zeros(out.shape(), x.dtype(), x.device());
  FH_BACKEND(x.device(), conv2d, x, w, bias, p, out);
  return out;
}

Tensor conv2d_backward_input(const Tensor& grad_out, const Tensor& w, const Shape& x_shape, int64_t stride,
                             int64_t padding) {
  const char* op = "conv2d_backward_input";
  check_same(op, grad_out, w);
  check_float(op, w);
  const Conv2dParams p = conv2d_params(op, x_shape, w.shape(), stride, padding);
  check_grad_out(op, grad_out, p, x_shape, w.shape());
  Tensor grad_in = Tensor::empty(x_shape, w.dtype(), w.device());
  if (grad_in.numel() == 0) return grad_in;
  if (p.Cout == 0) {
    fill(grad_in, 0.0);
    return grad_in;
  }
  FH_BACKEND(w.device(), conv2d_backward_input, grad_out, w, p, grad_in);
  return grad_in;
}

Tensor conv2d_backward_weight(const Tensor& grad_out, const Tensor& x, const Shape& w_shape, int64_t stride,
                              int64_t padding) {
  const char* op = "conv2d_backward_weight";
  check_same(op, grad_out, x);
  check_float(op, x);
  const Conv2dParams p = conv2d_params(op, x.shape(), w_shape, stride, padding);
  check_grad_out(op, grad_out, p, x.shape(), w_shape);
  Tensor grad_w = Tensor::empty(w_shape, x.dtype(), x.device());
  if (grad_w.numel() == 0) return grad_w;
  if (grad_out.numel() == 0) {
    fill(grad_w, 0.0);
    return grad_w;
  }
  FH_BACKEND(x.device(), conv2d_backward_weight, grad_out, x, p, grad_w);
  return grad_w;
}

Tensor conv2d_backward_bias(const Tensor& grad_out) {
  check_nhwc("conv2d_backward_bias", "gradient", grad_out.shape());
  return sum(grad_out, {0, 1, 2}, false);
}

}  // namespace fh::kernels
