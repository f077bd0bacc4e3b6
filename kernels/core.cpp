#include "kernels/core.h"

#include <algorithm>

#include "kernels/dispatch.h"

namespace fh::kernels {

namespace detail {

void no_cuda_build(const char* op) {
  FH_FAIL(op, "operand is on a CUDA device but this freehead was built without CUDA");
}

void check_float(const char* op, const Tensor& t) {
  FH_CHECK(t.dtype() == DType::F32 || t.dtype() == DType::F64, op, "needs float32 or float64, got ", t.describe());
}

void check_same(const char* op, const Tensor& a, const Tensor& b) {
  FH_CHECK(a.device() == b.device(), op, "operands are on different devices: ", a.describe(), " and ",
           b.describe());
  FH_CHECK(a.dtype() == b.dtype(), op, "operands have different dtypes: ", a.describe(), " and ", b.describe());
}

}  // namespace detail

using detail::check_float;
using detail::check_same;

void check_nhwc(const char* op, const char* name, const Shape& shape, const std::string& context) {
  FH_CHECK(shape.size() == 4, op, name, " ", shape, " must be a 4-d NHWC image batch [N, H, W, C]",
           context.empty() ? "" : " (", context, context.empty() ? "" : ")");
}

void fill(Tensor& out, double value) {
  if (out.numel() == 0) return;
  FH_BACKEND(out.device(), fill, out, value);
}

Tensor cast(const Tensor& x, DType dtype) {
  Tensor out = Tensor::empty(x.shape(), dtype, x.device());
  if (x.numel() == 0) return out;
  FH_BACKEND(x.device(), cast, x, out);
  return out;
}

Tensor copy(const Tensor& x) {
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (x.numel() == 0) return out;
  FH_BACKEND(x.device(), copy, x, out);
  return out;
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  const char* name = op_name(op);
  check_same(name, a, b);
  check_float(name, a);
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = Tensor::empty(shape, a.dtype(), a.device());
  if (out.numel() == 0) return out;
  const ElementwiseLayout layout = make_elementwise_layout(shape, a.shape(), b.shape());
  FH_BACKEND(a.device(), binary, op, a, b, layout, out);
  return out;
}

void binary_(BinaryOp op, Tensor& a, const Tensor& b) {
  const char* name = op_name(op);
  check_same(name, a, b);
  check_float(name, a);
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  FH_CHECK(shape == a.shape(), name, "in-place result of shape ", shape, " does not fit the destination ",
           a.describe());
  if (a.numel() == 0) return;
  const ElementwiseLayout layout = make_elementwise_layout(shape, a.shape(), b.shape());
  FH_BACKEND(a.device(), binary, op, a, b, layout, a);
}

Tensor unary(UnaryOp op, const Tensor& x, double alpha) {
  check_float(op_name(op), x);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (x.numel() == 0) return out;
  FH_BACKEND(x.device(), unary, op, x, alpha, out);
  return out;
}

Tensor relu_backward(const Tensor& grad, const Tensor& out) {
  check_same("relu_backward", grad, out);
  check_float("relu_backward", grad);
  FH_CHECK(grad.shape() == out.shape(), "relu_backward", "gradient ", grad.describe(), " does not match output ",
           out.describe());
  Tensor grad_in = Tensor::empty(out.shape(), out.dtype(), out.device());
  if (out.numel() == 0) return grad_in;
  FH_BACKEND(out.device(), relu_backward, grad, out, grad_in);
  return grad_in;
}

Tensor broadcast_to(const Tensor& x, const Shape& shape) {
  check_float("broadcast_to", x);
  const Shape checked = broadcast_shapes(x.shape(), shape, "broadcast_to");
  FH_CHECK(checked == shape, "broadcast_to", "shape ", x.shape(), " cannot be broadcast to ", shape);
  if (x.shape() == shape) return copy(x);
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  if (out.numel() == 0) return out;
  FH_BACKEND(x.device(), strided_copy, x, make_elementwise_layout(shape, x.shape()), out);
  return out;
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  check_float("permute", x);
  FH_CHECK(static_cast<int>(dims.size()) == x.dim(), "permute", dims.size(), " dims given for shape ", x.shape());
  uint32_t seen = 0;
  std::vector<int> order(dims.size());
  Shape out_shape;
  for (size_t d = 0; d < dims.size(); ++d) {
    order[d] = x.shape().wrap_dim(dims[d], "permute");
    FH_CHECK(!((seen >> order[d]) & 1u), "permute", "dim ", dims[d], " appears twice (shape ", x.shape(), ")");
    seen |= 1u << order[d];
    out_shape.push_back(x.shape()[order[d]]);
  }
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.device());
  if (out.numel() == 0) return out;
  const std::vector<int64_t> in_strides = x.shape().strides();
  std::vector<int64_t> strides(dims.size());
  for (size_t d = 0; d < dims.size(); ++d) strides[d] = in_strides[order[d]];
  FH_BACKEND(x.device(), strided_copy, x, make_strided_layout(out_shape, strides), out);
  return out;
}

