// The copies behind concat, stack, slice and crops and their backward passes. Data moves
// as raw elements of the tensor's size, so any dtype works.
//
// region_copy: the box's innermost dim is a row; consecutive rows along the next dim form a
// block with constant strides, so the bookkeeping (divisions) happens once per block. Short
// contiguous rows get copy loops of compile-time length instead of a memcpy call each.
//
// index_select: rows of `inner` elements picked by index; its backward sums, per input row,
// the gradient rows that picked it in increasing order (a gather by the inverse index, so a
// row is written by one thread and no two threads add to the same element).
//
// concat_rows / split_rows: joining NHWC images on channels interleaves short segments (3
// floats of each image per pixel). A few short parts take one pass over the joined rows in
// address order, each segment moved with one fixed-size copy of 4, 8 or 16 elements whose
// excess lands on elements the same chunk writes next and is overwritten by them (exact
// copies where nothing follows in the chunk or the source would be over-read). Otherwise
// the joined rows are walked in blocks small enough to stay in cache, each part copied
// into (or out of) a block with the short-row loops above.
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/channels.h"
#include "kernels/cpu/cpu_kernels.h"
#include "runtime/thread_pool.h"

namespace fh::kernels::cpu {

namespace {

// Calls fn(U{}) with the unsigned type of the tensor's element size.
template <class Fn>
void with_element_type(const char* op, const Tensor& t, Fn&& fn) {
  switch (dtype_size(t.dtype())) {
    case 2: return fn(uint16_t{});
    case 4: return fn(uint32_t{});
    case 8: return fn(uint64_t{});
    default: FH_FAIL(op, "unsupported element size ", dtype_size(t.dtype()), " of ", t.describe());
  }
}

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

// A part of a joined row: `width` elements at `offset` in each joined row of `total`,
// row r of the part at r·width in its own tensor.
template <class U>
struct Segment {
  U* data;
  int64_t width, offset;
};

// Rows are split among threads when there are enough of them; a few long rows are copied
// part by part with region copies instead, which split long rows.
constexpr int64_t kMinRowsToSplit = 64;
// Joined rows handled part by part at a time: a block of them stays in L1/L2 while each
// part's segments are copied into (or out of) it.
constexpr int64_t kRowBlockElements = 4096;
// Segments up to this many elements are moved with fixed-size copies; at most this many
// parts take the fused single pass.
constexpr int64_t kShortSegment = 16;
constexpr size_t kMaxFusedParts = 8;

// The fixed-size copy for segments of up to `width` elements: 4, 8 or 16 elements.
int64_t wide_width(int64_t width) { return width <= 4 ? 4 : width <= 8 ? 8 : 16; }

template <class U>
bool fusable_parts(const std::vector<Segment<U>>& parts) {
  return parts.size() <= kMaxFusedParts &&
         std::all_of(parts.begin(), parts.end(), [](const Segment<U>& p) { return p.width <= kShortSegment; });
}

// The rows of [r0, r1) from which on a part's fixed-size moves of `wide` elements would
// reach beyond what the chunk writes later (dst) or beyond the source (src): rows from
// there on are copied exactly. A part is `width` elements at `offset` of rows `total` long
// on its joined side, dense rows on its own side.
int64_t exact_from(int64_t r1, int64_t outer, int64_t total, int64_t width, int64_t offset, int64_t wide,
                   bool joined_is_dst) {
  // Joined side: r·total + offset + wide <= limit·total; own side: r·width + wide <= limit·width.
  const int64_t joined_rows = (offset + wide + total - 1) / total, own_rows = (wide + width - 1) / width;
  return joined_is_dst ? std::min(r1 - joined_rows, outer - own_rows) : std::min(r1 - own_rows, outer - joined_rows);
}

// One pass over joined rows [r0, r1) in address order with kParts parts (0: any number up
// to kMaxFusedParts) and moves of kWide elements; compile-time counts keep the per-part
// pointers in registers and the moves branch-free. Rows below `wide_end` move every segment
// with one fixed-size copy whose excess lands on elements this chunk writes later (the
// row's next segments, or the next rows); the rest are copied exactly.
template <class U, int64_t kWide, size_t kParts, bool kToJoined>
void fused_rows(U* joined, int64_t outer, int64_t total, const std::vector<Segment<U>>& parts, int64_t r0, int64_t r1) {
  const size_t k = kParts > 0 ? kParts : parts.size();
  U* own[kMaxFusedParts];
  int64_t width[kMaxFusedParts], offset[kMaxFusedParts];
  int64_t wide_end = r1;
  for (size_t i = 0; i < k; ++i) {
    own[i] = parts[i].data;
    width[i] = parts[i].width;
    offset[i] = parts[i].offset;
    wide_end = std::min(wide_end, exact_from(r1, outer, total, width[i], offset[i], kWide, kToJoined));
  }
  auto move = [&](int64_t r, size_t i, int64_t n) {
    U* j = joined + r * total + offset[i];
    U* o = own[i] + r * width[i];
    if constexpr (kToJoined) {
      std::memcpy(j, o, static_cast<size_t>(n) * sizeof(U));
    } else {
      std::memcpy(o, j, static_cast<size_t>(n) * sizeof(U));
    }
  };
  int64_t r = r0;
  for (; r < wide_end; ++r)
    for (size_t i = 0; i < k; ++i) move(r, i, kWide);
  for (; r < r1; ++r)
    for (size_t i = 0; i < k; ++i) move(r, i, width[i]);
}

// Picks the instantiation of fused_rows for these parts: the move size covering the widest
// part, and the part count when it is 2 or 3 (images joined on channels).
template <class U, bool kToJoined>
void fused_pass(U* joined, int64_t outer, int64_t total, const std::vector<Segment<U>>& parts, int64_t r0, int64_t r1) {
  int64_t widest = 0;
  for (const Segment<U>& p : parts) widest = std::max(widest, p.width);
  auto with_wide = [&]<int64_t kWide>() {
    switch (parts.size()) {
      case 2: return fused_rows<U, kWide, 2, kToJoined>(joined, outer, total, parts, r0, r1);
      case 3: return fused_rows<U, kWide, 3, kToJoined>(joined, outer, total, parts, r0, r1);
      default: return fused_rows<U, kWide, 0, kToJoined>(joined, outer, total, parts, r0, r1);
    }
  };
  switch (wide_width(widest)) {
    case 4: return with_wide.template operator()<4>();
    case 8: return with_wide.template operator()<8>();
    default: return with_wide.template operator()<16>();
  }
}

template <class U>
void concat_typed(const std::vector<Segment<U>>& parts, int64_t outer, int64_t total, U* out, bool fused) {
  const int64_t block = std::max<int64_t>(1, kRowBlockElements / total);
  parallel_for(outer, grain_for(total), [&](int64_t r0, int64_t r1) {
    if (fused) return fused_pass<U, true>(out, outer, total, parts, r0, r1);
    for (int64_t r = r0; r < r1; r += block) {
      const int64_t rows = std::min(block, r1 - r);
      for (const Segment<U>& p : parts)
        copy_rows(p.data + r * p.width, p.width, 1, out + r * total + p.offset, total, 1, rows, p.width);
    }
  });
}

template <class U>
void split_typed(const U* in, int64_t outer, int64_t total, const std::vector<Segment<U>>& parts, bool fused) {
  const int64_t block = std::max<int64_t>(1, kRowBlockElements / total);
  parallel_for(outer, grain_for(total), [&](int64_t r0, int64_t r1) {
    if (fused) return fused_pass<U, false>(const_cast<U*>(in), outer, total, parts, r0, r1);
    for (int64_t r = r0; r < r1; r += block) {
      const int64_t rows = std::min(block, r1 - r);
      for (const Segment<U>& p : parts)
        copy_rows(in + r * total + p.offset, total, 1, p.data + r * p.width, p.width, 1, rows, p.width);
    }
  });
}

// The parts of a joined row of `widths` whose tensors are defined (empty ones dropped).
template <class U>
std::vector<Segment<U>> segments(const std::vector<const Tensor*>& tensors, const std::vector<int64_t>& widths) {
  std::vector<Segment<U>> parts;
  int64_t offset = 0;
  for (size_t i = 0; i < widths.size(); ++i) {
    if (widths[i] > 0 && tensors[i]->defined())
      parts.push_back({static_cast<U*>(const_cast<void*>(tensors[i]->raw_data())), widths[i], offset});
    offset += widths[i];
  }
  return parts;
}

// Region copies between part i and its columns of the joined rows, for few long rows.
void copy_parts(const std::vector<const Tensor*>& parts, const std::vector<int64_t>& widths, int64_t outer,
                const Tensor& joined, bool to_joined) {
  const int64_t total = joined.numel() / outer;
  int64_t offset = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (widths[i] > 0 && parts[i]->defined()) {
      const Shape part{outer, widths[i]}, rows{outer, total};
      const int64_t at_part[2] = {0, 0}, at_joined[2] = {0, offset};
      if (to_joined) {
        Tensor dst = joined;
        region_copy(*parts[i], make_region_copy(part, part, at_part, rows, at_joined), dst);
      } else {
        Tensor dst = *parts[i];
        region_copy(joined, make_region_copy(part, rows, at_joined, part, at_part), dst);
      }
    }
    offset += widths[i];
  }
}

}  // namespace

