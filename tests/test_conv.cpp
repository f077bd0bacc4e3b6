// conv2d: a direct-loop reference on shapes that reach every tiling path of the GEMM
// kernels, bit-identical results across thread counts, and error messages. Its float64
// gradient checks and PyTorch parity are the op table's (tests/ops/conv_cases.cpp).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "autograd/ops.h"
#include "kernels/conv.h"
#include "kernels/cpu/conv_gemm.h"
#include "kernels/cpu/conv_winograd.h"
#include "runtime/thread_pool.h"
#include "tests/harness/conv_reference.h"
#include "tests/harness/random_inputs.h"
#include "tests/harness/tolerance.h"

using fh::DType;
using fh::Shape;
using fh::Tensor;
using namespace fh::test;

TEST_CASE("conv2d matches direct loops, on shapes that reach every tiling path") {
  fh::Generator gen(run_seed());
  std::vector<ConvGeometry> shapes = conv_edge_geometries();
  // Many row tiles split over output blocks; two column blocks in the weight gradient.
  shapes.push_back({2, 20, 20, 70, 130, 3, 3, 1, 1, true});
  // The same with stride 2 (four phases in the input gradient, scattered rows).
  shapes.push_back({2, 21, 19, 70, 66, 3, 3, 2, 1, true});
  // Enough output pixels for the weight gradient to sum in several pieces.
  shapes.push_back({1, 67, 67, 3, 5, 3, 3, 1, 1, true});
  // 1x1 over many rows (the input as the column matrix, weight gradient in pieces).
  shapes.push_back({2, 48, 50, 9, 7, 1, 1, 1, 0, false});
  for (int trial = 0; trial < 8; ++trial) shapes.push_back(random_conv_geometry(gen, 24, 40));
  for (const ConvGeometry& g : shapes) {
    const Tensor x = fh::randn(g.input(), gen, 0, 1, DType::F64), w = fh::randn(g.weight(), gen, 0, 1, DType::F64);
    const Tensor b = g.bias ? fh::randn({g.Cout}, gen, 0, 1, DType::F64) : Tensor();
    const Tensor out = fh::kernels::conv2d(x, w, b, g.stride, g.pad);
    const Tensor grad_out = fh::randn(out.shape(), gen, 0, 1, DType::F64);
    const DirectConv ref = direct_conv(x, w, b, grad_out, g.stride, g.pad);
    const Tolerance tol{1e-11, 1e-11};
    FH_CHECK_CLOSE(out, ref.out, tol, "out " + g.str());
    FH_CHECK_CLOSE(fh::kernels::conv2d_backward_input(grad_out, w, x.shape(), g.stride, g.pad), ref.grad_x, tol,
                   "grad_x " + g.str());
    FH_CHECK_CLOSE(fh::kernels::conv2d_backward_weight(grad_out, x, w.shape(), g.stride, g.pad), ref.grad_w, tol,
                   "grad_w " + g.str());
    FH_CHECK_CLOSE(fh::kernels::conv2d_backward_bias(grad_out), ref.grad_b, tol, "grad_b " + g.str());
  }
}

