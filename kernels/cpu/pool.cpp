// Average, max and global average pooling on NHWC tensors, forward and backward.
//
// Forward passes give each output row to one chunk. Backward passes give each input
// element to one chunk too, which zeroes it and adds the gradients of the windows reaching
// it in row-major window order: no element is ever written by two threads, results do not
// depend on the thread count, and every sum runs in the order PyTorch's CPU kernels use
// (bit-identical sums for float32 wherever PyTorch accumulates in float32 too).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/channels.h"
#include "kernels/cpu/cpu_kernels.h"
#include "runtime/thread_pool.h"

namespace fh::kernels::cpu {

namespace {

PoolSpan row_span(const Pool2dGeometry& g, int64_t oy) {
  return pool_span(oy, g.in_h, g.window.kernel_h, g.window.stride_h, g.window.pad_h);
}

// The spans of every output column, computed once per call.
std::vector<PoolSpan> column_spans(const Pool2dGeometry& g) {
  std::vector<PoolSpan> spans(static_cast<size_t>(g.out_w));
  for (int64_t ox = 0; ox < g.out_w; ++ox)
    spans[ox] = pool_span(ox, g.in_w, g.window.kernel_w, g.window.stride_w, g.window.pad_w);
  return spans;
}

int64_t avg_divisor(const PoolSpan& h, const PoolSpan& w, bool count_include_pad) {
  return count_include_pad ? h.padded * w.padded : (h.end - h.begin) * (w.end - w.begin);
}

// Input elements one output row reads (or one input row receives from), for grains.
int64_t row_work(const Pool2dGeometry& g) {
  return std::max(g.in_w, g.out_w) * g.channels * g.window.kernel_h * g.window.kernel_w;
}

template <class T, int kC>
void avg_pool_forward(const T* x, const Pool2dGeometry& g, bool include_pad, T* out) {
  const int64_t C = kC > 0 ? kC : g.channels;
  const int64_t W = g.in_w, OW = g.out_w;
  const std::vector<PoolSpan> cols = column_spans(g);
  parallel_for(g.batch * g.out_h, grain_for(row_work(g)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / g.out_h;
      const PoolSpan sy = row_span(g, r % g.out_h);
      const T* plane = x + n * g.in_h * W * C;
      T* o = out + r * OW * C;
      for (int64_t ox = 0; ox < OW; ++ox) {
        const PoolSpan sx = cols[ox];
        const T divisor = static_cast<T>(avg_divisor(sy, sx, include_pad));
        for_each_channel_tile<kC>(C, [&]<int64_t kWidth>(int64_t c0, int64_t tile) {
          const int64_t width = kWidth > 0 ? kWidth : tile;
          T acc[kMaxTile<kC>] = {};
          for (int64_t iy = sy.begin; iy < sy.end; ++iy) {
            for (int64_t ix = sx.begin; ix < sx.end; ++ix) {
              const T* p = plane + (iy * W + ix) * C + c0;
              for (int64_t c = 0; c < width; ++c) acc[c] += p[c];
            }
          }
          for (int64_t c = 0; c < width; ++c) o[ox * C + c0 + c] = acc[c] / divisor;
        });
      }
    }
  });
}

template <class T, int kC>
void avg_pool_backward(const T* grad_out, const Pool2dGeometry& g, bool include_pad, T* grad_in) {
  const int64_t C = kC > 0 ? kC : g.channels;
  const int64_t W = g.in_w, OW = g.out_w;
  const PoolWindow& k = g.window;
  const std::vector<PoolSpan> cols = column_spans(g);
  parallel_for(g.batch * g.in_h, grain_for(row_work(g)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / g.in_h, iy = r % g.in_h;
      T* row = grad_in + r * W * C;
      std::fill(row, row + W * C, T(0));
      int64_t oy0, oy1;
      pool_covering(iy, g.out_h, k.kernel_h, k.stride_h, k.pad_h, &oy0, &oy1);
      for (int64_t oy = oy0; oy <= oy1; ++oy) {
        const PoolSpan sy = row_span(g, oy);
        const T* go = grad_out + (n * g.out_h + oy) * OW * C;
        for (int64_t ox = 0; ox < OW; ++ox) {
          const PoolSpan sx = cols[ox];
          const T divisor = static_cast<T>(avg_divisor(sy, sx, include_pad));
          for_each_channel_tile<kC>(C, [&]<int64_t kWidth>(int64_t c0, int64_t tile) {
            const int64_t width = kWidth > 0 ? kWidth : tile;
            T share[kMaxTile<kC>];
            for (int64_t c = 0; c < width; ++c) share[c] = go[ox * C + c0 + c] / divisor;
            for (int64_t ix = sx.begin; ix < sx.end; ++ix)
              for (int64_t c = 0; c < width; ++c) row[ix * C + c0 + c] += share[c];
          });
        }
      }
    }
  });
}