void concat_rows(const std::vector<Tensor>& xs, const std::vector<int64_t>& widths, int64_t outer, Tensor& out) {
  std::vector<const Tensor*> parts;
  for (const Tensor& x : xs) parts.push_back(&x);
  const int64_t total = out.numel() / outer;
  if (outer < kMinRowsToSplit) return copy_parts(parts, widths, outer, out, true);
  with_element_type("concat", out, [&](auto u) {
    using U = decltype(u);
    const std::vector<Segment<U>> segs = segments<U>(parts, widths);
    concat_typed(segs, outer, total, static_cast<U*>(out.raw_data()), fusable_parts(segs));
  });
}

void split_rows(const Tensor& joined, const std::vector<int64_t>& widths, int64_t outer, std::vector<Tensor>& outs) {
  std::vector<const Tensor*> parts;
  for (const Tensor& t : outs) parts.push_back(&t);
  const int64_t total = joined.numel() / outer;
  if (outer < kMinRowsToSplit) return copy_parts(parts, widths, outer, joined, false);
  with_element_type("split", joined, [&](auto u) {
    using U = decltype(u);
    const std::vector<Segment<U>> segs = segments<U>(parts, widths);
    split_typed(static_cast<const U*>(joined.raw_data()), outer, total, segs, fusable_parts(segs));
  });
}

