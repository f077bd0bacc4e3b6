// Walks an ElementwiseLayout in blocks of rows. The innermost dim is a row; consecutive rows
// along the second-innermost dim form a block, handed to the callback with both strides per
// operand, so the per-element work is two plain nested loops the compiler vectorises and
// the bookkeeping (divisions, carries) happens once per block rather than per element.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/layout.h"
#include "runtime/thread_pool.h"

namespace fh::kernels::cpu {

// Elements per parallel chunk for cheap elementwise work: large enough that the pool's
// wake-up cost (a few microseconds) stays small next to the work.
constexpr int64_t kElementwiseGrain = 1 << 15;

struct RowBlock {
  int64_t out;         // output offset of the block's first element (output is contiguous)
  int64_t offset[2];   // each operand's offset of that element
  int64_t rows, len;   // rows × len elements; output rows are `len` apart
  int64_t step[2];     // each operand's stride along a row
  int64_t row_step[2]; // each operand's stride from one row to the next
};

// Calls block(const RowBlock&) over the whole layout, in parallel, in chunks that depend
// only on the layout and the thread count.
template <class BlockFn>
void for_each_block(const ElementwiseLayout& L, BlockFn&& block) {
  const int nd = L.ndim;
  const int nops = L.num_operands;
  if (nd <= 1) {
    // One long row: split it.
    const int64_t step[2] = {nd ? L.strides[0][0] : 0, nd ? L.strides[1][0] : 0};
    parallel_for(L.numel, kElementwiseGrain, [&](int64_t b, int64_t e) {
      block(RowBlock{b, {b * step[0], b * step[1]}, 1, e - b, {step[0], step[1]}, {0, 0}});
    });
    return;
  }
  const int64_t len = L.sizes[nd - 1];
  const int64_t rows_per_block = L.sizes[nd - 2];
  const int64_t total_rows = L.numel / len;
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / len);
  parallel_for(total_rows, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1;) {
      // Offsets of row r: its coordinates over dims [0, nd-1).
      RowBlock bk{};
      int64_t rem = r;
      for (int d = nd - 2; d >= 0; --d) {
        const int64_t coord = rem % L.sizes[d];
        rem /= L.sizes[d];
        for (int k = 0; k < nops; ++k) bk.offset[k] += coord * L.strides[k][d];
      }
      const int64_t in_block = r % rows_per_block;
      bk.rows = std::min(rows_per_block - in_block, r1 - r);
      bk.out = r * len;
      bk.len = len;
      for (int k = 0; k < 2; ++k) {
        bk.step[k] = k < nops ? L.strides[k][nd - 1] : 0;
        bk.row_step[k] = k < nops ? L.strides[k][nd - 2] : 0;
      }
      block(bk);
      r += bk.rows;
    }
  });
}

}  // namespace fh::kernels::cpu
