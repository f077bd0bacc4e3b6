// For the conv family's tests: random convolution geometries and a direct-loop
// float64 convolution (forward and gradients) to check the GEMM kernels against.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "runtime/random.h"
#include "tests/harness/random_inputs.h"

namespace fh::test {

struct ConvGeometry {
  int64_t N = 1, H = 1, W = 1, Cin = 1, Cout = 1, kh = 1, kw = 1, stride = 1, pad = 0;
  bool bias = true;

  Shape input() const { return {N, H, W, Cin}; }
  Shape weight() const { return {Cout, kh, kw, Cin}; }
  std::string str() const {
    return "x " + input().str() + " w " + weight().str() + " stride " + std::to_string(stride) + " pad " +
           std::to_string(pad) + (bias ? " bias" : " no bias");
  }
  std::string args_json() const {
    return "{\"stride\":" + std::to_string(stride) + ",\"padding\":" + std::to_string(pad) + "}";
  }
};

// The edges of conv2d, which its tests check besides their random geometries.
inline std::vector<ConvGeometry> conv_edge_geometries() {
  return {
      {1, 7, 7, 3, 2, 3, 3, 2, 1, true},   // stride 2 on an odd input
      {2, 5, 6, 2, 3, 1, 1, 1, 0, true},   // 1x1: the input is its own column matrix
      {1, 5, 5, 2, 2, 1, 1, 2, 0, false},  // 1x1 stride 2: odd rows/columns get no gradient
      {1, 6, 5, 2, 2, 4, 4, 2, 2, true},   // PatchGAN's 4x4 stride 2 pad 2
      {1, 3, 3, 1, 2, 7, 7, 1, 3, true},   // kernel larger than the input, inside the padding
      {1, 7, 7, 2, 1, 7, 7, 3, 3, true},   // stride 3
      {1, 2, 3, 1, 1, 1, 1, 1, 3, true},   // padding larger than the kernel
      {2, 4, 7, 3, 2, 3, 1, 1, 1, true},   // non-square kernel
      {1, 8, 8, 2, 2, 3, 3, 2, 0, false},  // even input whose last row/column is never read
      {1, 9, 8, 6, 5, 7, 7, 1, 3, true},   // 7x7 with 5-8 channels: the dot-product path both ways
      {1, 6, 7, 9, 3, 3, 3, 2, 1, true},   // 3 outputs, 9-channel input gradient by GEMM
  };
}

// Kernels 1, 3, 4 and 7 (sometimes non-square), strides 1 and 2 (sometimes 3), padding
// 0..3, sizes up to max_hw and channels up to max_c with 1 drawn often; the input is grown
// where the kernel would not fit the padded input.
inline ConvGeometry random_conv_geometry(Generator& gen, int64_t max_hw, int64_t max_c) {
  static constexpr int64_t kKernels[] = {1, 3, 4, 7};
  ConvGeometry g;
  g.N = rand_int(gen, 1, 2);
  g.kh = kKernels[rand_int(gen, 0, 3)];
  g.kw = rand_int(gen, 0, 3) == 0 ? kKernels[rand_int(gen, 0, 3)] : g.kh;
  g.stride = rand_int(gen, 0, 5) == 0 ? 3 : rand_int(gen, 1, 2);
  g.pad = rand_int(gen, 0, 3);
  g.H = std::max(rand_int(gen, 1, max_hw), g.kh - 2 * g.pad);
  g.W = std::max(rand_int(gen, 1, max_hw), g.kw - 2 * g.pad);
  g.Cin = rand_int(gen, 0, 2) == 0 ? 1 : rand_int(gen, 1, max_c);
  g.Cout = rand_int(gen, 0, 2) == 0 ? 1 : rand_int(gen, 1, max_c);
  g.bias = rand_int(gen, 0, 3) != 0;
  return g;
}

// Direct loops in float64 over x [N,H,W,Cin], w [Cout,kh,kw,Cin]: out = conv2d(x, w) + b,
// and the gradients of <out, grad_out>.
struct DirectConv {
  Tensor out, grad_x, grad_w, grad_b;
};

inline DirectConv direct_conv(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& grad_out, int64_t stride,
                              int64_t pad) {
  const std::vector<double> xv = x.to_vector<double>(), wv = w.to_vector<double>(), gv = grad_out.to_vector<double>();
  const int64_t N = x.size(0), H = x.size(1), W = x.size(2), Cin = x.size(3);
  const int64_t Cout = w.size(0), kh = w.size(1), kw = w.size(2);
  const int64_t Ho = (H + 2 * pad - kh) / stride + 1, Wo = (W + 2 * pad - kw) / stride + 1;
  const std::vector<double> bv = b.defined() ? b.to_vector<double>() : std::vector<double>(Cout, 0.0);
  std::vector<double> out(N * Ho * Wo * Cout, 0.0), gx(xv.size(), 0.0), gw(wv.size(), 0.0), gb(Cout, 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oy = 0; oy < Ho; ++oy)
      for (int64_t ox = 0; ox < Wo; ++ox)
        for (int64_t o = 0; o < Cout; ++o) {
          const int64_t oi = ((n * Ho + oy) * Wo + ox) * Cout + o;
          double s = bv[o];
          gb[o] += gv[oi];
          for (int64_t i = 0; i < kh; ++i)
            for (int64_t j = 0; j < kw; ++j) {
              const int64_t iy = oy * stride - pad + i, ix = ox * stride - pad + j;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              for (int64_t c = 0; c < Cin; ++c) {
                const int64_t xi = ((n * H + iy) * W + ix) * Cin + c, wi = ((o * kh + i) * kw + j) * Cin + c;
                s += xv[xi] * wv[wi];
                gx[xi] += gv[oi] * wv[wi];
                gw[wi] += gv[oi] * xv[xi];
              }
            }
          out[oi] = s;
        }
  return {Tensor::from_vector(out, {N, Ho, Wo, Cout}), Tensor::from_vector(gx, x.shape()),
          Tensor::from_vector(gw, w.shape()), Tensor::from_vector(gb, {Cout})};
}

}  // namespace fh::test
