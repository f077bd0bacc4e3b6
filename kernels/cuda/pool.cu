// Average, max and global average pooling and nearest-neighbour resizing on the GPU (NHWC),
// forward and backward.
//
// Every kernel gives one thread one output element; neighbouring threads take neighbouring
// channels, so reads and writes are coalesced along C. The backward passes are gathers, not
// scatters: a thread owns an input element, zero-starts it and adds the gradients of the
// windows (or output pixels) that read it, in row-major order, exactly as the CPU twin's
// loops do (kernels/cpu/pool.cpp, resize_nearest.cpp). So there are no atomics, every run
// gives the same bits, and the sums match the CPU's order term for term.
#include <math_constants.h>

#include "kernels/cuda/channel_sums.cuh"
#include "kernels/cuda/cuda_kernels.h"

namespace fh::kernels::cuda {

namespace {

// Element e of an NHWC tensor [N, H, W, C] as (n, y, x, c).
template <class Index>
struct Nhwc {
  Index n, y, x, c;
};

template <class Index>
__device__ __forceinline__ Nhwc<Index> split_nhwc(Index e, Index H, Index W, Index C) {
  Nhwc<Index> p;
  p.c = e % C;
  e /= C;
  p.x = e % W;
  e /= W;
  p.y = e % H;
  p.n = e / H;
  return p;
}

// ---- Average pooling ---------------------------------------------------------------------------

// Thread per output element: its window summed in row-major order (the CPU's), divided once.
template <class T, class Index>
__global__ void avg_pool_kernel(const T* __restrict__ x, Pool2dGeometry g, bool include_pad, T* __restrict__ out) {
  const Index n_out = static_cast<Index>(g.batch * g.out_h * g.out_w * g.channels);
  const PoolWindow k = g.window;
  for (Index e = grid_start<Index>(); e < n_out; e += grid_stride<Index>()) {
    const Nhwc<Index> o = split_nhwc<Index>(e, g.out_h, g.out_w, g.channels);
    const PoolSpan sy = pool_span(o.y, g.in_h, k.kernel_h, k.stride_h, k.pad_h);
    const PoolSpan sx = pool_span(o.x, g.in_w, k.kernel_w, k.stride_w, k.pad_w);
    const T* plane = x + static_cast<int64_t>(o.n) * g.in_h * g.in_w * g.channels + o.c;
    T acc = 0;
    for (int64_t iy = sy.begin; iy < sy.end; ++iy)
      for (int64_t ix = sx.begin; ix < sx.end; ++ix) acc += plane[(iy * g.in_w + ix) * g.channels];
    const int64_t divisor = include_pad ? sy.padded * sx.padded : (sy.end - sy.begin) * (sx.end - sx.begin);
    out[e] = acc / static_cast<T>(divisor);
  }
}

// Gather: input element (n, iy, ix, c) adds grad_out / divisor of every window covering it.
template <class T, class Index>
__global__ void avg_pool_backward_kernel(const T* __restrict__ grad_out, Pool2dGeometry g, bool include_pad,
                                         T* __restrict__ grad_in) {
  const Index n_in = static_cast<Index>(g.batch * g.in_h * g.in_w * g.channels);
  const PoolWindow k = g.window;
  for (Index e = grid_start<Index>(); e < n_in; e += grid_stride<Index>()) {
    const Nhwc<Index> p = split_nhwc<Index>(e, g.in_h, g.in_w, g.channels);
    int64_t oy0, oy1, ox0, ox1;
    pool_covering(p.y, g.out_h, k.kernel_h, k.stride_h, k.pad_h, &oy0, &oy1);
    pool_covering(p.x, g.out_w, k.kernel_w, k.stride_w, k.pad_w, &ox0, &ox1);
    const T* go = grad_out + static_cast<int64_t>(p.n) * g.out_h * g.out_w * g.channels + p.c;
    T acc = 0;
    for (int64_t oy = oy0; oy <= oy1; ++oy) {
      const PoolSpan sy = pool_span(oy, g.in_h, k.kernel_h, k.stride_h, k.pad_h);
      for (int64_t ox = ox0; ox <= ox1; ++ox) {
        const PoolSpan sx = pool_span(ox, g.in_w, k.kernel_w, k.stride_w, k.pad_w);
        const int64_t divisor = include_pad ? sy.padded * sx.padded : (sy.end - sy.begin) * (sx.end - sx.begin);
        acc += go[(oy * g.out_w + ox) * g.channels] / static_cast<T>(divisor);
      }
    }
    grad_in[e] = acc;
  }
}

// ---- Max pooling -------------------------------------------------------------------------------

// Thread per output element: PyTorch's max rule (first maximum, NaN wins) and its position.
template <class T, class Index>
__global__ void max_pool_kernel(const T* __restrict__ x, Pool2dGeometry g, T* __restrict__ out,
                                int64_t* __restrict__ indices) {
  const Index n_out = static_cast<Index>(g.batch * g.out_h * g.out_w * g.channels);
  const PoolWindow k = g.window;
  for (Index e = grid_start<Index>(); e < n_out; e += grid_stride<Index>()) {
    const Nhwc<Index> o = split_nhwc<Index>(e, g.out_h, g.out_w, g.channels);
    const PoolSpan sy = pool_span(o.y, g.in_h, k.kernel_h, k.stride_h, k.pad_h);
    const PoolSpan sx = pool_span(o.x, g.in_w, k.kernel_w, k.stride_w, k.pad_w);
    const T* plane = x + static_cast<int64_t>(o.n) * g.in_h * g.in_w * g.channels + o.c;
    T best = -static_cast<T>(CUDART_INF);
    int64_t where = sy.begin * g.in_w + sx.begin;
    for (int64_t iy = sy.begin; iy < sy.end; ++iy) {
      for (int64_t ix = sx.begin; ix < sx.end; ++ix) {
        const int64_t pos = iy * g.in_w + ix;
        const T v = plane[pos * g.channels];
        // Strictly greater: the first maximum wins ties; v != v: a NaN always wins.
        if ((v > best) | (v != v)) {
          best = v;
          where = pos;
        }
      }
    }
    out[e] = best;
    indices[e] = where;
  }
}

// Flags (bad = 1) any index that is not a position inside its own window. The gather below
// only looks for a window's maximum inside that window, so such an index would otherwise
// lose its gradient silently.
template <class Index>
__global__ void check_max_indices_kernel(const int64_t* __restrict__ indices, Pool2dGeometry g, int* __restrict__ bad) {
  const Index n_out = static_cast<Index>(g.batch * g.out_h * g.out_w * g.channels);
  const PoolWindow k = g.window;
  for (Index e = grid_start<Index>(); e < n_out; e += grid_stride<Index>()) {
    const Nhwc<Index> o = split_nhwc<Index>(e, g.out_h, g.out_w, g.channels);
    const PoolSpan sy = pool_span(o.y, g.in_h, k.kernel_h, k.stride_h, k.pad_h);
    const PoolSpan sx = pool_span(o.x, g.in_w, k.kernel_w, k.stride_w, k.pad_w);
    const int64_t pos = indices[e];
    const bool inside = pos >= 0 && pos < g.in_h * g.in_w && pos / g.in_w >= sy.begin && pos / g.in_w < sy.end &&
                        pos % g.in_w >= sx.begin && pos % g.in_w < sx.end;
    if (!inside) atomicOr(bad, 1);  // an integer flag: the result does not depend on the order
  }
}

// Gather: input element (n, iy, ix, c) adds grad_out of every covering window whose maximum
// it is, windows in row-major order (the CPU's scatter order, seen from the element).
template <class T, class Index>
__global__ void max_pool_backward_kernel(const T* __restrict__ grad_out, const int64_t* __restrict__ indices,
                                         Pool2dGeometry g, T* __restrict__ grad_in) {
  const Index n_in = static_cast<Index>(g.batch * g.in_h * g.in_w * g.channels);
  const PoolWindow k = g.window;
  for (Index e = grid_start<Index>(); e < n_in; e += grid_stride<Index>()) {
    const Nhwc<Index> p = split_nhwc<Index>(e, g.in_h, g.in_w, g.channels);
    const int64_t pos = static_cast<int64_t>(p.y) * g.in_w + p.x;
    int64_t oy0, oy1, ox0, ox1;
    pool_covering(p.y, g.out_h, k.kernel_h, k.stride_h, k.pad_h, &oy0, &oy1);
    pool_covering(p.x, g.out_w, k.kernel_w, k.stride_w, k.pad_w, &ox0, &ox1);
    const int64_t base = static_cast<int64_t>(p.n) * g.out_h * g.out_w * g.channels + p.c;
    T acc = 0;
    for (int64_t oy = oy0; oy <= oy1; ++oy) {
      for (int64_t ox = ox0; ox <= ox1; ++ox) {
        const int64_t o = base + (oy * g.out_w + ox) * g.channels;
        if (indices[o] == pos) acc += grad_out[o];
      }
    }
    grad_in[e] = acc;
  }
}

// ---- Global average pooling --------------------------------------------------------------------

template <class T>
struct ValueTerm {
  const T* x;
  struct Ctx {};
  __device__ Ctx context(int64_t, int64_t) const { return {}; }
  __device__ void add(int64_t e, const Ctx&, double (&s)[1]) const { s[0] += static_cast<double>(x[e]); }
};

template <class T>
struct MeanFinish {
  T* out;
  int64_t rows, channels;
  __device__ void operator()(int64_t g, int64_t c, const double (&tot)[1]) const {
    out[g * channels + c] = static_cast<T>(tot[0] / static_cast<double>(rows));
  }
};

// grad_in[n, p, c] = grad_out[n, c] / (H·W), the share divided in T as on the CPU.
template <class T, class Index>
__global__ void global_avg_backward_kernel(const T* __restrict__ grad_out, int64_t plane, int64_t channels,
                                           int64_t numel, T* __restrict__ grad_in) {
  const Index n = static_cast<Index>(numel), C = static_cast<Index>(channels), image = static_cast<Index>(plane * channels);
  const T hw = static_cast<T>(plane);
  for (Index e = grid_start<Index>(); e < n; e += grid_stride<Index>())
    grad_in[e] = grad_out[(e / image) * C + e % C] / hw;
}

// ---- Nearest-neighbour resizing ----------------------------------------------------------------

// Thread per output element: a copy from the nearest source pixel.
template <class T, class Index>
__global__ void resize_kernel(const T* __restrict__ x, int64_t N, int64_t H, int64_t W, int64_t C, int64_t OH,
                              int64_t OW, T* __restrict__ out) {
  const Index n_out = static_cast<Index>(N * OH * OW * C);
  for (Index e = grid_start<Index>(); e < n_out; e += grid_stride<Index>()) {
    const Nhwc<Index> o = split_nhwc<Index>(e, OH, OW, C);
    const int64_t sy = nearest_source_index(o.y, H, OH), sx = nearest_source_index(o.x, W, OW);
    out[e] = x[((static_cast<int64_t>(o.n) * H + sy) * W + sx) * C + o.c];
  }
}

// first[i] = the first destination index whose source is >= i, for i in [0, in] (so the
// destinations reading source i are [first[i], first[i + 1])): a binary search, the source
// index being non-decreasing. Rows' table, then columns'.
__global__ void first_reader_kernel(int64_t H, int64_t OH, int64_t W, int64_t OW, int64_t* __restrict__ first) {
  const int64_t total = (H + 1) + (W + 1);
  for (int64_t t = grid_start<int64_t>(); t < total; t += grid_stride<int64_t>()) {
    const bool rows = t <= H;
    const int64_t i = rows ? t : t - (H + 1), in = rows ? H : W, out = rows ? OH : OW;
    int64_t lo = 0, hi = out;
    while (lo < hi) {
      const int64_t mid = (lo + hi) / 2;
      if (nearest_source_index(mid, in, out) >= i) hi = mid;
      else lo = mid + 1;
    }
    first[t] = lo;
  }
}

// Gather: input element (n, iy, ix, c) adds the output pixels that read it, row-major.
template <class T, class Index>
__global__ void resize_backward_kernel(const T* __restrict__ grad_out, const int64_t* __restrict__ first, int64_t N,
                                       int64_t H, int64_t W, int64_t C, int64_t OH, int64_t OW,
                                       T* __restrict__ grad_in) {
  const Index n_in = static_cast<Index>(N * H * W * C);
  const int64_t* first_row = first;
  const int64_t* first_col = first + H + 1;
  for (Index e = grid_start<Index>(); e < n_in; e += grid_stride<Index>()) {
    const Nhwc<Index> p = split_nhwc<Index>(e, H, W, C);
    const int64_t oy0 = first_row[p.y], oy1 = first_row[p.y + 1];
    const int64_t ox0 = first_col[p.x], ox1 = first_col[p.x + 1];
    const T* go = grad_out + static_cast<int64_t>(p.n) * OH * OW * C + p.c;
    T acc = 0;
    for (int64_t oy = oy0; oy < oy1; ++oy)
      for (int64_t ox = ox0; ox < ox1; ++ox) acc += go[(oy * OW + ox) * C];
    grad_in[e] = acc;
  }
}

}  // namespace

void avg_pool2d(const Tensor& x, const Pool2dGeometry& g, bool count_include_pad, Tensor& out) {
  const int64_t n = out.numel();
  if (n == 0) return;
  fh::cuda::DeviceGuard guard(out.device().index);
  dispatch_float(x, [&](auto tag) {
    using T = decltype(tag);
    with_index(std::max(x.numel(), n), [&](auto index) {
      avg_pool_kernel<T, decltype(index)><<<grid_for(n), kBlockSize, 0, current_stream()>>>(
          device_ptr<T>(x), g, count_include_pad, device_ptr<T>(out));
    });
  });
  FH_CUDA_CHECK_LAUNCH("cuda::avg_pool2d", x.describe());
}

void avg_pool2d_backward(const Tensor& grad_out, const Pool2dGeometry& g, bool count_include_pad, Tensor& grad_in) {
  const int64_t n = grad_in.numel();
  if (n == 0) return;
  fh::cuda::DeviceGuard guard(grad_in.device().index);
  dispatch_float(grad_out, [&](auto tag) {
    using T = decltype(tag);
    with_index(std::max(grad_out.numel(), n), [&](auto index) {
      avg_pool_backward_kernel<T, decltype(index)><<<grid_for(n), kBlockSize, 0, current_stream()>>>(
          device_ptr<T>(grad_out), g, count_include_pad, device_ptr<T>(grad_in));
    });
  });
  FH_CUDA_CHECK_LAUNCH("cuda::avg_pool2d_backward", grad_out.describe());
}

void max_pool2d(const Tensor& x, const Pool2dGeometry& g, Tensor& out, Tensor& indices) {
  const int64_t n = out.numel();
  if (n == 0) return;
  fh::cuda::DeviceGuard guard(out.device().index);
  dispatch_float(x, [&](auto tag) {
    using T = decltype(tag);
    with_index(std::max(x.numel(), n), [&](auto index) {
      max_pool_kernel<T, decltype(index)><<<grid_for(n), kBlockSize, 0, current_stream()>>>(
          device_ptr<T>(x), g, device_ptr<T>(out), device_ptr<int64_t>(indices));
    });
  });
  FH_CUDA_CHECK_LAUNCH("cuda::max_pool2d", x.describe());
}

void max_pool2d_backward(const Tensor& grad_out, const Tensor& indices, const Pool2dGeometry& g, bool validate,
                         Tensor& grad_in) {
  const int64_t n = grad_in.numel(), n_out = grad_out.numel();
  if (n == 0) return;
  const int device = grad_in.device().index;
  fh::cuda::DeviceGuard guard(device);
  // The indices are checked first (the CPU twin fails on an index outside the image); the
  // flag comes back to the host, which waits for the check: the price of a clear error,
  // paid only for indices the caller does not vouch for.
  if (validate && n_out > 0) {
    ScratchBuffer flag(sizeof(int), device);
    FH_CUDA_CHECK(cudaMemsetAsync(flag.as<int>(), 0, sizeof(int), current_stream()), "cuda::max_pool2d_backward",
                  "clearing the index check flag");
    with_index(std::max(n, n_out), [&](auto index) {
      check_max_indices_kernel<decltype(index)><<<grid_for(n_out), kBlockSize, 0, current_stream()>>>(
          device_ptr<int64_t>(indices), g, flag.as<int>());
    });
    FH_CUDA_CHECK_LAUNCH("cuda::max_pool2d_backward", "index check of ", indices.describe());
    int bad = 0;
    fh::cuda::copy_device_to_host(&bad, flag.as<int>(), sizeof(int), device);
    FH_CHECK(bad == 0, "max_pool2d_backward", "indices ", indices.describe(),
             " hold a position outside its window of the ", g.in_h, "x", g.in_w,
             " image (they must come from max_pool2d with the same window)");
  }
  dispatch_float(grad_out, [&](auto tag) {
    using T = decltype(tag);
    with_index(std::max(n, n_out), [&](auto index) {
      max_pool_backward_kernel<T, decltype(index)><<<grid_for(n), kBlockSize, 0, current_stream()>>>(
          device_ptr<T>(grad_out), device_ptr<int64_t>(indices), g, device_ptr<T>(grad_in));
    });
  });
  FH_CUDA_CHECK_LAUNCH("cuda::max_pool2d_backward", grad_out.describe());
}

void global_avg_pool(const Tensor& x, Tensor& out) {
  if (out.numel() == 0) return;
  fh::cuda::DeviceGuard guard(out.device().index);
  const GroupedRows geo{x.size(0), x.size(1) * x.size(2), x.size(3)};
  dispatch_float(x, [&](auto tag) {
    using T = decltype(tag);
    grouped_channel_sums<1>(geo, x.device().index, ValueTerm<T>{device_ptr<T>(x)},
                            MeanFinish<T>{device_ptr<T>(out), geo.rows, geo.channels}, "cuda::global_avg_pool");
  });
}

void global_avg_pool_backward(const Tensor& grad_out, Tensor& grad_in) {
  const int64_t n = grad_in.numel();
  if (n == 0) return;
  fh::cuda::DeviceGuard guard(grad_in.device().index);
  const int64_t plane = grad_in.size(1) * grad_in.size(2), C = grad_in.size(3);
  dispatch_float(grad_out, [&](auto tag) {
    using T = decltype(tag);
    with_index(n, [&](auto index) {
      global_avg_backward_kernel<T, decltype(index)><<<grid_for(n), kBlockSize, 0, current_stream()>>>(
          device_ptr<T>(grad_out), plane, C, n, device_ptr<T>(grad_in));
    });
  });
  FH_CUDA_CHECK_LAUNCH("cuda::global_avg_pool_backward", grad_in.describe());
}

void resize_nearest(const Tensor& x, Tensor& out) {
  const int64_t n = out.numel();
  if (n == 0) return;
  fh::cuda::DeviceGuard guard(out.device().index);
  const int64_t N = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3), OH = out.size(1), OW = out.size(2);
  dispatch_float(x, [&](auto tag) {
    using T = decltype(tag);
    with_index(std::max(x.numel(), n), [&](auto index) {
      resize_kernel<T, decltype(index)><<<grid_for(n), kBlockSize, 0, current_stream()>>>(device_ptr<T>(x), N, H, W,
                                                                                       C, OH, OW, device_ptr<T>(out));
    });
  });
  FH_CUDA_CHECK_LAUNCH("cuda::resize_nearest", x.describe(), " to ", OH, "x", OW);
}

