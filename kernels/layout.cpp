#include "kernels/layout.h"

#include "runtime/error.h"

namespace fh::kernels {

namespace {

// Aligns `in` to the right of `out` and returns its strides (0 where broadcast).
void broadcast_strides(const Shape& out, const Shape& in, int64_t* strides) {
  FH_CHECK(in.size() <= out.size(), "broadcast", "shape ", in, " has more dims than ", out);
  const std::vector<int64_t> in_strides = in.strides();
  const int offset = out.size() - in.size();
  for (int d = 0; d < out.size(); ++d) {
    const int di = d - offset;
    if (di < 0 || in[di] == 1) {
      strides[d] = 0;
    } else {
      FH_CHECK(in[di] == out[d], "broadcast", "shape ", in, " does not broadcast to ", out);
      strides[d] = in_strides[di];
    }
  }
}

ElementwiseLayout coalesce(const Shape& out, const int64_t (*strides)[kMaxLayoutDims], int num_operands) {
  ElementwiseLayout L;
  L.num_operands = num_operands;
  L.numel = out.numel();
  // Drop size-1 dims, then merge dim d into the previous kept dim when every operand walks
  // the pair as one contiguous run (stride[prev] == stride[d] * size[d]).
  for (int d = 0; d < out.size(); ++d) {
    if (out[d] == 1) continue;
    bool mergeable = L.ndim > 0;
    for (int k = 0; k < num_operands && mergeable; ++k)
      mergeable = strides[k][d] * out[d] == L.strides[k][L.ndim - 1];
    if (mergeable) {
      L.sizes[L.ndim - 1] *= out[d];
      for (int k = 0; k < num_operands; ++k) L.strides[k][L.ndim - 1] = strides[k][d];
    } else {
      L.sizes[L.ndim] = out[d];
      for (int k = 0; k < num_operands; ++k) L.strides[k][L.ndim] = strides[k][d];
      ++L.ndim;
    }
  }
  return L;
}

ElementwiseLayout make_layout(const Shape& out, const Shape* const* operands, int num_operands) {
  int64_t strides[2][kMaxLayoutDims];
  for (int k = 0; k < num_operands; ++k) broadcast_strides(out, *operands[k], strides[k]);
  return coalesce(out, strides, num_operands);
}

}  // namespace

ElementwiseLayout make_strided_layout(const Shape& out, const std::vector<int64_t>& strides) {
  FH_CHECK(static_cast<int>(strides.size()) == out.size(), "strided_layout", strides.size(), " strides for shape ",
           out);
  int64_t s[2][kMaxLayoutDims] = {};
  for (int d = 0; d < out.size(); ++d) s[0][d] = strides[d];
  return coalesce(out, s, 1);
}

ElementwiseLayout make_elementwise_layout(const Shape& out, const Shape& a) {
  const Shape* ops[] = {&a};
  return make_layout(out, ops, 1);
}

ElementwiseLayout make_elementwise_layout(const Shape& out, const Shape& a, const Shape& b) {
  const Shape* ops[] = {&a, &b};
  return make_layout(out, ops, 2);
}

ReduceLayout make_reduce_layout(const Shape& in, uint32_t reduce_mask) {
  // Coalesce runs of same-kind dims (kept or reduced); in a contiguous input every adjacent
  // pair of non-trivial dims of the same kind merges.
  struct Dim {
    int64_t size, stride;
    bool reduced;
  };
  Dim dims[kMaxLayoutDims];
  int n = 0;
  const std::vector<int64_t> strides = in.strides();
  for (int d = 0; d < in.size(); ++d) {
    if (in[d] == 1) continue;
    const bool reduced = (reduce_mask >> d) & 1u;
    if (n > 0 && dims[n - 1].reduced == reduced) {
      dims[n - 1].size *= in[d];
      dims[n - 1].stride = strides[d];
    } else {
      dims[n++] = {in[d], strides[d], reduced};
    }
  }
  ReduceLayout L;
  if (n > 0 && !dims[n - 1].reduced) L.inner = dims[--n].size;  // contiguous kept innermost run
  for (int i = 0; i < n; ++i) {
    if (dims[i].reduced) {
      L.red_sizes[L.num_red] = dims[i].size;
      L.red_strides[L.num_red++] = dims[i].stride;
      L.reduced *= dims[i].size;
    } else {
      L.kept_sizes[L.num_kept] = dims[i].size;
      L.kept_strides[L.num_kept++] = dims[i].stride;
      L.outer_outputs *= dims[i].size;
    }
  }
  return L;
}

}  // namespace fh::kernels
