// Pixel shuffle and unshuffle on the CPU: pure data movement.
//
// In NHWC an input pixel's C·r² channels, read as a [C, r, r] block, become the r×r output
// pixels' channel rows: a small transpose per input pixel. Each parallel task takes one
// input row (n, h) and fills the r output rows it maps to, so reads and writes both stream;
// the common factor r = 2 gets a compile-time stride the compiler turns into vector
// shuffles, other factors take the generic loop.
#include <algorithm>

#include "kernels/cpu/cpu_kernels.h"
#include "runtime/thread_pool.h"

namespace fh::kernels::cpu {

namespace {

// Geometry of the low-resolution side [N, H, W, C·r²] and the high-resolution side [N, H·r, W·r, C].
struct ShuffleDims {
  int64_t N, H, W, C, r;
};

// Input rows per parallel chunk: about 32K elements.
int64_t row_grain(const ShuffleDims& d) {
  return std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(1, d.W * d.C * d.r * d.r));
}

// Calls fn(lo, hi) per (low-res pixel, sub-pixel (i, j)): lo points at the low-res pixel's
// channels offset by i·r + j, hi at the high-res pixel's channel row. One side is const.
template <class Lo, class Hi, class Fn>
void for_each_subpixel(Lo* low, Hi* high, const ShuffleDims& d, Fn&& fn) {
  const int64_t r = d.r, Wo = d.W * r, Cin = d.C * r * r;
  parallel_for(d.N * d.H, row_grain(d), [&](int64_t row0, int64_t row1) {
    for (int64_t row = row0; row < row1; ++row) {
      for (int64_t i = 0; i < r; ++i) {
        Hi* hi_row = high + (row * r + i) * Wo * d.C;  // (n, h) -> output row n·H·r + h·r + i
        for (int64_t w = 0; w < d.W; ++w) {
          Lo* lo_px = low + (row * d.W + w) * Cin;
          for (int64_t j = 0; j < r; ++j) fn(lo_px + i * r + j, hi_row + (w * r + j) * d.C);
        }
      }
    }
  });
}

// One channel row: high[c] = low[c·RR] (shuffle) or low[c·RR] = high[c] (unshuffle).
template <class T, int64_t RR>
void shuffle_fixed(const T* x, T* out, const ShuffleDims& d, bool to_high) {
  const int64_t C = d.C;
  if (to_high) {
    for_each_subpixel(x, out, d, [C](const T* lo, T* hi) {
      const T* __restrict src = lo;
      T* __restrict dst = hi;
      for (int64_t c = 0; c < C; ++c) dst[c] = src[c * RR];
    });
  } else {
    for_each_subpixel(out, x, d, [C](T* lo, const T* hi) {
      const T* __restrict src = hi;
      T* __restrict dst = lo;
      for (int64_t c = 0; c < C; ++c) dst[c * RR] = src[c];
    });
  }
}

template <class T>
void shuffle_generic(const T* x, T* out, const ShuffleDims& d, bool to_high) {
  const int64_t C = d.C, rr = d.r * d.r;
  if (to_high) {
    for_each_subpixel(x, out, d, [C, rr](const T* lo, T* hi) {
      for (int64_t c = 0; c < C; ++c) hi[c] = lo[c * rr];
    });
  } else {
    for_each_subpixel(out, x, d, [C, rr](T* lo, const T* hi) {
      for (int64_t c = 0; c < C; ++c) lo[c * rr] = hi[c];
    });
  }
}

template <class T>
void shuffle_typed(const T* x, T* out, const ShuffleDims& d, bool to_high) {
  if (d.r == 2) return shuffle_fixed<T, 4>(x, out, d, to_high);
  shuffle_generic(x, out, d, to_high);
}

void shuffle(const Tensor& x, Tensor& out, const ShuffleDims& d, bool to_high) {
  if (x.dtype() == DType::F64) {
    shuffle_typed(x.data<double>(), out.data<double>(), d, to_high);
  } else {
    shuffle_typed(x.data<float>(), out.data<float>(), d, to_high);
  }
}

}  // namespace

void pixel_shuffle(const Tensor& x, int64_t r, Tensor& out) {
  shuffle(x, out, {x.size(0), x.size(1), x.size(2), out.size(3), r}, true);
}

void pixel_unshuffle(const Tensor& x, int64_t r, Tensor& out) {
  shuffle(x, out, {out.size(0), out.size(1), out.size(2), x.size(3), r}, false);
}

}  // namespace fh::kernels::cpu
