// Float32 convolutions over a few input channels (E_can's 7x7 stem over 3 channels, the
// sketch's 3-channel convolutions) with the image read where it lies instead of gathered.
//
// Why it exists beside the column-matrix path (conv_gemm.h): a 7x7 window over 3 channels
// is 7 rows of 21 values, so gathering it copies 147 values in 7 short runs per output pixel
// — at `small` a training step's stem gathers 131,072 windows for the forward and again for
// the weight gradient, and the copies took about as long as the products. But within one
// output row, the window rows of consecutive pixels start s·C values apart in the image
// (NHWC): for each kernel row the product over a run of pixels is a matrix product whose
// left operand is the image row itself, with a leading dimension of s·C. Pixels whose window
// reaches outside the image (a few at each end of a row) keep the gather.
//
// Forward: each output value sums its window in the column order (kernel row, column,
// channel) as the gathered product does, in one register-blocked product per kernel row
// continuing the previous one's sums; kernel rows outside the image, which the gather fills
// with zeros, add nothing and are skipped — so the values are the gathered path's, bit for bit.
// Weight gradient (outputs a multiple of 16, up to 32): grad_w(o, k) = Σ over pixels of
// grad_out(pixel, o) · window(pixel, k), as outer products that keep up to 24 window values'
// [outputs] vectors in registers while the pixels stream past; sums run over a piece's
// pixels in a fixed order (row by row, the border pixels of a row after its interior), so
// they do not depend on the thread count.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <utility>

#include "kernels/cpu/conv_narrow.h"
#include "kernels/cpu/conv_window.h"
#include "kernels/cpu/register_product.h"

namespace fh::kernels::cpu::conv {

// Whether the forward reads this window's rows in place: a window whose rows are not whole
// vectors (gathers_window) and that is not the source itself.
inline bool reads_image_rows(const Window& win) { return !win.identity() && gathers_window<float>(win); }

// Output pixels gx of one output row whose whole window row lies inside the image:
// [lo, hi), possibly empty.
struct InteriorRange {
  int64_t lo = 0, hi = 0;
};

inline InteriorRange interior_columns(const Window& win) {
  // gx·s + origin_x ≥ 0 and gx·s + origin_x + win_w ≤ src_w.
  const int64_t s = win.stride;
  const int64_t lo = std::max<int64_t>(0, (-win.origin_x + s - 1) / s);
  const int64_t last = win.src_w - win.win_w - win.origin_x;  // gx·s ≤ last
  const int64_t hi = last < 0 ? 0 : std::min<int64_t>(win.grid_w, last / s + 1);
  return {std::min(lo, hi), hi};
}

// Scratch for the gathered windows of one output row's border pixels (win.cols() values each).
inline std::unique_ptr<float[]> border_scratch(const Window& win) {
  return std::unique_ptr<float[]>(new float[win.grid_w * win.cols()]);
}

// Calls f(first pixel, pixel count, y of the window's first row, x of the first pixel's
// window) for the interior of each output row within [r0, r1), and border(first, count) for
// the runs of pixels before and after it, in that order: interior, left border, right border.
template <class Interior, class Border>
void for_each_output_row(const Window& win, int64_t r0, int64_t r1, const Interior& interior, const Border& border) {
  const InteriorRange in = interior_columns(win);
  for (int64_t r = r0; r < r1;) {
    const int64_t gx = r % win.grid_w, gy = (r / win.grid_w) % win.grid_h, n = r / (win.grid_w * win.grid_h);
    const int64_t row_start = r - gx, row_end = std::min(r1, row_start + win.grid_w);
    const int64_t a = std::clamp(row_start + in.lo, r, row_end), b = std::clamp(row_start + in.hi, a, row_end);
    if (a < b) interior(n, a, b - a, gy * win.stride + win.origin_y, (a - row_start) * win.stride + win.origin_x);
    if (r < a) border(r, a - r);
    if (b < row_end) border(b, row_end - b);
    r = row_end;
  }
}

// Rows [r0, r0 + rows) of dest = columns(src, win) · wmatᵀ + bias, by the packed weight
// (product::PackedPanels of wmat, transposed) panel `block`, reading interior windows in place.
// dest rows are contiguous (row r at dest + r·n_out); `windows` is border_scratch(win).
inline void image_rows_forward(const float* src, const Window& win, const product::PackedPanels& weight,
                               int64_t block, const float* bias, int64_t r0, int64_t rows, float* dest,
                               int64_t n_out, float* windows) {
  const int64_t C = win.channels, run = win.win_w * C, K = win.cols(), s = win.stride;
  const int64_t o0 = weight.begin(block), width = weight.width(block), cols = weight.columns(block);
  const int nv = static_cast<int>(width / product::kLanes);
  const float* panel = weight.data.get() + weight.begin(block) * K;
  for_each_output_row(
      win, r0, r0 + rows,
      [&](int64_t n, int64_t q0, int64_t count, int64_t y0, int64_t x0) {
        bool first = true;
        for (int64_t i = 0; i < win.win_h; ++i) {
          const int64_t y = y0 + i;
          if (y < 0 || y >= win.src_h) continue;  // a row of zeros in the gathered window
          const float* image_row = src + ((n * win.src_h + y) * win.src_w + x0) * C;
          product::multiply(image_row, s * C, count, panel + i * run * width, run, nv, dest + q0 * n_out + o0, n_out,
                            cols, /*accumulate=*/!first);
          first = false;
        }
        if (first)  // every kernel row outside the image: the sums are zero
          for (int64_t q = q0; q < q0 + count; ++q) std::fill_n(dest + q * n_out + o0, cols, 0.0f);
      },
      [&](int64_t q0, int64_t count) {
        gather_columns(src, win, q0, count, 0, K, windows);
        product::multiply(windows, K, count, panel, K, nv, dest + q0 * n_out + o0, n_out, cols);
      });
  if (bias)
    for (int64_t r = r0; r < r0 + rows; ++r)
      for (int64_t j = 0; j < cols; ++j) dest[r * n_out + o0 + j] += bias[o0 + j];
}

// Whether the weight gradient takes image_rows_weight_grad: windows as for the forward, and
// outputs that fill one or two vectors exactly.
inline bool weight_grad_reads_image_rows(const Window& win, int64_t n_out) {
  return reads_image_rows(win) && (n_out == product::kLanes || n_out == 2 * product::kLanes);
}

namespace detail {

// acc[j][v] += Σ over `pixels` pixels p of s[p·ls + j] · g[p·lg + v·16], acc held in
// registers: J window values × NV vectors of outputs (J·NV ≤ 24).
template <int J, int NV>
void outer_products(const float* s, int64_t ls, const float* g, int64_t lg, int64_t pixels, float* acc) {
  using product::Lanes;
  Lanes a[J][NV];
  for (int j = 0; j < J; ++j)
    for (int v = 0; v < NV; ++v) a[j][v] = product::load(acc + (j * NV + v) * product::kLanes);
  for (int64_t p = 0; p < pixels; ++p) {
    Lanes gv[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) gv[v] = product::load(g + p * lg + v * product::kLanes);
    // Unrolled whole, so that the accumulators stay in registers.
#pragma GCC unroll 24
    for (int j = 0; j < J; ++j) {
      const Lanes sj = product::broadcast(s[p * ls + j]);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) a[j][v] = product::multiply_add(sj, gv[v], a[j][v]);
    }
  }
  for (int j = 0; j < J; ++j)
    for (int v = 0; v < NV; ++v) product::store(acc + (j * NV + v) * product::kLanes, a[j][v]);
}

using OuterProducts = void (*)(const float*, int64_t, const float*, int64_t, int64_t, float*);

template <int NV, int... J>
constexpr std::array<OuterProducts, sizeof...(J)> outer_product_table(std::integer_sequence<int, J...>) {
  return {&outer_products<J + 1, NV>...};
}

}  // namespace detail

