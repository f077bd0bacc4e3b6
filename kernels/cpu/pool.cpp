// Average, max and global average pooling on NHWC tensors, forward and backward.
//
// Forward passes give each output row to one chunk. Backward passes are gathers: each
// input row is owned by one chunk, which zeroes it and adds the gradients of the window
// positions covering it in row-major order, so no element is ever written by two threads
// and every sum runs in the order PyTorch's CPU kernels use (bit-identical sums for
// float32 wherever PyTorch accumulates in float32 too).
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

// Per-pixel channel scratch: a register-sized local array when the channel count is a
// compile-time constant, else a buffer allocated once per chunk.
template <class T, int kC>
struct ChannelScratch {
  T local[kC > 0 ? kC : 1];
  std::vector<T> heap;
  explicit ChannelScratch(int64_t channels) : heap(kC > 0 ? 0 : static_cast<size_t>(channels)) {}
  T* data() {
    if constexpr (kC > 0) return local;
    else return heap.data();
  }
};

template <class T, int kC>
void avg_pool_forward(const T* x, const Pool2dGeometry& g, bool include_pad, T* out) {
  const int64_t C = kC > 0 ? kC : g.channels;
  const int64_t W = g.in_w, OW = g.out_w;
  const std::vector<PoolSpan> cols = column_spans(g);
  parallel_for(g.batch * g.out_h, grain_for(row_work(g)), [&](int64_t r0, int64_t r1) {
    ChannelScratch<T, kC> scratch(C);
    T* acc = scratch.data();
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / g.out_h;
      const PoolSpan sy = row_span(g, r % g.out_h);
      const T* plane = x + n * g.in_h * W * C;
      T* o = out + r * OW * C;
      for (int64_t ox = 0; ox < OW; ++ox) {
        const PoolSpan sx = cols[ox];
        for (int64_t c = 0; c < C; ++c) acc[c] = T(0);
        for (int64_t iy = sy.begin; iy < sy.end; ++iy) {
          const T* p = plane + iy * W * C;
          for (int64_t ix = sx.begin; ix < sx.end; ++ix)
            for (int64_t c = 0; c < C; ++c) acc[c] += p[ix * C + c];
        }
        const T divisor = static_cast<T>(avg_divisor(sy, sx, include_pad));
        for (int64_t c = 0; c < C; ++c) o[ox * C + c] = acc[c] / divisor;
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
    ChannelScratch<T, kC> scratch(C);
    T* share = scratch.data();
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
          for (int64_t c = 0; c < C; ++c) share[c] = go[ox * C + c] / divisor;
          for (int64_t ix = sx.begin; ix < sx.end; ++ix)
            for (int64_t c = 0; c < C; ++c) row[ix * C + c] += share[c];
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
    ChannelScratch<T, kC> best_scratch(C);
    ChannelScratch<int64_t, kC> where_scratch(C);
    T* best = best_scratch.data();
    int64_t* where = where_scratch.data();
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / g.out_h;
      const PoolSpan sy = row_span(g, r % g.out_h);
      const T* plane = x + n * g.in_h * W * C;
      T* o = out + r * OW * C;
      int64_t* oi = indices + r * OW * C;
      for (int64_t ox = 0; ox < OW; ++ox) {
        const PoolSpan sx = cols[ox];
        const int64_t first = sy.begin * W + sx.begin;
        for (int64_t c = 0; c < C; ++c) {
          best[c] = -std::numeric_limits<T>::infinity();
          where[c] = first;
        }
        for (int64_t iy = sy.begin; iy < sy.end; ++iy) {
          for (int64_t ix = sx.begin; ix < sx.end; ++ix) {
            const T* p = plane + (iy * W + ix) * C;
            const int64_t pos = iy * W + ix;
            for (int64_t c = 0; c < C; ++c) {
              // Strictly greater: the first maximum wins ties. v != v: a NaN always wins.
              const T v = p[c];
              const bool take = v > best[c] || v != v;
              best[c] = take ? v : best[c];
              where[c] = take ? pos : where[c];
            }
          }
        }
        for (int64_t c = 0; c < C; ++c) {
          o[ox * C + c] = best[c];
          oi[ox * C + c] = where[c];
        }
      }
    }
  });
}

template <class T, int kC>
void max_pool_backward(const T* grad_out, const int64_t* indices, const Pool2dGeometry& g, T* grad_in) {
  const int64_t C = kC > 0 ? kC : g.channels;
  const int64_t W = g.in_w, OW = g.out_w;
  const PoolWindow& k = g.window;
  parallel_for(g.batch * g.in_h, grain_for(row_work(g)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / g.in_h, iy = r % g.in_h;
      T* row = grad_in + r * W * C;
      std::fill(row, row + W * C, T(0));
      // Only windows covering row iy can have their maximum in it.
      int64_t oy0, oy1;
      pool_covering(iy, g.out_h, k.kernel_h, k.stride_h, k.pad_h, &oy0, &oy1);
      const int64_t row_start = iy * W;
      for (int64_t oy = oy0; oy <= oy1; ++oy) {
        const int64_t offset = (n * g.out_h + oy) * OW * C;
        const T* go = grad_out + offset;
        const int64_t* at = indices + offset;
        for (int64_t ox = 0; ox < OW; ++ox) {
          for (int64_t c = 0; c < C; ++c) {
            const uint64_t ix = static_cast<uint64_t>(at[ox * C + c] - row_start);
            if (ix < static_cast<uint64_t>(W)) row[ix * C + c] += go[ox * C + c];
          }
        }
      }
    }
  });
}

// Channel tile of the global average: its double sums stay in registers over the rows.
constexpr int64_t kChannelTile = 64;

template <class T>
void global_avg_forward(const T* x, int64_t N, int64_t HW, int64_t C, T* out) {
  const int64_t tiles = (C + kChannelTile - 1) / kChannelTile;
  parallel_for(N * tiles, grain_for(HW * std::min(C, kChannelTile)), [&](int64_t b, int64_t e) {
    for (int64_t item = b; item < e; ++item) {
      const int64_t n = item / tiles, c0 = (item % tiles) * kChannelTile;
      const int64_t len = std::min(kChannelTile, C - c0);
      double acc[kChannelTile] = {};
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

void max_pool2d_backward(const Tensor& grad_out, const Tensor& indices, const Pool2dGeometry& g, Tensor& grad_in) {
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
