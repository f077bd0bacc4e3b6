// Index layouts computed once on the host and handed to a backend (plain structs, so the
// CUDA backend can pass them to kernels by value). Shapes are coalesced: size-1 dims are
// dropped and neighbouring dims merged where every operand walks them contiguously, so a
// backend loops over as few dims as possible.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/shape.h"

namespace fh::kernels {

constexpr int kMaxLayoutDims = Shape::kMaxDims;

// Output-major walk over a contiguous output; per operand, the element stride of each dim
// (0 where that operand is broadcast). ndim may be 0 (a single element).
struct ElementwiseLayout {
  int ndim = 0;
  int num_operands = 0;
  int64_t numel = 0;
  int64_t sizes[kMaxLayoutDims] = {};
  int64_t strides[2][kMaxLayoutDims] = {};
};

// Layout for one operand read through arbitrary element strides (one per out dim).
ElementwiseLayout make_strided_layout(const Shape& out, const std::vector<int64_t>& strides);
// Layout for out(shape out) = f(operands broadcast to out); operand shapes must broadcast to out.
ElementwiseLayout make_elementwise_layout(const Shape& out, const Shape& a);
ElementwiseLayout make_elementwise_layout(const Shape& out, const Shape& a, const Shape& b);

// Reduction of a contiguous input over some dims. After coalescing:
//   outer kept dims  (kept_sizes/kept_strides, row-major over the output, excluding `inner`),
//   inner            contiguous kept innermost run of `inner` elements (1 if the innermost dim is reduced),
//   reduced dims     (red_sizes/red_strides; the last is the tight loop).
// outputs = product(kept_sizes) * inner; reduced = product(red_sizes).
struct ReduceLayout {
  int num_kept = 0, num_red = 0;
  int64_t kept_sizes[kMaxLayoutDims] = {}, kept_strides[kMaxLayoutDims] = {};
  int64_t red_sizes[kMaxLayoutDims] = {}, red_strides[kMaxLayoutDims] = {};
  int64_t inner = 1;
  int64_t outer_outputs = 1;  // product(kept_sizes)
  int64_t reduced = 1;        // product(red_sizes)
};

// reduce_mask bit d set = dim d of `in` is summed away.
ReduceLayout make_reduce_layout(const Shape& in, uint32_t reduce_mask);

// Batched matmul: out [batch..., M, N] = op(a) [.., M, K] · op(b) [.., K, N].
struct MatmulLayout {
  int64_t M = 0, N = 0, K = 0;
  bool trans_a = false, trans_b = false;
  int64_t batch = 1;             // product of the broadcast batch dims
  ElementwiseLayout batch_walk;  // operand 0 = a's matrix index, operand 1 = b's, over the batch dims
};

}  // namespace fh::kernels