void resize_nearest_backward(const Tensor& grad_out, Tensor& grad_in) {
  const int64_t n = grad_in.numel();
  if (n == 0) return;
  const int device = grad_in.device().index;
  fh::cuda::DeviceGuard guard(device);
  const int64_t N = grad_in.size(0), H = grad_in.size(1), W = grad_in.size(2), C = grad_in.size(3);
  const int64_t OH = grad_out.size(1), OW = grad_out.size(2);
  ScratchBuffer first(static_cast<size_t>(H + W + 2) * sizeof(int64_t), device);
  first_reader_kernel<<<grid_for(H + W + 2), kBlockSize, 0, current_stream()>>>(H, OH, W, OW, first.as<int64_t>());
  FH_CUDA_CHECK_LAUNCH("cuda::resize_nearest_backward", "reader tables for ", grad_in.describe());
  dispatch_float(grad_out, [&](auto tag) {
    using T = decltype(tag);
    with_index(std::max(grad_out.numel(), n), [&](auto index) {
      resize_backward_kernel<T, decltype(index)><<<grid_for(n), kBlockSize, 0, current_stream()>>>(
          device_ptr<T>(grad_out), first.as<int64_t>(), N, H, W, C, OH, OW, device_ptr<T>(grad_in));
    });
  });
  FH_CUDA_CHECK_LAUNCH("cuda::resize_nearest_backward", grad_out.describe());
}

}  // namespace fh::kernels::cuda