void region_copy(const Tensor& src, const RegionCopy& region, Tensor& dst) {
  if (region.numel == 0) return;
  with_element_type("region_copy", src, [&](auto u) {
    using U = decltype(u);
    region_copy_typed(static_cast<const U*>(src.raw_data()), static_cast<U*>(dst.raw_data()), region);
  });
}

void index_select(const Tensor& x, const Tensor& index, int64_t outer, int64_t inner, Tensor& out) {
  const int64_t size = x.numel() / (outer * inner), count = index.numel();
  const int64_t* picked = index.data<int64_t>();
  with_element_type("index_select", x, [&](auto u) {
    using U = decltype(u);
    const U* src = static_cast<const U*>(x.raw_data());
    U* dst = static_cast<U*>(out.raw_data());
    parallel_for(outer * count, grain_for(inner), [&](int64_t begin, int64_t end) {
      int64_t o = begin / count, j = begin % count;
      const U* plane = src + o * size * inner;
      U* to = dst + begin * inner;
      for (int64_t row = begin; row < end; ++row, to += inner) {
        const U* from = plane + picked[j] * inner;
        if (inner == 3) {  // points in 3D, the common case: a fixed-length copy
          to[0] = from[0], to[1] = from[1], to[2] = from[2];
        } else {
          for (int64_t e = 0; e < inner; ++e) to[e] = from[e];
        }
        if (++j == count) j = 0, ++o, plane += size * inner;
      }
    });
  });
}

namespace {

template <class T>
void index_select_backward_typed(const T* grad, const int64_t* offsets, const int64_t* positions, int64_t outer,
                                 int64_t size, int64_t count, int64_t inner, T* grad_in) {
  parallel_for(outer * size, grain_for(inner), [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t o = row / size, i = row % size;
      T* to = grad_in + row * inner;
      std::fill(to, to + inner, T(0));
      for (int64_t k = offsets[i]; k < offsets[i + 1]; ++k) {
        const T* from = grad + (o * count + positions[k]) * inner;
        for (int64_t e = 0; e < inner; ++e) to[e] += from[e];
      }
    }
  });
}

}  // namespace

void index_select_backward(const Tensor& grad_out, const Tensor& offsets, const Tensor& positions, int64_t outer,
                           int64_t inner, Tensor& grad_in) {
  const int64_t size = offsets.numel() - 1, count = positions.numel();
  if (grad_in.dtype() == DType::F64) {
    index_select_backward_typed(grad_out.data<double>(), offsets.data<int64_t>(), positions.data<int64_t>(), outer,
                                size, count, inner, grad_in.data<double>());
  } else {
    index_select_backward_typed(grad_out.data<float>(), offsets.data<int64_t>(), positions.data<int64_t>(), outer,
                                size, count, inner, grad_in.data<float>());
  }
}

}  // namespace fh::kernels::cpu
