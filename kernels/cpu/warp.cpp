// Bilinear warp by a flow field (FlowNet2's Resample2d) on the CPU, forward and backward.
//
// Images are NHWC, so the four corners of a sample point are four contiguous channel rows:
// every pass works per output pixel with a vectorised loop over channels.
//
// The backward to the source is a scatter: the output pixel at p adds w·grad_out(p) into
// the four corners it sampled, and many output pixels may hit one source pixel. To stay
// deterministic without atomics, each task owns a disjoint slice of grad_src — an image,
// a block of channels and a band of source rows — and walks every output pixel of its
// image in raster order, adding only the contributions that land in its slice. Each
// grad_src element therefore sums its contributions in raster order of the output pixels
// (corners in a fixed order within a pixel) however the slices are cut, so the bits do not
// depend on the thread count either; the cut only decides how much parallelism there is.
#include <algorithm>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/lane_sum.h"
#include "kernels/warp_tap.h"
#include "runtime/thread_pool.h"

namespace fh::kernels::cpu {

namespace {

// The sample point of output pixel (y, x): corner offsets (in elements, within the image)
// and the four bilinear weights.
template <class T>
struct Tap {
  AxisTap<T> ax, ay;
  int64_t o00, o01, o10, o11;
  T w00, w01, w10, w11;
};

// Combines the two axes' taps into corner offsets and weights.
template <class T>
inline Tap<T> make_tap(const AxisTap<T>& ax, const AxisTap<T>& ay, int64_t W, int64_t C) {
  Tap<T> t;
  t.ax = ax;
  t.ay = ay;
  t.o00 = (ay.i0 * W + ax.i0) * C;
  t.o01 = t.o00 + ax.step * C;
  t.o10 = t.o00 + ay.step * W * C;
  t.o11 = t.o10 + ax.step * C;
  const T wx = ax.w, wy = ay.w;
  t.w00 = (T(1) - wx) * (T(1) - wy);
  t.w01 = wx * (T(1) - wy);
  t.w10 = (T(1) - wx) * wy;
  t.w11 = wx * wy;
  return t;
}

// The tap of output pixel (y, x), whose flow is f[0:2].
template <class T>
inline Tap<T> make_tap(const T* f, int64_t y, int64_t x, int64_t H, int64_t W, int64_t C) {
  return make_tap(axis_tap(x, f[0], W), axis_tap(y, f[1], H), W, C);
}

// Rows (n, y) per parallel chunk: about 32K channel elements, enough to hide the pool's
// wake-up cost.
int64_t row_grain(int64_t W, int64_t C) { return std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(1, W * C)); }

template <class T>
void warp_typed(const T* src, const T* flow, T* out, int64_t N, int64_t H, int64_t W, int64_t C) {
  parallel_for(N * H, row_grain(W, C), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / H, y = r % H;
      const T* img = src + n * H * W * C;
      for (int64_t x = 0; x < W; ++x) {
        const int64_t p = r * W + x;
        const Tap<T> t = make_tap(flow + 2 * p, y, x, H, W, C);
        const T* __restrict a = img + t.o00;
        const T* __restrict b = img + t.o01;
        const T* __restrict c = img + t.o10;
        const T* __restrict d = img + t.o11;
        T* __restrict o = out + p * C;
        for (int64_t k = 0; k < C; ++k) o[k] = t.w00 * a[k] + t.w01 * b[k] + t.w10 * c[k] + t.w11 * d[k];
      }
    }
  });
}

