// Device-agnostic kernels: pure functions (no autograd) that validate their operands,
// allocate outputs and dispatch to the CPU or CUDA backend (backend_ops.inc). Autograd
// (autograd/ops.h) wraps these; backward passes are written with them too.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/core_types.h"
#include "runtime/tensor.h"

namespace fh::kernels {

// The one check of an image operand: `shape` is a 4-d NHWC batch [N, H, W, C]. The error
// names op, operand and shape, then `context` (the other operands) when given. Used by every
// op family that takes images, and by the geometry's crops.
void check_nhwc(const char* op, const char* name, const Shape& shape, const std::string& context = {});

void fill(Tensor& out, double value);
Tensor cast(const Tensor& x, DType dtype);
Tensor copy(const Tensor& x);

// Broadcasting elementwise op.
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);
// a = op(a, b) in place; b must broadcast to a's shape.
void binary_(BinaryOp op, Tensor& a, const Tensor& b);
Tensor unary(UnaryOp op, const Tensor& x, double alpha = 0.0);
Tensor relu_backward(const Tensor& grad, const Tensor& out);

Tensor broadcast_to(const Tensor& x, const Shape& shape);
// out.shape[d] = x.shape[dims[d]] (dims a permutation; negative allowed), as new storage.
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
// Image layout conversions at interop boundaries: [N,C,H,W] <-> [N,H,W,C] (also maps conv
// weights [O,I,kh,kw] <-> freehead's [O,kh,kw,I]).
Tensor nchw_to_nhwc(const Tensor& x);
Tensor nhwc_to_nchw(const Tensor& x);
// Sum over `dims` (negative allowed; empty = all dims).
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim);
// Sums a broadcast gradient back to `shape` (the inverse of broadcast_to).
Tensor sum_to_shape(const Tensor& x, const Shape& shape);

// op(a) · op(b) with batch broadcasting; a and b have at least 2 dims.
Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);

}  // namespace fh::kernels