// The float32 weight gradient of the direct path (the register product, or Eigen where K is
// under one vector and the outputs are more than a handful) against float64 on shapes that reach each of its cuts: more
// outputs than a micro-tile, K not a whole number of vectors, several column blocks and
// panels, several pixel pieces, the input as its own column matrix. Each element is a sum of
// n = N·Ho·Wo products (plus one addition per piece): float32 rounding keeps it within
// n·u·Σ|g·x| of the exact sum (u = 2^-24; the bound of a recursive sum, with or without fused
// multiply-adds), and the test reports the worst element's share of that bound.
TEST_CASE("conv2d: float32 weight gradients of the direct path are within their rounding bound of float64") {
  fh::Generator gen(run_seed());
  std::vector<ConvGeometry> shapes = conv_edge_geometries();
  shapes.push_back({2, 20, 20, 70, 130, 3, 3, 1, 1, true});  // 130 outputs, K = 630: two blocks, ten panels
  shapes.push_back({2, 21, 19, 37, 20, 3, 3, 2, 1, true});   // K = 333: a last panel of 13 values
  shapes.push_back({1, 67, 67, 3, 12, 3, 3, 1, 1, true});    // 4489 pixels: several pieces, K = 27
  shapes.push_back({2, 48, 50, 9, 17, 1, 1, 1, 0, false});   // 1x1: the input is the column matrix
  shapes.push_back({1, 40, 36, 16, 24, 3, 3, 1, 1, true});   // 3x3 stride 1 (Winograd elsewhere)
  shapes.push_back({4, 32, 32, 3, 8, 7, 7, 2, 3, false});    // E_can's stem: 8 outputs, K = 147
  shapes.push_back({4, 32, 32, 8, 4, 1, 1, 1, 0, false});    // 4 outputs, K = 8: under one vector
  // Image rows read in place (conv_image_rows.h): E_can's `small` stem (16 outputs), 32
  // outputs over 3x3 windows, a stride of 3 with a 5x5 window, and images too small for any
  // window to lie inside (border pixels only).
  shapes.push_back({4, 32, 32, 3, 16, 7, 7, 2, 3, false});
  shapes.push_back({2, 20, 22, 3, 32, 3, 3, 1, 1, true});
  shapes.push_back({2, 9, 11, 5, 16, 5, 5, 3, 2, false});
  shapes.push_back({3, 5, 4, 3, 16, 7, 7, 2, 3, false});
  for (int trial = 0; trial < 6; ++trial) shapes.push_back(random_conv_geometry(gen, 24, 40));
  double worst = 0;
  for (const ConvGeometry& g : shapes) {
    const Tensor x = fh::randn(g.input(), gen, 0, 1, DType::F64), w = fh::randn(g.weight(), gen, 0, 1, DType::F64);
    const Tensor out = fh::kernels::conv2d(x, w, Tensor(), g.stride, g.pad);
    const Tensor grad_out = fh::randn(out.shape(), gen, 0, 1, DType::F64);
    // Rounded to float32 first, so the float64 reference sums the same inputs exactly.
    const Tensor x32 = x.to(DType::F32), g32 = grad_out.to(DType::F32);
    const Tensor exact = fh::kernels::conv2d_backward_weight(g32.to(DType::F64), x32.to(DType::F64), w.shape(),
                                                             g.stride, g.pad);
    const auto absolute = [](const Tensor& t) {
      std::vector<double> v = t.to(DType::F64).to_vector<double>();
      for (double& e : v) e = std::fabs(e);
      return Tensor::from_vector(v, t.shape());
    };
    const Tensor magnitude =
        fh::kernels::conv2d_backward_weight(absolute(g32), absolute(x32), w.shape(), g.stride, g.pad);
    Tensor got = Tensor::empty(w.shape());
    fh::kernels::cpu::conv2d_backward_weight_direct(
        g32, x32, fh::kernels::conv2d_params("test", x.shape(), w.shape(), g.stride, g.pad), got);
    const double n = static_cast<double>(out.numel() / g.Cout) + 64;  // pixels, and the pieces' additions
    const std::vector<float> v = got.to_vector<float>();
    const std::vector<double> e = exact.to_vector<double>(), m = magnitude.to_vector<double>();
    double shape_worst = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      const double bound = n * std::ldexp(1.0, -24) * m[i] + 1e-30;
      shape_worst = std::max(shape_worst, std::fabs(v[i] - e[i]) / bound);
    }
    CHECK_MESSAGE(shape_worst <= 1.0, "grad_w " << g.str() << ": worst element at " << shape_worst << " of its bound");
    worst = std::max(worst, shape_worst);
  }
  MESSAGE("float32 weight gradient: worst element at " << worst << " of n·u·Σ|g·x|");
}