template <class T>
void warp_backward_flow_typed(const T* src, const T* flow, const T* go, T* gf, int64_t N, int64_t H, int64_t W,
                              int64_t C) {
  parallel_for(N * H, row_grain(W, C), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / H, y = r % H;
      const T* img = src + n * H * W * C;
      for (int64_t x = 0; x < W; ++x) {
        const int64_t p = r * W + x;
        const Tap<T> t = make_tap(flow + 2 * p, y, x, H, W, C);
        const T* __restrict a = img + t.o00;
        const T* __restrict b = img + t.o01;
        const T* __restrict c = img + t.o10;
        const T* __restrict d = img + t.o11;
        const T* __restrict g = go + p * C;
        const T wx = t.ax.w, wy = t.ay.w;
        // ∂out/∂u = (1-wy)·(b - a) + wy·(d - c);  ∂out/∂v = (1-wx)·(c - a) + wx·(d - b).
        const auto du = [&](int64_t k) { return g[k] * ((T(1) - wy) * (b[k] - a[k]) + wy * (d[k] - c[k])); };
        const auto dv = [&](int64_t k) { return g[k] * ((T(1) - wx) * (c[k] - a[k]) + wx * (d[k] - b[k])); };
        Lanes<T> su, sv;
        int64_t k = 0;
        for (; k + kLanes <= C; k += kLanes) {
          for (int l = 0; l < kLanes; ++l) {
            su.v[l] += du(k + l);
            sv.v[l] += dv(k + l);
          }
        }
        for (; k < C; ++k) {
          su.v[0] += du(k);
          sv.v[0] += dv(k);
        }
        gf[2 * p] = t.ax.interior ? su.total() : T(0);
        gf[2 * p + 1] = t.ay.interior ? sv.total() : T(0);
      }
    }
  });
}

// y[0, n) += a · x[0, n); K > 0 fixes n = K at compile time (few channels: no loop overhead).
template <int K, class T>
inline void axpy(T* __restrict y, const T* __restrict x, T a, int64_t n) {
  if constexpr (K > 0) {
    for (int k = 0; k < K; ++k) y[k] += a * x[k];
  } else {
    for (int64_t k = 0; k < n; ++k) y[k] += a * x[k];
  }
}

// How grad_src is cut into slices, per image: `bands` bands of source rows, each split into
// `blocks` channel blocks of `block` channels. Only as many slices as the threads need:
// every slice re-reads its image's flow. Bands come first — a band reads grad_out only for
// the output pixels that sample it, in whole channel rows — and channel blocks, kept at least
// kMinBlock wide so that slices never share cache lines, only when an image has too few rows.
struct SliceCut {
  int64_t bands, blocks, block;
};

constexpr int64_t kMinBlock = 64;

SliceCut cut_slices(int64_t N, int64_t H, int64_t C, int threads) {
  if (N >= threads) return {1, 1, C};
  const int64_t want = (threads + N - 1) / N;  // slices per image
  const int64_t bands = std::min(H, want);
  const int64_t blocks = std::min((want + bands - 1) / bands, std::max<int64_t>(1, C / kMinBlock));
  const int64_t block = (C + blocks - 1) / blocks;
  return {bands, (C + block - 1) / block, block};
}

// One slice of grad_src: image `img` (its flow f and grad_out g), channels [c0, c0 + nc),
// source rows [y_lo, y_hi). Zeroes the slice, then adds every output pixel's contributions
// in raster order. K > 0: nc == K known at compile time.
template <int K, class T>
void scatter_slice(const T* f, const T* g, T* img, int64_t H, int64_t W, int64_t C, int64_t c0, int64_t nc,
                   int64_t y_lo, int64_t y_hi) {
  if (nc == C) {
    std::fill(img + y_lo * W * C, img + y_hi * W * C, T(0));
  } else {
    for (int64_t q = y_lo * W; q < y_hi * W; ++q) std::fill_n(img + q * C + c0, nc, T(0));
  }
  T* slice = img + c0;
  const auto in_band = [&](int64_t row) { return row >= y_lo && row < y_hi; };
  for (int64_t y = 0; y < H; ++y) {
    for (int64_t x = 0; x < W; ++x) {
      const int64_t p = y * W + x;
      // The rows first: most pixels of a thin band's scan sample elsewhere.
      const AxisTap<T> ay = axis_tap(y, f[2 * p + 1], H);
      const bool top = in_band(ay.i0), bottom = in_band(ay.i0 + ay.step);
      if (!top && !bottom) continue;
      const Tap<T> t = make_tap(axis_tap(x, f[2 * p], W), ay, W, C);
      const T* gp = g + p * C + c0;
      // Corners in the fixed order 00, 01, 10, 11 (they coincide on one-pixel axes).
      if (top) {
        axpy<K>(slice + t.o00, gp, t.w00, nc);
        axpy<K>(slice + t.o01, gp, t.w01, nc);
      }
      if (bottom) {
        axpy<K>(slice + t.o10, gp, t.w10, nc);
        axpy<K>(slice + t.o11, gp, t.w11, nc);
      }
    }
  }
}