// acc [K, n_out] (window value-major, zeroed by the caller) += the weight gradient of output
// rows [r_begin, r_end): Σ over those pixels of window(pixel, k) · grad_out(pixel, :).
// n_out is 16 or 32 (weight_grad_reads_image_rows). Per output row: each kernel row's window
// values over the interior pixels in chunks of 24 / NV values, then the border pixels from
// their gathered windows (`windows`: border_scratch(win)).
inline void image_rows_weight_grad(const float* grad_out, const float* src, const Window& win, int64_t n_out,
                                   int64_t r_begin, int64_t r_end, float* acc, float* windows) {
  const int nv = static_cast<int>(n_out / product::kLanes);
  const int64_t max_j = 24 / nv;
  static constexpr auto table1 = detail::outer_product_table<1>(std::make_integer_sequence<int, 24>{});
  static constexpr auto table2 = detail::outer_product_table<2>(std::make_integer_sequence<int, 12>{});
  const detail::OuterProducts* table = nv == 1 ? table1.data() : table2.data();
  const int64_t C = win.channels, run = win.win_w * C, K = win.cols(), s = win.stride;
  // Window values [k0, k0 + len) of `count` pixels whose windows lie `ls` apart from `values`.
  const auto chunks = [&](const float* values, int64_t ls, int64_t k0, int64_t len, int64_t q0, int64_t count) {
    for (int64_t j0 = 0; j0 < len; j0 += max_j) {
      const int64_t jn = std::min(max_j, len - j0);
      table[jn - 1](values + j0, ls, grad_out + q0 * n_out, n_out, count, acc + (k0 + j0) * n_out);
    }
  };
  for_each_output_row(
      win, r_begin, r_end,
      [&](int64_t n, int64_t q0, int64_t count, int64_t y0, int64_t x0) {
        for (int64_t i = 0; i < win.win_h; ++i) {
          const int64_t y = y0 + i;
          if (y < 0 || y >= win.src_h) continue;
          chunks(src + ((n * win.src_h + y) * win.src_w + x0) * C, s * C, i * run, run, q0, count);
        }
      },
      [&](int64_t q0, int64_t count) {
        gather_columns(src, win, q0, count, 0, K, windows);
        chunks(windows, K, 0, K, q0, count);
      });
}

}  // namespace fh::kernels::cpu::conv
