#include "kernels/warp.h"

#include "kernels/dispatch.h"
#include "kernels/core.h"

namespace fh::kernels {

using detail::check_float;
using detail::check_same;

namespace {

// The operands of warp and its backward: same device and dtype, float, an image [N,H,W,C]
// (`image_name`: src, or grad_out when src itself is not needed), flow [N,H,W,2] and, when
// given, grad_out [N,H,W,C]. Errors name every operand.
void check_warp(const char* op, const char* image_name, const Tensor& image, const Tensor& flow,
                const Tensor* grad_out = nullptr) {
  // Built only when a check fails.
  auto all = [&] {
    return std::string(image_name) + " " + image.describe() + ", flow " + flow.describe() +
           (grad_out ? ", grad_out " + grad_out->describe() : std::string());
  };
  check_same(op, image, flow);
  check_float(op, image);
  if (image.dim() != 4) check_nhwc(op, image_name, image.shape(), all());
  FH_CHECK(flow.dim() == 4 && flow.size(0) == image.size(0) && flow.size(1) == image.size(1) &&
               flow.size(2) == image.size(2) && flow.size(3) == 2,
           op, "flow must be [N, H, W, 2] with ", image_name, "'s N, H, W (channel 0 = dx, 1 = dy); got ", all());
  if (grad_out) {
    check_same(op, image, *grad_out);
    FH_CHECK(grad_out->shape() == image.shape(), op, "grad_out must have the output's shape (src's); got ", all());
  }
}

void check_fusion(const char* op, const Tensor& m, const Tensor& x, const Tensor* grad_out = nullptr) {
  auto all = [&] {
    return "m " + m.describe() + ", x " + x.describe() +
           (grad_out ? ", grad_out " + grad_out->describe() : std::string());
  };
  check_same(op, m, x);
  check_float(op, m);
  FH_CHECK(x.dim() == 5, op, "x must be [N, M, H, W, C] (M source images); got ", all());
  FH_CHECK(m.dim() == 5 && m.size(0) == x.size(0) && m.size(1) == x.size(1) && m.size(2) == x.size(2) &&
               m.size(3) == x.size(3) && m.size(4) == 1,
           op, "m must be [N, M, H, W, 1] with x's N, M, H, W; got ", all());
  FH_CHECK(x.size(1) >= 1, op, "needs at least one source image (M >= 1); got ", all());
  if (grad_out) {
    check_same(op, m, *grad_out);
    const Shape out{x.size(0), x.size(2), x.size(3), x.size(4)};
    FH_CHECK(grad_out->shape() == out, op, "grad_out must have the output's shape ", out, "; got ", all());
  }
}

// Validates a pixel (un)shuffle; returns the output shape.
Shape shuffle_shape(const char* op, const Tensor& x, int64_t r, bool to_high) {
  check_float(op, x);
  check_nhwc(op, "x", x.shape(), "r = " + std::to_string(r));
  FH_CHECK(r >= 1, op, "the factor r must be >= 1; got r = ", r, " for x ", x.describe());
  const int64_t N = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3);
  if (to_high) {
    FH_CHECK(C % (r * r) == 0, op, "channels must be a multiple of r² = ", r * r, "; got x ", x.describe(),
             " with r = ", r);
    return {N, H * r, W * r, C / (r * r)};
  }
  FH_CHECK(H % r == 0 && W % r == 0, op, "height and width must be multiples of r = ", r, "; got x ",
           x.describe());
  return {N, H / r, W / r, C * r * r};
}

}  // namespace

Tensor warp(const Tensor& src, const Tensor& flow) {
  check_warp("warp", "src", src, flow);
  Tensor out = Tensor::empty(src.shape(), src.dtype(), src.device());
  if (out.numel() == 0) return out;
  FH_BACKEND(src.device(), warp, src, flow, out);
  return out;
}

Tensor warp_backward_src(const Tensor& flow, const Tensor& grad_out) {
  check_warp("warp_backward_src", "grad_out", grad_out, flow);
  Tensor grad_src = Tensor::empty(grad_out.shape(), grad_out.dtype(), grad_out.device());
  if (grad_src.numel() == 0) return grad_src;
  FH_BACKEND(flow.device(), warp_backward_src, flow, grad_out, grad_src);
  return grad_src;
}

Tensor warp_backward_flow(const Tensor& src, const Tensor& flow, const Tensor& grad_out) {
  check_warp("warp_backward_flow", "src", src, flow, &grad_out);
  Tensor grad_flow = Tensor::empty(flow.shape(), flow.dtype(), flow.device());
  if (grad_flow.numel() == 0) return grad_flow;
  if (src.size(3) == 0) {
    fill(grad_flow, 0.0);
    return grad_flow;
  }
  FH_BACKEND(src.device(), warp_backward_flow, src, flow, grad_out, grad_flow);
  return grad_flow;
}

Tensor nshot_fusion(const Tensor& m, const Tensor& x) {
  check_fusion("nshot_fusion", m, x);
  Tensor out = Tensor::empty({x.size(0), x.size(2), x.size(3), x.size(4)}, x.dtype(), x.device());
  if (out.numel() == 0) return out;
  FH_BACKEND(x.device(), nshot_fusion, m, x, out);
  return out;
}

Tensor nshot_fusion_backward_x(const Tensor& m, const Tensor& grad_out) {
  const char* op = "nshot_fusion_backward_x";
  check_same(op, m, grad_out);
  check_float(op, m);
  FH_CHECK(m.dim() == 5 && m.size(4) == 1 && m.size(1) >= 1 && grad_out.dim() == 4 && grad_out.size(0) == m.size(0) &&
               grad_out.size(1) == m.size(2) && grad_out.size(2) == m.size(3),
           op, "needs m [N, M, H, W, 1] (M >= 1) and grad_out [N, H, W, C]; got m ", m.describe(), ", grad_out ",
           grad_out.describe());
  Tensor grad_x = Tensor::empty({m.size(0), m.size(1), m.size(2), m.size(3), grad_out.size(3)}, m.dtype(), m.device());
  if (grad_x.numel() == 0) return grad_x;
  FH_BACKEND(m.device(), nshot_fusion_backward_x, m, grad_out, grad_x);
  return grad_x;
}

Tensor nshot_fusion_backward_m(const Tensor& m, const Tensor& x, const Tensor& grad_out) {
  check_fusion("nshot_fusion_backward_m", m, x, &grad_out);
  Tensor grad_m = Tensor::empty(m.shape(), m.dtype(), m.device());
  if (grad_m.numel() == 0) return grad_m;
  if (x.size(4) == 0) {
    fill(grad_m, 0.0);
    return grad_m;
  }
  FH_BACKEND(m.device(), nshot_fusion_backward_m, m, x, grad_out, grad_m);
  return grad_m;
}

Tensor pixel_shuffle(const Tensor& x, int64_t r) {
  Tensor out = Tensor::empty(shuffle_shape("pixel_shuffle", x, r, true), x.dtype(), x.device());
  if (out.numel() == 0) return out;
  FH_BACKEND(x.device(), pixel_shuffle, x, r, out);
  return out;
}

Tensor pixel_unshuffle(const Tensor& x, int64_t r) {
  Tensor out = Tensor::empty(shuffle_shape("pixel_unshuffle", x, r, false), x.dtype(), x.device());
  if (out.numel() == 0) return out;
  FH_BACKEND(x.device(), pixel_unshuffle, x, r, out);
  return out;
}

}  // namespace fh::kernels
