// The copies behind concat, stack, split, slice and crops on the GPU: raw elements of 2, 4
// or 8 bytes, so any dtype of those sizes works (as on the CPU, kernels/cpu/shape_ops.cpp).
//
// region_copy: one thread per element of the box, offsets from its coordinates (32-bit
//   index math when both tensors allow it); the box's innermost dim is contiguous on both
//   sides in every use (make_region_copy merges dims), so neighbouring threads move
//   neighbouring elements.
// concat_rows / split_rows: one thread per element of the joined rows, which looks its part
//   up in a small table passed by value (up to kPartsPerLaunch parts per launch; more parts
//   take one launch per group of columns). Joined-side accesses are contiguous; each part's
//   side is contiguous within its segment.
// index_select: one thread per output element. Its backward: one thread per element of the
//   input's gradient, summing the gradient rows that picked its row in increasing order
//   (the inverse index the entry point built): no atomics, the CPU's bits.
#include <vector>

#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/device_util.cuh"

namespace fh::kernels::cuda {

namespace {

template <class Body>
void with_element_type(const char* op, const Tensor& t, Body&& body) {
  switch (dtype_size(t.dtype())) {
    case 2: return body(uint16_t{});
    case 4: return body(uint32_t{});
    case 8: return body(uint64_t{});
    default: FH_FAIL(op, "unsupported element size ", dtype_size(t.dtype()), " of ", t.describe());
  }
}

// Thread per element of the box; offsets from its coordinates, innermost dim fastest.
template <class U, class Index>
__global__ void region_copy_kernel(const U* __restrict__ src, U* __restrict__ dst, RegionCopy R) {
  const Index n = static_cast<Index>(R.numel);
  for (Index i = grid_start<Index>(); i < n; i += grid_stride<Index>()) {
    Index rem = i, s = static_cast<Index>(R.src_offset), d = static_cast<Index>(R.dst_offset);
    for (int k = R.ndim - 1; k > 0; --k) {
      const Index size = static_cast<Index>(R.sizes[k]);
      const Index coord = rem % size;
      rem /= size;
      s += coord * static_cast<Index>(R.src_strides[k]);
      d += coord * static_cast<Index>(R.dst_strides[k]);
    }
    if (R.ndim > 0) {
      s += rem * static_cast<Index>(R.src_strides[0]);
      d += rem * static_cast<Index>(R.dst_strides[0]);
    }
    dst[d] = src[s];
  }
}

constexpr int kPartsPerLaunch = 8;

// Parts [first, first + count) of a joined row, which cover columns [col0, col1).
template <class U>
struct PartTable {
  U* data[kPartsPerLaunch];  // null: skipped (an undefined output of split)
  int64_t width[kPartsPerLaunch], offset[kPartsPerLaunch];
  int count;
  int64_t col0, col1;
};

// to_joined: joined[r, j] = part[r, j - offset]; else the reverse.
template <class U, class Index, bool kToJoined>
__global__ void joined_rows_kernel(U* joined, int64_t outer, int64_t total, PartTable<U> parts) {
  const Index span = static_cast<Index>(parts.col1 - parts.col0);
  const Index n = static_cast<Index>(outer) * span;
  for (Index i = grid_start<Index>(); i < n; i += grid_stride<Index>()) {
    const Index r = i / span;
    const int64_t j = parts.col0 + static_cast<int64_t>(i % span);
    int k = 0;
    while (k + 1 < parts.count && j >= parts.offset[k + 1]) ++k;
    U* part = parts.data[k];
    if (part == nullptr) continue;
    const int64_t own = static_cast<int64_t>(r) * parts.width[k] + (j - parts.offset[k]);
    const int64_t at = static_cast<int64_t>(r) * total + j;
    if constexpr (kToJoined) {
      joined[at] = part[own];
    } else {
      part[own] = joined[at];
    }
  }
}

// Splits the parts with positive width into groups of kPartsPerLaunch consecutive parts and
// launches one kernel per group.
template <bool kToJoined>
void joined_rows(const char* op, const std::vector<const Tensor*>& parts, const std::vector<int64_t>& widths,
                 int64_t outer, const Tensor& joined_t) {
  if (outer == 0) return;
  const int64_t total = joined_t.numel() / outer;
  with_element_type(op, joined_t, [&](auto tag) {
    using U = decltype(tag);
    U* joined = static_cast<U*>(const_cast<void*>(joined_t.raw_data()));
    PartTable<U> table{};
    int64_t offset = 0;
    auto launch = [&] {
      if (table.count == 0) return;
      table.col1 = table.offset[table.count - 1] + table.width[table.count - 1];
      const int64_t n = outer * (table.col1 - table.col0);
      with_index(joined_t.numel(), [&](auto index) {
        joined_rows_kernel<U, decltype(index), kToJoined><<<grid_for(n), kBlockSize, 0, current_stream()>>>(
            joined, outer, total, table);
      });
      FH_CUDA_CHECK_LAUNCH(op, "of ", joined_t.describe(), ", columns [", table.col0, ", ", table.col1, ")");
      table = PartTable<U>{};
    };
    for (size_t i = 0; i < parts.size(); ++i) {
      if (widths[i] > 0) {
        if (table.count == 0) table.col0 = offset;
        table.data[table.count] =
            parts[i]->defined() ? static_cast<U*>(const_cast<void*>(parts[i]->raw_data())) : nullptr;
        table.width[table.count] = widths[i];
        table.offset[table.count] = offset;
        if (++table.count == kPartsPerLaunch) launch();
      }
      offset += widths[i];
    }
    launch();
  });
}

template <class U, class Index>
__global__ void index_select_kernel(const U* __restrict__ src, const int64_t* __restrict__ picked, U* __restrict__ dst,
                                    Index size, Index count, Index inner, Index n) {
  for (Index t = grid_start<Index>(); t < n; t += grid_stride<Index>()) {
    const Index e = t % inner, row = t / inner;
    const Index o = row / count, j = row % count;
    dst[t] = src[(o * size + static_cast<Index>(picked[j])) * inner + e];
  }
}

template <class T, class Index>
__global__ void index_select_backward_kernel(const T* __restrict__ grad, const int64_t* __restrict__ offsets,
                                             const int64_t* __restrict__ positions, T* __restrict__ grad_in,
                                             Index size, Index count, Index inner, Index n) {
  for (Index t = grid_start<Index>(); t < n; t += grid_stride<Index>()) {
    const Index e = t % inner, row = t / inner;
    const Index o = row / size, i = row % size;
    T sum = 0;
    for (int64_t k = offsets[i]; k < offsets[i + 1]; ++k)
      sum += grad[(o * count + static_cast<Index>(positions[k])) * inner + e];
    grad_in[t] = sum;
  }
}

}  // namespace

void index_select(const Tensor& x, const Tensor& index, int64_t outer, int64_t inner, Tensor& out) {
  if (out.numel() == 0) return;
  fh::cuda::DeviceGuard guard(out.device().index);
  const int64_t size = x.numel() / (outer * inner), count = index.numel();
  with_element_type("cuda::index_select", x, [&](auto tag) {
    using U = decltype(tag);
    const U* s = static_cast<const U*>(x.raw_data());
    U* d = static_cast<U*>(out.raw_data());
    const int64_t* picked = static_cast<const int64_t*>(index.raw_data());
    with_index(std::max(x.numel(), out.numel()), [&](auto i) {
      using Index = decltype(i);
      index_select_kernel<U, Index><<<grid_for(out.numel()), kBlockSize, 0, current_stream()>>>(
          s, picked, d, static_cast<Index>(size), static_cast<Index>(count), static_cast<Index>(inner),
          static_cast<Index>(out.numel()));
    });
  });
  FH_CUDA_CHECK_LAUNCH("cuda::index_select", x.describe(), " -> ", out.describe());
}

void index_select_backward(const Tensor& grad_out, const Tensor& offsets, const Tensor& positions, int64_t outer,
                           int64_t inner, Tensor& grad_in) {
  if (grad_in.numel() == 0) return;
  fh::cuda::DeviceGuard guard(grad_in.device().index);
  const int64_t size = offsets.numel() - 1, count = positions.numel();
  dispatch_float(grad_in, [&](auto tag) {
    using T = decltype(tag);
    const T* g = static_cast<const T*>(grad_out.raw_data());
    T* gi = static_cast<T*>(grad_in.raw_data());
    const int64_t* off = static_cast<const int64_t*>(offsets.raw_data());
    const int64_t* pos = static_cast<const int64_t*>(positions.raw_data());
    with_index(std::max(grad_out.numel(), grad_in.numel()), [&](auto i) {
      using Index = decltype(i);
      index_select_backward_kernel<T, Index><<<grid_for(grad_in.numel()), kBlockSize, 0, current_stream()>>>(
          g, off, pos, gi, static_cast<Index>(size), static_cast<Index>(count), static_cast<Index>(inner),
          static_cast<Index>(grad_in.numel()));
    });
  });
  FH_CUDA_CHECK_LAUNCH("cuda::index_select_backward", grad_out.describe(), " -> ", grad_in.describe());
}

void region_copy(const Tensor& src, const RegionCopy& region, Tensor& dst) {
  if (region.numel == 0) return;
  fh::cuda::DeviceGuard guard(dst.device().index);
  with_element_type("cuda::region_copy", src, [&](auto tag) {
    using U = decltype(tag);
    const U* s = static_cast<const U*>(src.raw_data());
    U* d = static_cast<U*>(dst.raw_data());
    with_index(std::max(src.numel(), dst.numel()), [&](auto index) {
      region_copy_kernel<U, decltype(index)><<<grid_for(region.numel), kBlockSize, 0, current_stream()>>>(s, d, region);
    });
  });
  FH_CUDA_CHECK_LAUNCH("cuda::region_copy", src.describe(), " -> ", dst.describe());
}

void concat_rows(const std::vector<Tensor>& xs, const std::vector<int64_t>& widths, int64_t outer, Tensor& out) {
  fh::cuda::DeviceGuard guard(out.device().index);
  std::vector<const Tensor*> parts;
  for (const Tensor& x : xs) parts.push_back(&x);
  joined_rows<true>("cuda::concat_rows", parts, widths, outer, out);
}

void split_rows(const Tensor& joined, const std::vector<int64_t>& widths, int64_t outer, std::vector<Tensor>& outs) {
  fh::cuda::DeviceGuard guard(joined.device().index);
  std::vector<const Tensor*> parts;
  for (const Tensor& t : outs) parts.push_back(&t);
  joined_rows<false>("cuda::split_rows", parts, widths, outer, joined);
}

}  // namespace fh::kernels::cuda
