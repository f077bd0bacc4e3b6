// Walks an ElementwiseLayout row by row: consecutive output elements that share the
// innermost dim are handed to `row` together, with each operand's offset and inner stride,
// so the per-element loop is a plain strided loop the compiler can vectorise.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/layout.h"

namespace fh::kernels::cpu {

// row(out_offset, const int64_t* operand_offsets, int64_t length, const int64_t* operand_inner_strides)
// is called for the output range [begin, end).
template <class RowFn>
void for_each_row(const ElementwiseLayout& L, int64_t begin, int64_t end, RowFn&& row) {
  const int nd = L.ndim;
  const int nops = L.num_operands;
  if (nd == 0) {
    const int64_t zeros[2] = {0, 0};
    if (begin < end) row(int64_t{0}, zeros, int64_t{1}, zeros);
    return;
  }
  int64_t idx[kMaxLayoutDims];
  int64_t off[2] = {0, 0};
  int64_t rem = begin;
  for (int d = nd - 1; d >= 0; --d) {
    idx[d] = rem % L.sizes[d];
    rem /= L.sizes[d];
    for (int k = 0; k < nops; ++k) off[k] += idx[d] * L.strides[k][d];
  }
  const int64_t inner = L.sizes[nd - 1];
  const int64_t inner_strides[2] = {L.strides[0][nd - 1], L.strides[1][nd - 1]};
  int64_t pos = begin;
  while (pos < end) {
    const int64_t len = std::min(inner - idx[nd - 1], end - pos);
    row(pos, off, len, inner_strides);
    pos += len;
    idx[nd - 1] += len;
    for (int k = 0; k < nops; ++k) off[k] += len * inner_strides[k];
    if (idx[nd - 1] < inner) continue;
    // Carry into the outer dims.
    for (int k = 0; k < nops; ++k) off[k] -= inner * inner_strides[k];
    idx[nd - 1] = 0;
    for (int d = nd - 2; d >= 0; --d) {
      ++idx[d];
      for (int k = 0; k < nops; ++k) off[k] += L.strides[k][d];
      if (idx[d] < L.sizes[d]) break;
      for (int k = 0; k < nops; ++k) off[k] -= L.sizes[d] * L.strides[k][d];
      idx[d] = 0;
    }
  }
}

// Elements per parallel chunk for cheap elementwise work: large enough that the pool's
// wake-up cost (a few microseconds) stays small next to the work.
constexpr int64_t kElementwiseGrain = 1 << 15;

}  // namespace fh::kernels::cpu
