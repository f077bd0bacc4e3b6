// Pixel shuffle and unshuffle on the CPU: pure data movement.
//
// In NHWC a low-resolution pixel's C·r² channels, read as a [C, r·r] block, are the r×r
// high-resolution pixels' channel rows: a small transpose per pixel. Each parallel task
// takes low-resolution rows (n, h) and the r high-resolution rows they map to, so reads and
// writes both stream. The generator's factor r = 2 walks each low-resolution pixel once,
// de-interleaving (shuffle) or interleaving (unshuffle) four channel rows with
// compile-time strides the compiler turns into vector permutes; other factors take a
// strided loop per sub-pixel.
#include <algorithm>

#include "kernels/cpu/cpu_kernels.h"
#include "runtime/thread_pool.h"

namespace fh::kernels::cpu {

namespace {

// Geometry of the low-resolution side [N, H, W, C·r²] and the high-resolution side [N, H·r, W·r, C].
struct ShuffleDims {
  int64_t N, H, W, C, r;
};

// Calls fn(lo, hi, row_stride) for every low-resolution pixel: lo points at its C·r²
// channels, hi at the channel row of its top-left high-resolution pixel, and row_stride is
// the element distance between consecutive high-resolution rows. One side is const.
template <class Lo, class Hi, class Fn>
void for_each_pixel(Lo* low, Hi* high, const ShuffleDims& d, Fn&& fn) {
  const int64_t r = d.r, row_stride = d.W * r * d.C, rr_c = d.C * r * r;
  // About 32K elements per parallel chunk.
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(1, d.W * rr_c));
  parallel_for(d.N * d.H, grain, [&](int64_t row0, int64_t row1) {
    for (int64_t row = row0; row < row1; ++row) {  // (n, h): high-res rows n·H·r + h·r + i
      for (int64_t w = 0; w < d.W; ++w) fn(low + (row * d.W + w) * rr_c, high + row * r * row_stride + w * r * d.C, row_stride);
    }
  });
}

// r = 2: sub-pixel k = 2i + j is channel c·4 + k of the low-resolution pixel.
template <class T>
void shuffle_by_2(const T* x, T* out, const ShuffleDims& d) {
  const int64_t C = d.C;
  for_each_pixel(x, out, d, [C](const T* lo, T* hi, int64_t row_stride) {
    const T* __restrict src = lo;
    T* __restrict h00 = hi;
    T* __restrict h01 = hi + C;
    T* __restrict h10 = hi + row_stride;
    T* __restrict h11 = hi + row_stride + C;
    for (int64_t c = 0; c < C; ++c) {
      h00[c] = src[4 * c];
      h01[c] = src[4 * c + 1];
      h10[c] = src[4 * c + 2];
      h11[c] = src[4 * c + 3];
    }
  });
}

template <class T>
void unshuffle_by_2(const T* x, T* out, const ShuffleDims& d) {
  const int64_t C = d.C;
  for_each_pixel(out, x, d, [C](T* lo, const T* hi, int64_t row_stride) {
    T* __restrict dst = lo;
    const T* __restrict h00 = hi;
    const T* __restrict h01 = hi + C;
    const T* __restrict h10 = hi + row_stride;
    const T* __restrict h11 = hi + row_stride + C;
    for (int64_t c = 0; c < C; ++c) {
      dst[4 * c] = h00[c];
      dst[4 * c + 1] = h01[c];
      dst[4 * c + 2] = h10[c];
      dst[4 * c + 3] = h11[c];
    }
  });
}

// Any r: sub-pixel (i, j) at a time, a strided walk over the low-resolution channels.
template <class T>
void shuffle_any(const T* x, T* out, const ShuffleDims& d, bool to_high) {
  const int64_t C = d.C, r = d.r, rr = r * r;
  auto each_subpixel = [&](auto* lo, auto* hi, int64_t row_stride, auto&& copy) {
    for (int64_t i = 0; i < r; ++i)
      for (int64_t j = 0; j < r; ++j) copy(lo + i * r + j, hi + i * row_stride + j * C);
  };
  if (to_high) {
    for_each_pixel(x, out, d, [&](const T* lo, T* hi, int64_t row_stride) {
      each_subpixel(lo, hi, row_stride, [&](const T* l, T* h) {
        for (int64_t c = 0; c < C; ++c) h[c] = l[c * rr];
      });
    });
  } else {
    for_each_pixel(out, x, d, [&](T* lo, const T* hi, int64_t row_stride) {
      each_subpixel(lo, hi, row_stride, [&](T* l, const T* h) {
        for (int64_t c = 0; c < C; ++c) l[c * rr] = h[c];
      });
    });
  }
}

template <class T>
void shuffle_typed(const T* x, T* out, const ShuffleDims& d, bool to_high) {
  if (d.r == 2) return to_high ? shuffle_by_2(x, out, d) : unshuffle_by_2(x, out, d);
  shuffle_any(x, out, d, to_high);
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