template <class T, int kC>
void max_pool_forward(const T* x, const Pool2dGeometry& g, T* out, int64_t* indices) {
  const int64_t C = kC > 0 ? kC : g.channels;
  const int64_t W = g.in_w, OW = g.out_w;
  const std::vector<PoolSpan> cols = column_spans(g);
  parallel_for(g.batch * g.out_h, grain_for(row_work(g)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / g.out_h;
      const PoolSpan sy = row_span(g, r % g.out_h);
      const T* plane = x + n * g.in_h * W * C;
      T* o = out + r * OW * C;
      int64_t* oi = indices + r * OW * C;
      for (int64_t ox = 0; ox < OW; ++ox) {
        const PoolSpan sx = cols[ox];
        for_each_channel_tile<kC>(C, [&]<int64_t kWidth>(int64_t c0, int64_t tile) {
          const int64_t width = kWidth > 0 ? kWidth : tile;
          T best[kMaxTile<kC>];
          int64_t where[kMaxTile<kC>];
          for (int64_t c = 0; c < width; ++c) {
            best[c] = -std::numeric_limits<T>::infinity();
            where[c] = sy.begin * W + sx.begin;
          }
          for (int64_t iy = sy.begin; iy < sy.end; ++iy) {
            for (int64_t ix = sx.begin; ix < sx.end; ++ix) {
              const int64_t pos = iy * W + ix;
              const T* p = plane + pos * C + c0;
              FH_KEEP_LOOP_FOR_VECTORS
              for (int64_t c = 0; c < width; ++c) {
                // Strictly greater: the first maximum wins ties. v != v: a NaN always wins.
                const T v = p[c];
                const bool take = (v > best[c]) | (v != v);
                best[c] = take ? v : best[c];
                where[c] = take ? pos : where[c];
              }
            }
          }
          for (int64_t c = 0; c < width; ++c) {
            o[ox * C + c0 + c] = best[c];
            oi[ox * C + c0 + c] = where[c];
          }
        });
      }
    }
  });
}

// Out of line, so that the hot loop keeps the index in a register.
[[noreturn, gnu::noinline, gnu::cold]] void bad_max_index(int64_t pos, const Pool2dGeometry& g) {
  FH_FAIL("max_pool2d_backward", "index ", pos, " is outside the ", g.in_h, "x", g.in_w, " image");
}

// A scatter in PyTorch's order: each image, or each group of its channels, is owned by
// one chunk, which zeroes its part of grad_in and adds every window's gradient at the
// window's maximum, windows in row-major order. The order of the sums in any element does
// not depend on the grouping, so the grouping may follow the thread count: whole images
// when there are enough of them to share (contiguous zeroing, and all of a window's
// channels land close together), channel groups (multiples of a tile) for small batches.
template <class T, int kC>
void max_pool_backward(const T* grad_out, const int64_t* indices, const Pool2dGeometry& g, T* grad_in) {
  const int64_t C = kC > 0 ? kC : g.channels;
  const int64_t plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  const int64_t tiles = (C + kChannelTile - 1) / kChannelTile;
  const int64_t groups = std::clamp<int64_t>((num_threads() + g.batch - 1) / g.batch, 1, tiles);
  parallel_for(g.batch * groups, grain_for((plane + out_plane) * C / groups), [&](int64_t b, int64_t e) {
    for (int64_t item = b; item < e; ++item) {
      const int64_t n = item / groups, group = item % groups;
      const int64_t c0 = tiles * group / groups * kChannelTile;
      const int64_t c1 = std::min(C, tiles * (group + 1) / groups * kChannelTile);
      T* gi = grad_in + n * plane * C;
      const T* go = grad_out + n * out_plane * C;
      const int64_t* at = indices + n * out_plane * C;
      if (groups == 1) {
        std::fill(gi, gi + plane * C, T(0));
      } else {
        for (int64_t pos = 0; pos < plane; ++pos) std::fill(gi + pos * C + c0, gi + pos * C + c1, T(0));
      }
      for (int64_t o = 0; o < out_plane * C; o += C) {
        for (int64_t c = c0; c < c1; ++c) {
          const int64_t pos = at[o + c];
          if (static_cast<uint64_t>(pos) >= static_cast<uint64_t>(plane)) [[unlikely]]
            bad_max_index(pos, g);
          gi[pos * C + c] += go[o + c];
        }
      }
    }
  });
}

