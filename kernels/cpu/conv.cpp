// 2-d convolution on the CPU: the forward pass and the input gradient, both as tiled
// column-matrix GEMMs (kernels/cpu/conv_gemm.h). The weight gradient is in
// conv_weight_grad.cpp.
#include <type_traits>
#include <vector>

#include "kernels/cpu/conv_gemm.h"
#include "kernels/cpu/conv_winograd.h"
#include "kernels/cpu/cpu_kernels.h"

namespace fh::kernels::cpu {

namespace {

using conv::RowDestination;
using conv::Window;

template <class T>
void conv2d_direct_typed(const T* x, const T* w, const T* bias, const Conv2dParams& p, T* out) {
  const auto row = [out, ld = p.Cout](int64_t r) { return out + r * ld; };
  conv::product_with_weight(x, conv::forward_window(p), w, p.Cout, bias, RowDestination<decltype(row)>{true, row});
}

// The input gradient as a gather: grad_in(n, iy, ix, c) sums grad_out(n, oy, ox, o) ·
// w(o, i, j, c) over the taps with oy·s - pad + i = iy (likewise x). Input pixels fall into
// s² phases by (iy + pad) mod s; within a phase the taps that reach a pixel are fixed
// (i ≡ (iy + pad) mod s) and the grad_out pixels they come from form a stride-1 window.
// So each phase is a stride-1 convolution of grad_out with a sub-kernel of the flipped,
// transposed weight, written straight to its own input pixels: every grad_in value is
// computed once, by one task, with no scatter-add.
struct Phase {
  int64_t py = 0, px = 0;          // (iy + pad) mod s, (ix + pad) mod s
  int64_t iy0 = 0, ix0 = 0;        // first input row / column of the phase
  int64_t rows = 0, cols = 0;      // input rows / columns in the phase
  int64_t taps_y = 0, taps_x = 0;  // kernel rows i ≡ py, columns j ≡ px (mod s)
};

Phase make_phase(const Conv2dParams& p, int64_t py, int64_t px) {
  const int64_t s = p.stride;
  Phase ph;
  ph.py = py;
  ph.px = px;
  ph.iy0 = ((py - p.pad) % s + s) % s;
  ph.ix0 = ((px - p.pad) % s + s) % s;
  ph.rows = ph.iy0 < p.H ? (p.H - 1 - ph.iy0) / s + 1 : 0;
  ph.cols = ph.ix0 < p.W ? (p.W - 1 - ph.ix0) / s + 1 : 0;
  ph.taps_y = py < p.kh ? (p.kh - 1 - py) / s + 1 : 0;
  ph.taps_x = px < p.kw ? (p.kw - 1 - px) / s + 1 : 0;
  return ph;
}

// The phase's sub-kernel as a [Cin, taps_y·taps_x·Cout] matrix whose columns follow the
// grad_out window's (a, b, o) order: window row a holds kernel row py + s·(taps_y-1-a)
// (the window walks grad_out forwards, so the kernel runs backwards).
template <class T>
void phase_weight(const T* w, const Conv2dParams& p, const Phase& ph, std::vector<T>& sub) {
  const int64_t s = p.stride, K = ph.taps_y * ph.taps_x * p.Cout, w_row = p.kh * p.kw * p.Cin;
  sub.resize(static_cast<size_t>(p.Cin * K));
  // Per tap, a transpose of w(:, i, j, :) [Cout, Cin] into sub(:, tap, :) [Cin, Cout], in
  // square blocks so that reads and writes both stay within a few cache lines.
  constexpr int64_t kBlock = 16;
  parallel_for((p.Cin + kBlock - 1) / kBlock, 1, [&](int64_t cb0, int64_t cb1) {
    for (int64_t a = 0; a < ph.taps_y; ++a) {
      const int64_t i = ph.py + s * (ph.taps_y - 1 - a);
      for (int64_t b = 0; b < ph.taps_x; ++b) {
        const int64_t j = ph.px + s * (ph.taps_x - 1 - b);
        const T* src = w + (i * p.kw + j) * p.Cin;           // src[o·w_row + c] = w(o, i, j, c)
        T* dst = sub.data() + (a * ph.taps_x + b) * p.Cout;  // dst[c·K + o]
        for (int64_t c0 = cb0 * kBlock; c0 < std::min(p.Cin, cb1 * kBlock); c0 += kBlock) {
          const int64_t c1 = std::min(p.Cin, c0 + kBlock);
          for (int64_t o0 = 0; o0 < p.Cout; o0 += kBlock) {
            const int64_t o1 = std::min(p.Cout, o0 + kBlock);
            for (int64_t c = c0; c < c1; ++c)
              for (int64_t o = o0; o < o1; ++o) dst[c * K + o] = src[o * w_row + c];
          }
        }
      }
    }
  });
}

// The phase's window over grad_out: phase pixel (t, u) is input pixel (iy0 + s·t, ix0 + s·u),
// whose taps read grad_out rows (iy0 + s·t + pad - py)/s - a for a < taps_y, i.e. the
// window starting at origin_y + t (likewise for columns).
Window phase_window(const Conv2dParams& p, const Phase& ph) {
  Window win;
  win.batch = p.N;
  win.src_h = p.Ho;
  win.src_w = p.Wo;
  win.channels = p.Cout;
  win.grid_h = ph.rows;
  win.grid_w = ph.cols;
  win.win_h = ph.taps_y;
  win.win_w = ph.taps_x;
  win.stride = 1;
  win.origin_y = (ph.iy0 + p.pad - ph.py) / p.stride - (ph.taps_y - 1);
  win.origin_x = (ph.ix0 + p.pad - ph.px) / p.stride - (ph.taps_x - 1);
  return win;
}

template <class T>
void zero_phase(const Conv2dParams& p, const Phase& ph, T* grad_in) {
  parallel_for(p.N * ph.rows, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / ph.rows, iy = ph.iy0 + p.stride * (r % ph.rows);
      T* row = grad_in + (n * p.H + iy) * p.W * p.Cin;
      for (int64_t ix = ph.ix0; ix < p.W; ix += p.stride) std::fill(row + ix * p.Cin, row + (ix + 1) * p.Cin, T(0));
    }
  });
}

