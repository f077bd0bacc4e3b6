// The window geometry of a convolution seen as a GEMM, and the gather of its column matrix
// (see kernels/cpu/conv_gemm.h).
//
// A convolution slides a window over a source image; every window position is one row of
// an implicit "column matrix" holding the window's pixels in (tap row, tap column, channel)
// order. Images are NHWC, so a window row is one contiguous run of win_w·channels values in
// both the source and the column row: gathering a row is a few memcpys.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/conv_types.h"

namespace fh::kernels::cpu::conv {

// Where each row of a column matrix reads its window. Row r = (n, gy, gx) over a grid of
// grid_h × grid_w positions per image reads source pixels
//   (n, gy·stride + origin_y + i, gx·stride + origin_x + j),  i < win_h, j < win_w,
// from a source [batch, src_h, src_w, channels]; pixels outside the source read as zero.
struct Window {
  int64_t batch = 0, src_h = 0, src_w = 0, channels = 0;
  int64_t grid_h = 0, grid_w = 0;
  int64_t win_h = 0, win_w = 0, stride = 1;
  int64_t origin_y = 0, origin_x = 0;

  int64_t rows() const { return batch * grid_h * grid_w; }
  int64_t cols() const { return win_h * win_w * channels; }
  // A 1x1 window reading every source pixel in order: the source is its own column matrix.
  bool identity() const {
    return win_h == 1 && win_w == 1 && stride == 1 && origin_y == 0 && origin_x == 0 && grid_h == src_h &&
           grid_w == src_w;
  }
};

// The forward pass's window: output pixel (n, oy, ox) reads input pixels from
// (oy·stride - pad, ox·stride - pad) on. A weight [Cout, kh, kw, Cin] is then already the
// [Cout, K] matrix whose columns follow the window's (i, j, c) order.
inline Window forward_window(const Conv2dParams& p) {
  return Window{p.N, p.H, p.W, p.Cin, p.Ho, p.Wo, p.kh, p.kw, p.stride, -p.pad, -p.pad};
}

// Writes columns [k0, k1) of rows [r0, r0 + rows) of the column matrix to dst, row-major
// with leading dimension k1 - k0.
template <class T>
void gather_columns(const T* src, const Window& win, int64_t r0, int64_t rows, int64_t k0, int64_t k1, T* dst) {
  const int64_t C = win.channels, run = win.win_w * C, width = k1 - k0;
  const int64_t i_first = k0 / run, i_last = (k1 - 1) / run;
  int64_t gx = r0 % win.grid_w, gy = (r0 / win.grid_w) % win.grid_h, n = r0 / (win.grid_w * win.grid_h);
  for (int64_t r = 0; r < rows; ++r) {
    T* d = dst + r * width;
    const int64_t y0 = gy * win.stride + win.origin_y, x0 = gx * win.stride + win.origin_x;
    // Window columns [j_lo, j_hi) fall inside the source; as offsets into a window row: [e_lo, e_hi).
    const int64_t j_lo = std::clamp<int64_t>(-x0, 0, win.win_w);
    const int64_t j_hi = std::clamp<int64_t>(win.src_w - x0, j_lo, win.win_w);
    const int64_t e_lo = j_lo * C, e_hi = j_hi * C;
    for (int64_t i = i_first; i <= i_last; ++i) {
      // The part [a, b) of window row i that lies in [k0, k1).
      const int64_t a = std::max<int64_t>(k0 - i * run, 0), b = std::min<int64_t>(k1 - i * run, run);
      T* out = d + (i * run + a - k0);  // holds window-row offsets [a, b)
      const int64_t y = y0 + i;
      if (y < 0 || y >= win.src_h) {
        std::fill(out, out + (b - a), T(0));
        continue;
      }
      // Source offset of window row i's first value; only offsets [e_lo, e_hi) past it are read.
      const int64_t base = ((n * win.src_h + y) * win.src_w + x0) * C;
      const int64_t copy_begin = std::clamp(e_lo, a, b), copy_end = std::clamp(e_hi, copy_begin, b);
      std::fill(out, out + (copy_begin - a), T(0));
      std::copy(src + (base + copy_begin), src + (base + copy_end), out + (copy_begin - a));
      std::fill(out + (copy_end - a), out + (b - a), T(0));
    }
    if (++gx == win.grid_w) {
      gx = 0;
      if (++gy == win.grid_h) gy = 0, ++n;
    }
  }
}

}  // namespace fh::kernels::cpu::conv