// Layers of a few input channels read the image rows in place (conv_image_rows.h) instead of
// gathering each window: the forward must give the gathered product's bits (each output
// sums its window in the same order; the kernel rows it skips are the gather's zeros).
TEST_CASE("conv2d: reading image rows in place gives the gathered product's bits") {
  fh::Generator gen(run_seed());
  const ConvGeometry shapes[] = {
      {4, 32, 32, 3, 16, 7, 7, 2, 3, true},  {2, 20, 22, 3, 130, 3, 3, 1, 1, true},
      {2, 9, 11, 5, 16, 5, 5, 3, 2, false},  {3, 5, 4, 3, 16, 7, 7, 2, 3, true},
      {1, 17, 19, 2, 24, 4, 6, 2, 0, false},
  };
  for (const ConvGeometry& g : shapes) {
    const fh::kernels::Conv2dParams p = fh::kernels::conv2d_params("test", g.input(), g.weight(), g.stride, g.pad);
    const fh::kernels::cpu::conv::Window win = fh::kernels::cpu::conv::forward_window(p);
    REQUIRE(fh::kernels::cpu::conv::reads_image_rows(win));
    const Tensor x = fh::randn(g.input(), gen), w = fh::randn(g.weight(), gen);
    const Tensor b = g.bias ? fh::randn({g.Cout}, gen) : Tensor();
    const Tensor got = fh::kernels::conv2d(x, w, b, g.stride, g.pad);
    // The gathered product: every window gathered, each panel multiplied over the whole K.
    const int64_t M = win.rows(), K = win.cols();
    std::vector<float> columns(static_cast<size_t>(M * K));
    fh::kernels::cpu::conv::gather_columns(x.data<float>(), win, 0, M, 0, K, columns.data());
    const auto weight = fh::kernels::cpu::product::PackedPanels::pack(w.data<float>(), K, g.Cout, true);
    std::vector<float> expected(static_cast<size_t>(M * g.Cout));
    for (int64_t panel = 0; panel < weight.panels; ++panel)
      weight.multiply_panel(columns.data(), K, M, panel, expected.data(), g.Cout);
    if (g.bias)
      for (int64_t r = 0; r < M; ++r)
        for (int64_t o = 0; o < g.Cout; ++o) expected[r * g.Cout + o] += b.data<float>()[o];
    REQUIRE(got.numel() == static_cast<int64_t>(expected.size()));
    CHECK_MESSAGE(std::memcmp(got.data<float>(), expected.data(), expected.size() * sizeof(float)) == 0, g.str());
  }
}

TEST_CASE("conv2d: bit-identical outputs and gradients whatever the thread count") {
  struct Case {
    Shape x, w;
    int64_t stride, pad;
  };
  const std::vector<Case> cases = {
      {{2, 41, 37, 24}, {72, 3, 3, 24}, 1, 1},  // several row tiles and output blocks
      {{2, 41, 37, 24}, {72, 3, 3, 24}, 2, 1},  // stride-2 phases, scattered rows
      {{1, 70, 66, 3}, {12, 3, 3, 3}, 1, 1},    // weight gradient summed in pieces
      {{1, 70, 66, 5}, {3, 7, 7, 5}, 1, 3},     // the dot-product path, weight gradient in pieces
      {{2, 19, 23, 40}, {36, 3, 3, 40}, 1, 1},  // the Winograd F(4x4) forward, partial tiles
      {{1, 40, 36, 16}, {20, 3, 3, 16}, 1, 1},  // F(4x4) tiles split by thread count, a part-filled vector
      {{3, 38, 34, 3}, {16, 7, 7, 3}, 2, 3},    // image rows read in place (E_can's stem), pieces
  };
  // Outputs and all three gradients of every case, as raw bits.
  auto run = [&](uint64_t seed) {
    fh::Generator gen(seed);
    std::vector<float> bits;
    for (const Case& c : cases) {
      Tensor x = fh::randn(c.x, gen).requires_grad_(), w = fh::randn(c.w, gen).requires_grad_();
      Tensor b = fh::randn({c.w[0]}, gen).requires_grad_();
      Tensor out = fh::conv2d(x, w, b, c.stride, c.pad);
      out.backward(fh::randn(out.shape(), gen));
      for (const Tensor& t : {out, x.grad(), w.grad(), b.grad()}) {
        const std::vector<float> v = t.to_vector<float>();
        bits.insert(bits.end(), v.begin(), v.end());
      }
    }
    return bits;
  };
  auto same_bits = [](const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
  };
  const int before = fh::num_threads();
  fh::set_num_threads(1);
  const std::vector<float> reference = run(11);
  CHECK_FALSE(same_bits(reference, run(12)));
  for (int threads : {1, 2, 3, 5}) {
    fh::set_num_threads(threads);
    INFO(threads << " threads");
    CHECK(same_bits(run(11), reference));
    CHECK(same_bits(run(11), reference));
  }
  fh::set_num_threads(before);
}