// With stride 1 the whole input gradient is one stride-1 convolution of grad_out by the
// flipped, transposed weight `sub` (a [Cin, kh, kw, Cout] weight) with padding kh-1-pad.
// Runs it by Winograd and returns true when that layer takes the Winograd path.
bool backward_input_by_winograd(const float* grad_out, const float* sub, const Conv2dParams& p, float* grad_in) {
  if (p.kh != p.kw) return false;
  Conv2dParams q = p;
  q.H = p.Ho, q.W = p.Wo, q.Ho = p.H, q.Wo = p.W, q.Cin = p.Cout, q.Cout = p.Cin, q.pad = p.kh - 1 - p.pad;
  const int tile = winograd_tile(q);
  if (tile != 0) conv2d_winograd(grad_out, sub, nullptr, q, tile, grad_in);
  return tile != 0;
}

template <class T>
void conv2d_backward_input_typed(const T* grad_out, const T* w, const Conv2dParams& p, T* grad_in) {
  const int64_t s = p.stride;
  std::vector<T> sub;
  for (int64_t py = 0; py < s; ++py) {
    for (int64_t px = 0; px < s; ++px) {
      const Phase ph = make_phase(p, py, px);
      if (ph.rows == 0 || ph.cols == 0) continue;
      if (ph.taps_y == 0 || ph.taps_x == 0) {  // a kernel smaller than the stride skips these pixels
        zero_phase(p, ph, grad_in);
        continue;
      }
      phase_weight(w, p, ph, sub);
      const Window win = phase_window(p, ph);
      if (s == 1) {
        if constexpr (std::is_same_v<T, float>) {
          if (backward_input_by_winograd(grad_out, sub.data(), p, grad_in)) continue;
        }
        const auto row = [grad_in, ld = p.Cin](int64_t r) { return grad_in + r * ld; };
        conv::product_with_weight(grad_out, win, sub.data(), p.Cin, static_cast<const T*>(nullptr),
                                  RowDestination<decltype(row)>{true, row});
      } else {
        const auto row = [grad_in, &p, ph](int64_t r) {
          const int64_t u = r % ph.cols, t = (r / ph.cols) % ph.rows, n = r / (ph.cols * ph.rows);
          return grad_in + ((n * p.H + ph.iy0 + p.stride * t) * p.W + ph.ix0 + p.stride * u) * p.Cin;
        };
        conv::product_with_weight(grad_out, win, sub.data(), p.Cin, static_cast<const T*>(nullptr),
                                  RowDestination<decltype(row)>{false, row});
      }
    }
  }
}

}  // namespace

void conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p, Tensor& out) {
  const int tile = x.dtype() == DType::F32 ? winograd_tile(p) : 0;
  if (tile == 0) return conv2d_direct(x, w, bias, p, out);
  conv2d_winograd(x.data<float>(), w.data<float>(), bias.defined() ? bias.data<float>() : nullptr, p, tile,
                  out.data<float>());
}

void conv2d_direct(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p, Tensor& out) {
  if (x.dtype() == DType::F64) {
    conv2d_direct_typed(x.data<double>(), w.data<double>(), bias.defined() ? bias.data<double>() : nullptr, p,
                        out.data<double>());
  } else {
    conv2d_direct_typed(x.data<float>(), w.data<float>(), bias.defined() ? bias.data<float>() : nullptr, p,
                        out.data<float>());
  }
}

void conv2d_backward_input(const Tensor& grad_out, const Tensor& w, const Conv2dParams& p, Tensor& grad_in) {
  if (grad_out.dtype() == DType::F64) {
    conv2d_backward_input_typed(grad_out.data<double>(), w.data<double>(), p, grad_in.data<double>());
  } else {
    conv2d_backward_input_typed(grad_out.data<float>(), w.data<float>(), p, grad_in.data<float>());
  }
}

}  // namespace fh::kernels::cpu
