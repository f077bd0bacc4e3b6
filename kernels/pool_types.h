// Types of the pool family's backend contract (kernels/backend/pool.inc): pooling windows
// and their geometry over an NHWC input, PyTorch's nearest-neighbour index rule, and the
// n-d box copies that concat, stack, slice and crops are made of.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/host_device.h"
#include "kernels/layout.h"

namespace fh::kernels {

// A 2-d pooling window: kernel size, stride and zero padding on each side, per spatial
// dim. Outputs are floor((in + 2·pad − kernel) / stride) + 1 (PyTorch's ceil_mode=false).
struct PoolWindow {
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;

  // kernel × kernel, the same stride and padding along both dims.
  static constexpr PoolWindow square(int64_t kernel, int64_t stride, int64_t padding = 0) {
    return {kernel, kernel, stride, stride, padding, padding};
  }
};

// A window applied to an NHWC input [batch, in_h, in_w, channels] giving
// [batch, out_h, out_w, channels]; built (and validated) by the entry points.
struct Pool2dGeometry {
  int64_t batch = 0, in_h = 0, in_w = 0, channels = 0;
  int64_t out_h = 0, out_w = 0;
  PoolWindow window;
};

// The input rows (or columns) window position `o` covers along one dim, as PyTorch
// computes them: [begin, end) clipped to the input, and `padded`, the window's extent
// clipped to the padded input (the divisor of avg_pool2d with count_include_pad).
struct PoolSpan {
  int64_t begin, end, padded;
};

FH_HOST_DEVICE PoolSpan pool_span(int64_t o, int64_t in, int64_t kernel, int64_t stride, int64_t pad) {
  const int64_t start = o * stride - pad;
  const int64_t stop = start + kernel < in + pad ? start + kernel : in + pad;
  return {start > 0 ? start : 0, stop < in ? stop : in, stop - start};
}

// The window positions along one dim whose window covers input index i: [first, last],
// empty when first > last.
FH_HOST_DEVICE void pool_covering(int64_t i, int64_t out, int64_t kernel, int64_t stride, int64_t pad,
                                  int64_t* first, int64_t* last) {
  // o·stride − pad ≤ i < o·stride − pad + kernel
  const int64_t hi = i + pad, lo = i + pad - kernel + 1;
  *first = lo <= 0 ? 0 : (lo + stride - 1) / stride;
  *last = out - 1 < hi / stride ? out - 1 : hi / stride;
}

// PyTorch's `nearest` source index (F.interpolate(mode='nearest') with an output size,
// aten/native/UpSample.h nearest_idx): the identity and exact 2x upsampling are special
// cases; otherwise min(floor(dst · scale), in − 1) with scale = in / out, both computed in
// float32, which is what makes e.g. 5 → 8 and 8 → 5 pick the pixels they do (IEEE division
// and multiplication, without FMA contraction, give the same bits on a CUDA device).
FH_HOST_DEVICE int64_t nearest_source_index(int64_t dst, int64_t in_size, int64_t out_size) {
  if (out_size == in_size) return dst;
  if (out_size == 2 * in_size) return dst >> 1;
  const float scale = static_cast<float>(in_size) / static_cast<float>(out_size);
  const int64_t src = static_cast<int64_t>(floorf(static_cast<float>(dst) * scale));
  return src < in_size - 1 ? src : in_size - 1;
}

// A box of `sizes` elements copied between two contiguous tensors of the same element
// size: element (i0, i1, ...) of the box is src[src_offset + Σ i_d·src_strides[d]] and
// dst[dst_offset + Σ i_d·dst_strides[d]]. Built with make_region_copy, which drops size-1
// dims and merges dims that both sides walk contiguously. ndim may be 0 (one element).
struct RegionCopy {
  int ndim = 0;
  int64_t numel = 0;
  int64_t src_offset = 0, dst_offset = 0;
  int64_t sizes[kMaxLayoutDims] = {};
  int64_t src_strides[kMaxLayoutDims] = {}, dst_strides[kMaxLayoutDims] = {};
};

// `sizes` is the box; `src_start`/`dst_start` its first corner in each tensor, whose
// shapes give the strides (all three have the same number of dims).
RegionCopy make_region_copy(const Shape& sizes, const Shape& src_shape, const int64_t* src_start,
                            const Shape& dst_shape, const int64_t* dst_start);

}  // namespace fh::kernels
