// Convolution products with a handful of outputs per window (the 7x7 heads' 1-3 channels,
// the input gradient of a 3-channel image; in float64 up to 8). A GEMM wastes most of its micro-kernel
// on them, and gathering a window costs as much as multiplying it; instead each output is
// a dot product of the window with a weight row, read straight from the source one window
// row (a contiguous run, NHWC) at a time. Used by conv::product_with_weight (conv_gemm.h)
// and, for the weight gradient of such a convolution, by conv_weight_grad.cpp.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "kernels/cpu/conv_window.h"

namespace fh::kernels::cpu::conv {

// The widest output count that takes this path: in float64 (which has no register-blocked
// product) 8; in float32 3 — the 7x7 heads' 1-3 channels. Float32 layers of 4-8 outputs
// (E_can's bottlenecks) run up to 3.6x faster through the register-blocked product, half its
// vector lanes idle, than as dot products whose sums end in a horizontal reduction per
// output and pixel; a 3x3 4→4 forward is 4 % slower (docs/cpu-conv.md); the 7x7 stem of 8 outputs then reads its image rows
// in place (conv_image_rows.h).
constexpr int64_t kMaxNarrowOutputs = 8;
constexpr int64_t kMaxNarrowFloatOutputs = 3;

template <class T>
constexpr int64_t max_narrow_outputs() {
  return std::is_same_v<T, float> ? kMaxNarrowFloatOutputs : kMaxNarrowOutputs;
}

// Window rows that are not a whole number of vectors leave their ends to scalar code: a 7x7
// window of 3 channels has rows of 21 values, 5 of them scalar in each of its 7 rows. Such a
// window, up to this many values, is first gathered into one contiguous run (zeros outside
// the source), whose 147 values leave 3 to the scalar end.
constexpr int64_t kMaxGatheredWindow = 1024;

template <class T>
bool gathers_window(const Window& win) {
  constexpr int64_t kLanes = 64 / sizeof(T);
  const int64_t run = win.win_w * win.channels, K = win.cols();
  return K <= kMaxGatheredWindow && win.win_h * (run % kLanes) > K % kLanes;
}

// One vector register of lanes (Eigen's fixed-size arrays compile to packet operations).
template <class T>
using NarrowLanes = Eigen::Array<T, 64 / sizeof(T), 1>;

// acc[o] (lanes) and tail[o] += Σ_e s[e]·w[o·K + e] over a contiguous run of `len` values.
// Always inlined: called apart, the accumulators would live in memory instead of registers.
template <int NO, class T>
[[gnu::always_inline]] inline void dot_run(const T* s, const T* w, int64_t len, int64_t K, NarrowLanes<T> (&acc)[NO],
                                           T (&tail)[NO]) {
  using Lanes = NarrowLanes<T>;
  constexpr int64_t kLanes = Lanes::SizeAtCompileTime;
  int64_t e = 0;
  for (; e + kLanes <= len; e += kLanes) {
    const Lanes v = Eigen::Map<const Lanes>(s + e);
    for (int o = 0; o < NO; ++o) acc[o] += v * Eigen::Map<const Lanes>(w + o * K + e);
  }
  for (; e < len; ++e)
    for (int o = 0; o < NO; ++o) tail[o] += s[e] * w[o * K + e];
}

// a[o·K + e] += go[o]·s[e] over a contiguous run of `len` values.
template <int NO, class T>
[[gnu::always_inline]] inline void scaled_add_run(const T* s, const T (&go)[NO], int64_t len, int64_t K, T* a) {
  using Lanes = NarrowLanes<T>;
  constexpr int64_t kLanes = Lanes::SizeAtCompileTime;
  int64_t e = 0;
  for (; e + kLanes <= len; e += kLanes) {
    const Lanes v = Eigen::Map<const Lanes>(s + e);
    for (int o = 0; o < NO; ++o) Eigen::Map<Lanes>(a + o * K + e) += go[o] * v;
  }
  for (; e < len; ++e)
    for (int o = 0; o < NO; ++o) a[o * K + e] += go[o] * s[e];
}

// Rows [r_begin, r_end) of dest = columns(src, win) · wmatᵀ + bias for NO outputs: wmat
// [NO, win.cols()] row-major; dest_row(r) gives row r's NO values. Each output sums its
// window in the lanes of one vector register (and a scalar for run ends), added up in a
// fixed order at the end.
template <int NO, class T, class RowAddress>
void narrow_rows(const T* src, const Window& win, const T* wmat, const T* bias, int64_t r_begin, int64_t r_end,
                 const RowAddress& dest_row) {
  using Lanes = NarrowLanes<T>;
  const int64_t C = win.channels, run = win.win_w * C, K = win.cols();
  if (gathers_window<T>(win)) {
    T window[kMaxGatheredWindow];
    for (int64_t r = r_begin; r < r_end; ++r) {
      gather_columns(src, win, r, 1, 0, K, window);
      Lanes acc[NO];
      T tail[NO] = {};
      for (int o = 0; o < NO; ++o) acc[o].setZero();
      dot_run(window, wmat, K, K, acc, tail);
      T* out = dest_row(r);
      for (int o = 0; o < NO; ++o) out[o] = acc[o].sum() + tail[o] + (bias ? bias[o] : T(0));
    }
    return;
  }
  int64_t gx = r_begin % win.grid_w, gy = (r_begin / win.grid_w) % win.grid_h, n = r_begin / (win.grid_w * win.grid_h);
  for (int64_t r = r_begin; r < r_end; ++r) {
    Lanes acc[NO];
    T tail[NO] = {};
    for (int o = 0; o < NO; ++o) acc[o].setZero();
    const int64_t y0 = gy * win.stride + win.origin_y, x0 = gx * win.stride + win.origin_x;
    // The window's rows [i_lo, i_hi) and columns [j_lo, j_hi) inside the source.
    const int64_t i_lo = std::clamp<int64_t>(-y0, 0, win.win_h);
    const int64_t i_hi = std::clamp<int64_t>(win.src_h - y0, i_lo, win.win_h);
    const int64_t j_lo = std::clamp<int64_t>(-x0, 0, win.win_w);
    const int64_t j_hi = std::clamp<int64_t>(win.src_w - x0, j_lo, win.win_w);
    const int64_t len = (j_hi - j_lo) * C;
    for (int64_t i = i_lo; i < i_hi; ++i) {
      // Window row i: source values s[e] against weight values w[o·K + e], e < len.
      const T* s = src + ((n * win.src_h + y0 + i) * win.src_w + x0 + j_lo) * C;
      dot_run(s, wmat + i * run + j_lo * C, len, K, acc, tail);
    }
    T* out = dest_row(r);
    for (int o = 0; o < NO; ++o) out[o] = acc[o].sum() + tail[o] + (bias ? bias[o] : T(0));
    if (++gx == win.grid_w) {
      gx = 0;
      if (++gy == win.grid_h) gy = 0, ++n;
    }
  }
}

// The weight gradient for NO outputs, without a gather: acc [NO, win.cols()] +=
// Σ over rows r in [r_begin, r_end), in order, of g(r, :)ᵀ · columns(r, :), g [rows, NO].
// Each window row of each position is one contiguous run of the source added, scaled by
// g(r, o), into the run of acc row o it belongs to; acc (NO·K values) stays in cache.
template <int NO, class T>
void narrow_weight_rows(const T* src, const Window& win, const T* g, int64_t r_begin, int64_t r_end, T* acc) {
  const int64_t C = win.channels, run = win.win_w * C, K = win.cols();
  if (gathers_window<T>(win)) {
    T window[kMaxGatheredWindow];
    for (int64_t r = r_begin; r < r_end; ++r) {
      gather_columns(src, win, r, 1, 0, K, window);
      T go[NO];
      for (int o = 0; o < NO; ++o) go[o] = g[r * NO + o];
      scaled_add_run(window, go, K, K, acc);
    }
    return;
  }
  int64_t gx = r_begin % win.grid_w, gy = (r_begin / win.grid_w) % win.grid_h, n = r_begin / (win.grid_w * win.grid_h);
  for (int64_t r = r_begin; r < r_end; ++r) {
    T go[NO];
    for (int o = 0; o < NO; ++o) go[o] = g[r * NO + o];
    const int64_t y0 = gy * win.stride + win.origin_y, x0 = gx * win.stride + win.origin_x;
    const int64_t i_lo = std::clamp<int64_t>(-y0, 0, win.win_h);
    const int64_t i_hi = std::clamp<int64_t>(win.src_h - y0, i_lo, win.win_h);
    const int64_t j_lo = std::clamp<int64_t>(-x0, 0, win.win_w);
    const int64_t j_hi = std::clamp<int64_t>(win.src_w - x0, j_lo, win.win_w);
    const int64_t len = (j_hi - j_lo) * C;
    for (int64_t i = i_lo; i < i_hi; ++i) {
      const T* s = src + ((n * win.src_h + y0 + i) * win.src_w + x0 + j_lo) * C;
      scaled_add_run(s, go, len, K, acc + i * run + j_lo * C);
    }
    if (++gx == win.grid_w) {
      gx = 0;
      if (++gy == win.grid_h) gy = 0, ++n;
    }
  }
}

template <class T>
void narrow_weight_rows(int64_t n_out, const T* src, const Window& win, const T* g, int64_t r_begin, int64_t r_end,
                        T* acc) {
  switch (n_out) {
    case 1: return narrow_weight_rows<1>(src, win, g, r_begin, r_end, acc);
    case 2: return narrow_weight_rows<2>(src, win, g, r_begin, r_end, acc);
    case 3: return narrow_weight_rows<3>(src, win, g, r_begin, r_end, acc);
    case 4: return narrow_weight_rows<4>(src, win, g, r_begin, r_end, acc);
    case 5: return narrow_weight_rows<5>(src, win, g, r_begin, r_end, acc);
    case 6: return narrow_weight_rows<6>(src, win, g, r_begin, r_end, acc);
    case 7: return narrow_weight_rows<7>(src, win, g, r_begin, r_end, acc);
    default: return narrow_weight_rows<8>(src, win, g, r_begin, r_end, acc);
  }
}

template <class T, class RowAddress>
void narrow_rows(int64_t n_out, const T* src, const Window& win, const T* wmat, const T* bias, int64_t r_begin,
                 int64_t r_end, const RowAddress& dest_row) {
  switch (n_out) {
    case 1: return narrow_rows<1>(src, win, wmat, bias, r_begin, r_end, dest_row);
    case 2: return narrow_rows<2>(src, win, wmat, bias, r_begin, r_end, dest_row);
    case 3: return narrow_rows<3>(src, win, wmat, bias, r_begin, r_end, dest_row);
    case 4: return narrow_rows<4>(src, win, wmat, bias, r_begin, r_end, dest_row);
    case 5: return narrow_rows<5>(src, win, wmat, bias, r_begin, r_end, dest_row);
    case 6: return narrow_rows<6>(src, win, wmat, bias, r_begin, r_end, dest_row);
    case 7: return narrow_rows<7>(src, win, wmat, bias, r_begin, r_end, dest_row);
    default: return narrow_rows<8>(src, win, wmat, bias, r_begin, r_end, dest_row);
  }
}

}  // namespace fh::kernels::cpu::conv