// Channel tile of the global average: its double sums stay in registers over the rows.
constexpr int64_t kMeanTile = 64;

template <class T>
void global_avg_forward(const T* x, int64_t N, int64_t HW, int64_t C, T* out) {
  const int64_t tiles = (C + kMeanTile - 1) / kMeanTile;
  parallel_for(N * tiles, grain_for(HW * std::min(C, kMeanTile)), [&](int64_t b, int64_t e) {
    for (int64_t item = b; item < e; ++item) {
      const int64_t n = item / tiles, c0 = (item % tiles) * kMeanTile;
      const int64_t len = std::min(kMeanTile, C - c0);
      double acc[kMeanTile] = {};
      const T* p = x + n * HW * C + c0;
      for (int64_t i = 0; i < HW; ++i)
        for (int64_t c = 0; c < len; ++c) acc[c] += p[i * C + c];
      for (int64_t c = 0; c < len; ++c) out[n * C + c0 + c] = static_cast<T>(acc[c] / static_cast<double>(HW));
    }
  });
}

template <class T>
void global_avg_backward(const T* grad_out, int64_t N, int64_t HW, int64_t C, T* grad_in) {
  // Each pixel of image n receives grad_out[n] / (H·W); divided once, then broadcast.
  std::vector<T> share(static_cast<size_t>(N * C));
  for (int64_t i = 0; i < N * C; ++i) share[i] = grad_out[i] / static_cast<T>(HW);
  parallel_for(N * HW, grain_for(C), [&](int64_t b, int64_t e) {
    for (int64_t pixel = b; pixel < e; ++pixel) {
      const T* s = share.data() + (pixel / HW) * C;
      std::copy(s, s + C, grad_in + pixel * C);
    }
  });
}

}  // namespace

void avg_pool2d(const Tensor& x, const Pool2dGeometry& g, bool count_include_pad, Tensor& out) {
  dispatch_float_channels(x, g.channels, [&]<class T, int kC>() {
    avg_pool_forward<T, kC>(x.data<T>(), g, count_include_pad, out.data<T>());
  });
}

void avg_pool2d_backward(const Tensor& grad_out, const Pool2dGeometry& g, bool count_include_pad, Tensor& grad_in) {
  dispatch_float_channels(grad_out, g.channels, [&]<class T, int kC>() {
    avg_pool_backward<T, kC>(grad_out.data<T>(), g, count_include_pad, grad_in.data<T>());
  });
}

void max_pool2d(const Tensor& x, const Pool2dGeometry& g, Tensor& out, Tensor& indices) {
  dispatch_float_channels(x, g.channels, [&]<class T, int kC>() {
    max_pool_forward<T, kC>(x.data<T>(), g, out.data<T>(), indices.data<int64_t>());
  });
}

void max_pool2d_backward(const Tensor& grad_out, const Tensor& indices, const Pool2dGeometry& g, bool /*validate*/,
                         Tensor& grad_in) {
  dispatch_float_channels(grad_out, g.channels, [&]<class T, int kC>() {
    max_pool_backward<T, kC>(grad_out.data<T>(), indices.data<int64_t>(), g, grad_in.data<T>());
  });
}

void global_avg_pool(const Tensor& x, Tensor& out) {
  const int64_t N = x.size(0), HW = x.size(1) * x.size(2), C = x.size(3);
  if (x.dtype() == DType::F64) {
    global_avg_forward(x.data<double>(), N, HW, C, out.data<double>());
  } else {
    global_avg_forward(x.data<float>(), N, HW, C, out.data<float>());
  }
}

void global_avg_pool_backward(const Tensor& grad_out, Tensor& grad_in) {
  const int64_t N = grad_in.size(0), HW = grad_in.size(1) * grad_in.size(2), C = grad_in.size(3);
  if (grad_out.dtype() == DType::F64) {
    global_avg_backward(grad_out.data<double>(), N, HW, C, grad_in.data<double>());
  } else {
    global_avg_backward(grad_out.data<float>(), N, HW, C, grad_in.data<float>());
  }
}

}  // namespace fh::kernels::cpu