TEST_CASE("conv2d errors name the op and every shape") {
  const Tensor x = Tensor::zeros({1, 5, 5, 3}), w = Tensor::zeros({4, 3, 3, 3});
  CHECK_THROWS_WITH_AS(fh::conv2d(x, Tensor::zeros({4, 3, 3, 2})),
                       doctest::Contains("conv2d: input [1, 5, 5, 3] has Cin=3 but weight [4, 3, 3, 2] expects Cin=2"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::conv2d(x, w, Tensor::zeros({3})),
                       doctest::Contains("conv2d: bias [3] does not match weight [4, 3, 3, 3] (expected [4])"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(
      fh::conv2d(x, Tensor::zeros({4, 7, 7, 3}), Tensor(), 1, 0),
      doctest::Contains("kernel 7x7 of weight [4, 7, 7, 3] is larger than input [1, 5, 5, 3] padded by 0"), fh::Error);
  CHECK_THROWS_WITH_AS(
      fh::conv2d(x, w, Tensor(), 0, 1),
      doctest::Contains("conv2d: stride must be >= 1, got 0 (input [1, 5, 5, 3], weight [4, 3, 3, 3])"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::conv2d(x, w, Tensor(), 1, -1), doctest::Contains("conv2d: padding must be >= 0, got -1"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::conv2d(Tensor::zeros({5, 5, 3}), w),
                       doctest::Contains("conv2d: input must be 4-d NHWC [N, H, W, Cin], got [5, 5, 3]"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::conv2d(x, Tensor::zeros({4, 3, 3, 3}, DType::F64)),
                       doctest::Contains("conv2d: operands have different dtypes"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::kernels::conv2d_backward_input(Tensor::zeros({1, 4, 4, 4}), w, x.shape(), 1, 1),
                       doctest::Contains("conv2d_backward_input: gradient [1, 4, 4, 4] does not match the output "
                                         "[1, 5, 5, 4] of input [1, 5, 5, 3] and weight [4, 3, 3, 3]"),
                       fh::Error);
}

TEST_CASE("conv2d: empty batch, and zero input channels give the bias") {
  const Tensor empty = fh::conv2d(Tensor::zeros({0, 5, 5, 3}), Tensor::ones({4, 3, 3, 3}), Tensor(), 2, 1);
  CHECK(empty.shape() == Shape{0, 3, 3, 4});
  const Tensor bias = Tensor::from_vector<float>({1, 2}, {2});
  const Tensor out = fh::conv2d(Tensor::zeros({1, 3, 3, 0}), Tensor::zeros({2, 3, 3, 0}), bias, 1, 1);
  CHECK(out.shape() == Shape{1, 3, 3, 2});
  CHECK(out.to_vector<float>() == std::vector<float>{1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2});
}