template <class T>
void warp_backward_src_typed(const T* flow, const T* go, T* gs, int64_t N, int64_t H, int64_t W, int64_t C) {
  const SliceCut cut = cut_slices(N, H, C, num_threads());
  const int64_t per_image = cut.blocks * cut.bands;
  parallel_for(N * per_image, 1, [&](int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; ++s) {
      const int64_t n = s / per_image, band = (s % per_image) / cut.blocks, block = s % cut.blocks;
      const int64_t c0 = block * cut.block, nc = std::min(C, c0 + cut.block) - c0;
      const int64_t y_lo = H * band / cut.bands, y_hi = H * (band + 1) / cut.bands;
      const T* f = flow + n * H * W * 2;
      const T* g = go + n * H * W * C;
      T* img = gs + n * H * W * C;
      switch (nc) {
        case 1: scatter_slice<1>(f, g, img, H, W, C, c0, nc, y_lo, y_hi); break;
        case 2: scatter_slice<2>(f, g, img, H, W, C, c0, nc, y_lo, y_hi); break;
        case 3: scatter_slice<3>(f, g, img, H, W, C, c0, nc, y_lo, y_hi); break;
        case 4: scatter_slice<4>(f, g, img, H, W, C, c0, nc, y_lo, y_hi); break;
        default: scatter_slice<0>(f, g, img, H, W, C, c0, nc, y_lo, y_hi); break;
      }
    }
  });
}

struct Dims {
  int64_t N, H, W, C;
};

Dims image_dims(const Tensor& t) { return {t.size(0), t.size(1), t.size(2), t.size(3)}; }

}  // namespace

void warp(const Tensor& src, const Tensor& flow, Tensor& out) {
  const Dims d = image_dims(src);
  if (src.dtype() == DType::F64) {
    warp_typed(src.data<double>(), flow.data<double>(), out.data<double>(), d.N, d.H, d.W, d.C);
  } else {
    warp_typed(src.data<float>(), flow.data<float>(), out.data<float>(), d.N, d.H, d.W, d.C);
  }
}

void warp_backward_src(const Tensor& flow, const Tensor& grad_out, Tensor& grad_src) {
  const Dims d = image_dims(grad_src);
  if (flow.dtype() == DType::F64) {
    warp_backward_src_typed(flow.data<double>(), grad_out.data<double>(), grad_src.data<double>(), d.N, d.H, d.W, d.C);
  } else {
    warp_backward_src_typed(flow.data<float>(), grad_out.data<float>(), grad_src.data<float>(), d.N, d.H, d.W, d.C);
  }
}

void warp_backward_flow(const Tensor& src, const Tensor& flow, const Tensor& grad_out, Tensor& grad_flow) {
  const Dims d = image_dims(src);
  if (src.dtype() == DType::F64) {
    warp_backward_flow_typed(src.data<double>(), flow.data<double>(), grad_out.data<double>(),
                             grad_flow.data<double>(), d.N, d.H, d.W, d.C);
  } else {
    warp_backward_flow_typed(src.data<float>(), flow.data<float>(), grad_out.data<float>(), grad_flow.data<float>(),
                             d.N, d.H, d.W, d.C);
  }
}

}  // namespace fh::kernels::cpu
