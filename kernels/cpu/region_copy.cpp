// Box copies between contiguous tensors: the whole of concat, stack, slice and crops, and
// their backward passes. Data is moved as raw elements of the tensor's size, so any dtype works.
//
// The box's innermost dim is a row; consecutive rows along the next dim form a block with
// constant strides, so the bookkeeping (divisions) happens once per block. Short
// contiguous rows — a 3-channel pixel of an NHWC concat — get copy loops of compile-time
// length instead of a memcpy call per pixel.
#include <algorithm>
#include <cstring>

#include "kernels/cpu/channels.h"
#include "kernels/cpu/cpu_kernels.h"
#include "runtime/thread_pool.h"

namespace fh::kernels::cpu {

namespace {

template <class U, int kLen>
void copy_short_rows(const U* src, int64_t src_row, U* dst, int64_t dst_row, int64_t rows) {
  for (int64_t r = 0; r < rows; ++r)
    for (int i = 0; i < kLen; ++i) dst[r * dst_row + i] = src[r * src_row + i];
}

// `rows` rows of `len` elements; rows start src_row / dst_row apart, elements within a row
// src_step / dst_step apart.
template <class U>
void copy_rows(const U* src, int64_t src_row, int64_t src_step, U* dst, int64_t dst_row, int64_t dst_step,
               int64_t rows, int64_t len) {
  if (src_step != 1 || dst_step != 1) {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = 0; i < len; ++i) dst[r * dst_row + i * dst_step] = src[r * src_row + i * src_step];
    return;
  }
  switch (len) {
    case 1: return copy_short_rows<U, 1>(src, src_row, dst, dst_row, rows);
    case 2: return copy_short_rows<U, 2>(src, src_row, dst, dst_row, rows);
    case 3: return copy_short_rows<U, 3>(src, src_row, dst, dst_row, rows);
    case 4: return copy_short_rows<U, 4>(src, src_row, dst, dst_row, rows);
    case 6: return copy_short_rows<U, 6>(src, src_row, dst, dst_row, rows);
    case 8: return copy_short_rows<U, 8>(src, src_row, dst, dst_row, rows);
    default:
      for (int64_t r = 0; r < rows; ++r) std::memcpy(dst + r * dst_row, src + r * src_row, len * sizeof(U));
  }
}

template <class U>
void region_copy_typed(const U* src, U* dst, const RegionCopy& R) {
  const int nd = R.ndim;
  if (nd == 0) {
    dst[R.dst_offset] = src[R.src_offset];
    return;
  }
  const int64_t len = R.sizes[nd - 1];
  const int64_t src_step = R.src_strides[nd - 1], dst_step = R.dst_strides[nd - 1];
  const int64_t block = nd >= 2 ? R.sizes[nd - 2] : 1;
  const int64_t src_row = nd >= 2 ? R.src_strides[nd - 2] : 0, dst_row = nd >= 2 ? R.dst_strides[nd - 2] : 0;
  const int64_t rows = R.numel / len;
  if (rows == 1) {
    // One long row: split it among the threads.
    parallel_for(len, kPoolGrainElements, [&](int64_t b, int64_t e) {
      copy_rows(src + R.src_offset + b * src_step, 0, src_step, dst + R.dst_offset + b * dst_step, 0, dst_step, 1,
                e - b);
    });
    return;
  }
  parallel_for(rows, grain_for(len), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1;) {
      // Offsets of row r from its coordinates over dims [0, nd - 1).
      int64_t s = R.src_offset, d = R.dst_offset, rem = r;
      for (int k = nd - 2; k >= 0; --k) {
        const int64_t coord = rem % R.sizes[k];
        rem /= R.sizes[k];
        s += coord * R.src_strides[k];
        d += coord * R.dst_strides[k];
      }
      const int64_t count = std::min(block - r % block, r1 - r);
      copy_rows(src + s, src_row, src_step, dst + d, dst_row, dst_step, count, len);
      r += count;
    }
  });
}

}  // namespace

void region_copy(const Tensor& src, const RegionCopy& region, Tensor& dst) {
  if (region.numel == 0) return;
  switch (dtype_size(src.dtype())) {
    case 2:
      return region_copy_typed(static_cast<const uint16_t*>(src.raw_data()), static_cast<uint16_t*>(dst.raw_data()),
                               region);
    case 4:
      return region_copy_typed(static_cast<const uint32_t*>(src.raw_data()), static_cast<uint32_t*>(dst.raw_data()),
                               region);
    case 8:
      return region_copy_typed(static_cast<const uint64_t*>(src.raw_data()), static_cast<uint64_t*>(dst.raw_data()),
                               region);
    default:
      FH_FAIL("region_copy", "unsupported element size ", dtype_size(src.dtype()), " of ", src.describe());
  }
}

}  // namespace fh::kernels::cpu
