// Entry points of pooling and nearest-neighbour resizing: validate, allocate, dispatch.
#include "kernels/pool.h"

#include "kernels/dispatch.h"
#include "kernels/core.h"

namespace fh::kernels {

using detail::check_float;

namespace {

std::string window_text(const PoolWindow& w) {
  return ::fh::detail::cat("kernel ", w.kernel_h, "x", w.kernel_w, ", stride ", w.stride_h, "x", w.stride_w, ", padding ",
                     w.pad_h, "x", w.pad_w);
}

// Validates `window` against an input of shape `in` and returns the geometry.
Pool2dGeometry pool_geometry(const char* op, const Shape& in, const PoolWindow& w) {
  check_nhwc(op, "input", in);
  FH_CHECK(w.kernel_h >= 1 && w.kernel_w >= 1 && w.stride_h >= 1 && w.stride_w >= 1, op,
           "kernel and stride must be >= 1, got ", window_text(w), " for input ", in);
  FH_CHECK(w.pad_h >= 0 && w.pad_w >= 0 && 2 * w.pad_h <= w.kernel_h && 2 * w.pad_w <= w.kernel_w, op,
           "padding must be between 0 and half the kernel, got ", window_text(w), " for input ", in);
  FH_CHECK(in[1] + 2 * w.pad_h >= w.kernel_h && in[2] + 2 * w.pad_w >= w.kernel_w, op, "input ", in,
           " is smaller than the window (", window_text(w), "): the padded image is ", in[1] + 2 * w.pad_h, "x",
           in[2] + 2 * w.pad_w);
  Pool2dGeometry g;
  g.batch = in[0];
  g.in_h = in[1];
  g.in_w = in[2];
  g.channels = in[3];
  g.out_h = (in[1] + 2 * w.pad_h - w.kernel_h) / w.stride_h + 1;
  g.out_w = (in[2] + 2 * w.pad_w - w.kernel_w) / w.stride_w + 1;
  g.window = w;
  return g;
}

Shape output_shape(const Pool2dGeometry& g) { return {g.batch, g.out_h, g.out_w, g.channels}; }

// A backward pass's incoming gradient must have the forward output's shape.
void check_grad_shape(const char* op, const Tensor& grad_out, const Shape& expected, const Shape& input_shape) {
  FH_CHECK(grad_out.shape() == expected, op, "gradient ", grad_out.shape(), " does not match the output ", expected,
           " of input ", input_shape);
}

}  // namespace

Tensor avg_pool2d(const Tensor& x, const PoolWindow& window, bool count_include_pad) {
  check_float("avg_pool2d", x);
  const Pool2dGeometry g = pool_geometry("avg_pool2d", x.shape(), window);
  Tensor out = Tensor::empty(output_shape(g), x.dtype(), x.device());
  if (out.numel() == 0) return out;
  FH_BACKEND(x.device(), avg_pool2d, x, g, count_include_pad, out);
  return out;
}

Tensor avg_pool2d_backward(const Tensor& grad_out, const Shape& input_shape, const PoolWindow& window,
                           bool count_include_pad) {
  check_float("avg_pool2d_backward", grad_out);
  const Pool2dGeometry g = pool_geometry("avg_pool2d_backward", input_shape, window);
  check_grad_shape("avg_pool2d_backward", grad_out, output_shape(g), input_shape);
  Tensor grad_in = Tensor::empty(input_shape, grad_out.dtype(), grad_out.device());
  if (grad_in.numel() == 0) return grad_in;
  FH_BACKEND(grad_out.device(), avg_pool2d_backward, grad_out, g, count_include_pad, grad_in);
  return grad_in;
}

MaxPoolResult max_pool2d(const Tensor& x, const PoolWindow& window) {
  check_float("max_pool2d", x);
  const Pool2dGeometry g = pool_geometry("max_pool2d", x.shape(), window);
  MaxPoolResult r{Tensor::empty(output_shape(g), x.dtype(), x.device()),
                  Tensor::empty(output_shape(g), DType::I64, x.device())};
  if (r.output.numel() == 0) return r;
  FH_BACKEND(x.device(), max_pool2d, x, g, r.output, r.indices);
  return r;
}

Tensor max_pool2d_backward(const Tensor& grad_out, const Tensor& indices, const Shape& input_shape,
                           const PoolWindow& window, bool indices_from_forward) {
  check_float("max_pool2d_backward", grad_out);
  const Pool2dGeometry g = pool_geometry("max_pool2d_backward", input_shape, window);
  check_grad_shape("max_pool2d_backward", grad_out, output_shape(g), input_shape);
  FH_CHECK(indices.dtype() == DType::I64 && indices.shape() == grad_out.shape() &&
               indices.device() == grad_out.device(),
           "max_pool2d_backward", "indices ", indices.describe(), " must be int64 like the gradient ",
           grad_out.describe());
  Tensor grad_in = Tensor::empty(input_shape, grad_out.dtype(), grad_out.device());
  if (grad_in.numel() == 0) return grad_in;
  FH_BACKEND(grad_out.device(), max_pool2d_backward, grad_out, indices, g, !indices_from_forward, grad_in);
  return grad_in;
}

Tensor global_avg_pool(const Tensor& x) {
  check_float("global_avg_pool", x);
  check_nhwc("global_avg_pool", "input", x.shape());
  FH_CHECK(x.size(1) > 0 && x.size(2) > 0, "global_avg_pool", "input ", x.shape(), " has no pixels to average");
  Tensor out = Tensor::empty({x.size(0), x.size(3)}, x.dtype(), x.device());
  if (out.numel() == 0) return out;
  FH_BACKEND(x.device(), global_avg_pool, x, out);
  return out;
}

Tensor global_avg_pool_backward(const Tensor& grad_out, const Shape& input_shape) {
  check_float("global_avg_pool_backward", grad_out);
  check_nhwc("global_avg_pool_backward", "input", input_shape);
  check_grad_shape("global_avg_pool_backward", grad_out, {input_shape[0], input_shape[3]}, input_shape);
  Tensor grad_in = Tensor::empty(input_shape, grad_out.dtype(), grad_out.device());
  if (grad_in.numel() == 0) return grad_in;
  FH_BACKEND(grad_out.device(), global_avg_pool_backward, grad_out, grad_in);
  return grad_in;
}

Tensor resize_nearest(const Tensor& x, int64_t out_h, int64_t out_w) {
  check_float("resize_nearest", x);
  check_nhwc("resize_nearest", "input", x.shape());
  FH_CHECK(x.size(1) > 0 && x.size(2) > 0 && out_h > 0 && out_w > 0, "resize_nearest", "input ", x.shape(),
           " and output size ", out_h, "x", out_w, " must both have positive height and width");
  Tensor out = Tensor::empty({x.size(0), out_h, out_w, x.size(3)}, x.dtype(), x.device());
  if (out.numel() == 0) return out;
  FH_BACKEND(x.device(), resize_nearest, x, out);
  return out;
}

Tensor resize_nearest_backward(const Tensor& grad_out, const Shape& input_shape) {
  check_float("resize_nearest_backward", grad_out);
  check_nhwc("resize_nearest_backward", "input", input_shape);
  check_nhwc("resize_nearest_backward", "gradient", grad_out.shape());
  FH_CHECK(input_shape[1] > 0 && input_shape[2] > 0 && grad_out.size(1) > 0 && grad_out.size(2) > 0,
           "resize_nearest_backward", "input ", input_shape, " and gradient ", grad_out.shape(),
           " must both have positive height and width");
  check_grad_shape("resize_nearest_backward", grad_out,
                   {input_shape[0], grad_out.size(1), grad_out.size(2), input_shape[3]}, input_shape);
  Tensor grad_in = Tensor::empty(input_shape, grad_out.dtype(), grad_out.device());
  if (grad_in.numel() == 0) return grad_in;
  FH_BACKEND(grad_out.device(), resize_nearest_backward, grad_out, grad_in);
  return grad_in;
}

}  // namespace fh::kernels