Tensor nchw_to_nhwc(const Tensor& x) {
  FH_CHECK(x.dim() == 4, "nchw_to_nhwc", "needs a 4-d NCHW tensor, got ", x.describe());
  return permute(x, {0, 2, 3, 1});
}

Tensor nhwc_to_nchw(const Tensor& x) {
  FH_CHECK(x.dim() == 4, "nhwc_to_nchw", "needs a 4-d tensor, got ", x.describe());
  return permute(x, {0, 3, 1, 2});
}

namespace {

Tensor sum_mask(const Tensor& x, uint32_t mask, bool keepdim) {
  check_float("sum", x);
  Shape kept_shape, out_shape;
  for (int d = 0; d < x.dim(); ++d) {
    const bool reduced = (mask >> d) & 1u;
    if (!reduced) kept_shape.push_back(x.shape()[d]);
    out_shape.push_back(reduced ? 1 : x.shape()[d]);
  }
  Tensor out = Tensor::empty(keepdim ? out_shape : kept_shape, x.dtype(), x.device());
  if (x.numel() == 0) {
    fill(out, 0.0);
  } else if (out.numel() > 0) {
    FH_BACKEND(x.device(), reduce_sum, x, make_reduce_layout(x.shape(), mask), out);
  }
  return out;
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  uint32_t mask = 0;
  if (dims.empty()) {
    mask = (1u << x.dim()) - 1u;
  } else {
    for (int64_t d : dims) {
      const int w = x.shape().wrap_dim(d, "sum");
      FH_CHECK(!((mask >> w) & 1u), "sum", "dim ", d, " appears twice for shape ", x.shape());
      mask |= 1u << w;
    }
  }
  return sum_mask(x, mask, keepdim);
}

Tensor sum_to_shape(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  const Shape& from = x.shape();
  FH_CHECK(shape.size() <= from.size(), "sum_to_shape", "cannot reduce ", from, " to ", shape);
  const int lead = from.size() - shape.size();
  uint32_t mask = 0;
  for (int d = 0; d < from.size(); ++d) {
    if (d < lead) {
      mask |= 1u << d;
      continue;
    }
    const int64_t target = shape[d - lead];
    FH_CHECK(target == from[d] || target == 1, "sum_to_shape", "cannot reduce ", from, " to ", shape);
    if (target == 1 && from[d] != 1) mask |= 1u << d;
  }
  return sum_mask(x, mask, true).view(shape);
}

Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b) {
  check_same("matmul", a, b);
  check_float("matmul", a);
  FH_CHECK(a.dim() >= 2 && b.dim() >= 2, "matmul", "operands need at least 2 dims, got ", a.shape(), " and ",
           b.shape());
  MatmulLayout L;
  L.trans_a = trans_a;
  L.trans_b = trans_b;
  const int64_t a_rows = a.size(-2), a_cols = a.size(-1), b_rows = b.size(-2), b_cols = b.size(-1);
  L.M = trans_a ? a_cols : a_rows;
  L.K = trans_a ? a_rows : a_cols;
  const int64_t k_b = trans_b ? b_cols : b_rows;
  L.N = trans_b ? b_rows : b_cols;
  FH_CHECK(L.K == k_b, "matmul", "inner dimensions differ: a ", a.shape(), (trans_a ? " (transposed)" : ""),
           " has K=", L.K, ", b ", b.shape(), (trans_b ? " (transposed)" : ""), " has K=", k_b);
  Shape a_batch, b_batch;
  for (int d = 0; d < a.dim() - 2; ++d) a_batch.push_back(a.shape()[d]);
  for (int d = 0; d < b.dim() - 2; ++d) b_batch.push_back(b.shape()[d]);
  Shape out_shape = broadcast_shapes(a_batch, b_batch, "matmul (batch dims)");
  L.batch = out_shape.numel();
  L.batch_walk = make_elementwise_layout(out_shape, a_batch, b_batch);
  out_shape.push_back(L.M);
  out_shape.push_back(L.N);
  Tensor out = Tensor::empty(out_shape, a.dtype(), a.device());
  if (out.numel() == 0) return out;
  if (L.K == 0) {
    fill(out, 0.0);
    return out;
  }
  FH_BACKEND(a.device(), matmul, a, b, L, out);
  return out;
}

}  // namespace fh::kernels
