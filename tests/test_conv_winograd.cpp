// The Winograd paths of the CPU conv (float32, 3x3 stride 1 pad 1), F(2x2, 3x3) and
// F(4x4, 3x3), against the direct float64 conv, on odd sizes (partial tiles at the bottom
// and right edges), batches whose tiles span chunk boundaries, channel counts that are not
// multiples of the 16-lane vectors, and with and without bias.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include <Eigen/Dense>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "kernels/conv.h"
#include "kernels/conv_types.h"
#include "kernels/cpu/conv_winograd.h"
#include "runtime/random.h"
#include "tests/harness/tolerance.h"

using namespace fh;

namespace {

struct Case {
  int64_t n, h, w, cin, cout;
  bool bias;
};

kernels::Conv2dParams params_of(const Case& c) {
  return kernels::conv2d_params("test", Shape{c.n, c.h, c.w, c.cin}, Shape{c.cout, 3, 3, c.cin}, 1, 1);
}

// How much F(m×m, 3×3) amplifies the rounding of its per-position GEMM sums, written from
// the standard matrices (independently of the kernel's code). Position (a, b) multiplies
// products of size s_a·s_b with s_a = |Bᵀ_a|·|G_a| (unit inputs and weights, row norms);
// output (k, l) adds position (a, b) with weight Aᵀ_ka·Aᵀ_lb; independent rounding errors
// add in quadrature, so output (k, l) gets sqrt(S_k·S_l) with S_k = Σ_a (Aᵀ_ka·s_a)², and
// the largest is max_k S_k: 5 for F(2x2), 94.3 for F(4x4).
double rounding_amplification(int tile) {
  Eigen::MatrixXd bt2(4, 4), g2(4, 3), at2(2, 4), bt4(6, 6), g4(6, 3), at4(4, 6);
  bt2 << 1, 0, -1, 0, 0, 1, 1, 0, 0, -1, 1, 0, 0, 1, 0, -1;
  g2 << 1, 0, 0, .5, .5, .5, .5, -.5, .5, 0, 0, 1;
  at2 << 1, 1, 1, 0, 0, 1, -1, -1;
  bt4 << 4, 0, -5, 0, 1, 0, 0, -4, -4, 1, 1, 0, 0, 4, -4, -1, 1, 0,  //
      0, -2, -1, 2, 1, 0, 0, 2, -1, -2, 1, 0, 0, 4, 0, -5, 0, 1;
  g4 << 1 / 4., 0, 0, -1 / 6., -1 / 6., -1 / 6., -1 / 6., 1 / 6., -1 / 6.,  //
      1 / 24., 1 / 12., 1 / 6., 1 / 24., -1 / 12., 1 / 6., 0, 0, 1;
  at4 << 1, 1, 1, 1, 1, 0, 0, 1, -1, 2, -2, 0, 0, 1, 1, 4, 4, 0, 0, 1, -1, 8, -8, 1;
  const Eigen::MatrixXd& bt = tile == 2 ? bt2 : bt4;
  const Eigen::MatrixXd& g = tile == 2 ? g2 : g4;
  const Eigen::MatrixXd& at = tile == 2 ? at2 : at4;
  const Eigen::VectorXd size_squared = bt.rowwise().squaredNorm().cwiseProduct(g.rowwise().squaredNorm());
  return (at.cwiseAbs2() * size_squared).maxCoeff();  // S_k for every k, then the largest
}

// The tolerance of a Winograd layer summing over `channels` inputs of unit size by weights
// of size `w_scale`. A float32 sum of n terms of size σ errs by about u·σ·n (each addition
// rounds at the partial sum's size, which grows like σ·sqrt(k)), so each position's GEMM
// errs by u·w_scale·channels times its product size, which the transforms amplify as
// above. Five times that (the worst case of the tests below reaches about half of it), plus
// a few roundings of the output itself.
test::Tolerance winograd_tolerance(int tile, int64_t channels, double w_scale) {
  constexpr double u = 0x1p-24;
  return {5 * u * static_cast<double>(channels) * w_scale * rounding_amplification(tile), 4 * u};
}

}  // namespace

TEST_CASE("conv2d Winograd F(2x2) and F(4x4): float32 matches the float64 direct conv") {
  Generator g(test::run_seed());
  const Case cases[] = {{1, 8, 8, 128, 384, true},   {2, 7, 9, 384, 136, false}, {1, 3, 5, 130, 400, true},
                        {3, 33, 17, 256, 256, true}, {1, 64, 64, 512, 128, false}, {2, 1, 6, 5, 3, true},
                        {1, 13, 10, 17, 33, false}, {2, 70, 70, 32, 32, true}};  // the last: two chunks
  NoGradGuard no_grad;
  CHECK(rounding_amplification(2) == doctest::Approx(5.0));
  CHECK(rounding_amplification(4) == doctest::Approx(94.333).epsilon(1e-4));
  for (const int tile : {2, 4}) {
    double worst = 0;
    for (const Case& c : cases) {
      const kernels::Conv2dParams p = params_of(c);
      REQUIRE(kernels::cpu::winograd_possible(p));
      const Tensor x = randn({c.n, c.h, c.w, c.cin}, g);
      const Tensor w = randn({c.cout, 3, 3, c.cin}, g, 0.0, 0.05);
      const Tensor b = c.bias ? randn({c.cout}, g) : Tensor();
      const Tensor ref = conv2d(x.to(DType::F64), w.to(DType::F64), c.bias ? b.to(DType::F64) : Tensor(), 1, 1);
      const test::Tolerance tol = winograd_tolerance(tile, c.cin, 0.05);
      // Both versions: the fused one conv2d runs and the first (Eigen GEMMs) it is measured against.
      for (const bool eigen : {false, true}) {
        Tensor ours = Tensor::empty({c.n, c.h, c.w, c.cout});
        (eigen ? kernels::cpu::conv2d_winograd_eigen : kernels::cpu::conv2d_winograd)(
            x.data<float>(), w.data<float>(), c.bias ? b.data<float>() : nullptr, p, tile, ours.data<float>());
        const std::string what = std::string(eigen ? "Eigen " : "") + "F(" + std::to_string(tile) + ") " +
                                 x.shape().str() + " -> " + std::to_string(c.cout);
        FH_CHECK_CLOSE(ours, ref.to(DType::F32), tol, what);
        worst = std::max(worst, test::compare(ours, ref.to(DType::F32), tol).worst_fraction);
      }
    }
    MESSAGE("F(", tile, "x", tile, ", 3x3): worst fraction of threshold ", worst);
  }
}

TEST_CASE("conv2d Winograd: where it applies, conv2d's result is the Winograd path's") {
  Generator g(test::run_seed());
  NoGradGuard no_grad;
  const Case c{1, 32, 32, 256, 256, true};
  const kernels::Conv2dParams p = params_of(c);
  const int tile = kernels::cpu::winograd_tile(p);
  REQUIRE(tile != 0);
  const Tensor x = randn({c.n, c.h, c.w, c.cin}, g), w = randn({c.cout, 3, 3, c.cin}, g, 0.0, 0.05);
  const Tensor b = randn({c.cout}, g);
  Tensor expected = Tensor::empty({c.n, c.h, c.w, c.cout});
  kernels::cpu::conv2d_winograd(x.data<float>(), w.data<float>(), b.data<float>(), p, tile, expected.data<float>());
  const Tensor got = kernels::conv2d(x, w, b, 1, 1);
  REQUIRE(got.numel() == expected.numel());
  CHECK(std::memcmp(got.data<float>(), expected.data<float>(), sizeof(float) * got.numel()) == 0);
}

TEST_CASE("conv2d Winograd: narrow, strided, small and non-3x3 layers keep the direct path") {
  kernels::Conv2dParams p = params_of({1, 8, 8, 16, 16, false});
  CHECK(kernels::cpu::winograd_tile(p) == 0);
  p = params_of({1, 256, 256, 3, 128, false});  // the SPADE convs of the sketch
  CHECK(kernels::cpu::winograd_tile(p) == 0);
  p = params_of({1, 64, 64, 512, 512, false});
  CHECK(kernels::cpu::winograd_tile(p) == 4);
  p = params_of({1, 20, 24, 512, 512, false});  // from 16 pixels
  CHECK(kernels::cpu::winograd_tile(p) == 4);
  p = params_of({2, 8, 8, 64, 64, false});  // too few tiles to repay the weight transform
  CHECK(kernels::cpu::winograd_tile(p) == 0);
  p = params_of({2, 8, 8, 128, 128, false});  // at 8 pixels, only wide layers
  CHECK(kernels::cpu::winograd_tile(p) == 4);
  p = params_of({2, 4, 4, 256, 256, false});
  CHECK(kernels::cpu::winograd_tile(p) == 0);
  p = params_of({1, 16, 16, 32, 32, false});
  CHECK(kernels::cpu::winograd_tile(p) == 4);
  p = params_of({1, 128, 128, 16, 64, false});  // 16 channels are enough
  CHECK(kernels::cpu::winograd_tile(p) == 4);
  p = params_of({1, 128, 128, 8, 64, false});
  CHECK(kernels::cpu::winograd_tile(p) == 0);
  p = params_of({1, 3, 3, 512, 512, false});
  CHECK(kernels::cpu::winograd_tile(p) == 0);
  p = kernels::conv2d_params("test", Shape{1, 16, 16, 512}, Shape{512, 3, 3, 512}, 2, 1);
  CHECK(!kernels::cpu::winograd_possible(p));
  CHECK(kernels::cpu::winograd_tile(p) == 0);
  p = kernels::conv2d_params("test", Shape{1, 16, 16, 512}, Shape{512, 1, 1, 512}, 1, 0);
  CHECK(kernels::cpu::winograd_tile(p) == 0);
}

TEST_CASE("conv2d Winograd: under 16 pixels a training batch's tile count decides") {
  struct Choice {
    Case c;
    int tile;
  };
  // E_gaze `small`'s stages at its training batch of 32 eye crops and at 8, E_gaze `tiny`'s,
  // E_can's (docs/cpu-conv.md has the times these follow).
  const Choice choices[] = {
      {{32, 8, 8, 64, 64, false}, 4},    {{8, 8, 8, 64, 64, false}, 4},    {{2, 8, 8, 64, 64, false}, 0},
      {{32, 4, 4, 128, 128, false}, 4},  {{8, 4, 4, 128, 128, false}, 0},  {{32, 2, 2, 256, 256, false}, 2},
      {{8, 2, 2, 256, 256, false}, 0},   {{32, 2, 2, 64, 64, false}, 0},   {{32, 1, 1, 128, 128, false}, 0},
      {{32, 8, 8, 16, 16, false}, 4},    {{32, 4, 4, 32, 32, false}, 4},   {{32, 4, 4, 16, 16, false}, 0},
      {{32, 4, 4, 64, 64, false}, 4},    {{32, 8, 8, 32, 32, false}, 4},   {{32, 8, 8, 8, 64, false}, 0},
      {{32, 3, 3, 128, 128, false}, 2},  {{32, 5, 7, 32, 48, false}, 4},
  };
  for (const Choice& ch : choices) {
    INFO("batch ", ch.c.n, ", ", ch.c.h, "x", ch.c.w, ", ", ch.c.cin, " -> ", ch.c.cout);
    CHECK(kernels::cpu::winograd_tile(params_of(ch.c)) == ch.tile);
  }
}

TEST_CASE("conv2d Winograd: conv2d_backward_weight's result is the path winograd_tile picks") {
  Generator g(test::run_seed());
  NoGradGuard no_grad;
  const Case cases[] = {{32, 4, 4, 64, 64, false}, {32, 2, 2, 128, 128, false}, {32, 4, 4, 16, 16, false}};
  for (const Case& c : cases) {
    const kernels::Conv2dParams p = params_of(c);
    const Tensor x = randn({c.n, c.h, c.w, c.cin}, g), grad_out = randn({c.n, c.h, c.w, c.cout}, g);
    Tensor expected = Tensor::empty({c.cout, 3, 3, c.cin});
    const int tile = kernels::cpu::winograd_tile(p);
    if (tile == 0)
      kernels::cpu::conv2d_backward_weight_direct(grad_out, x, p, expected);
    else
      kernels::cpu::conv2d_backward_weight_winograd(grad_out.data<float>(), x.data<float>(), p, tile,
                                                    expected.data<float>());
    const Tensor got = kernels::conv2d_backward_weight(grad_out, x, Shape{c.cout, 3, 3, c.cin}, 1, 1);
    INFO(x.shape().str(), " tile ", tile);
    CHECK(std::memcmp(got.data<float>(), expected.data<float>(), sizeof(float) * got.numel()) == 0);
  }
}

TEST_CASE("conv2d Winograd: the input gradient of a wide 3x3 layer matches the float64 direct one") {
  Generator g(test::run_seed());
  NoGradGuard no_grad;
  const Case cases[] = {{2, 37, 33, 48, 160, false}, {1, 32, 32, 512, 128, false}};
  for (const Case& c : cases) {
    const Shape x_shape{c.n, c.h, c.w, c.cin};
    const Tensor grad_out = randn({c.n, c.h, c.w, c.cout}, g);
    const Tensor w = randn({c.cout, 3, 3, c.cin}, g, 0.0, 0.05);
    const Tensor ours = kernels::conv2d_backward_input(grad_out, w, x_shape, 1, 1);
    const Tensor ref = kernels::conv2d_backward_input(grad_out.to(DType::F64), w.to(DType::F64), x_shape, 1, 1);
    // A convolution of grad_out by the flipped weight, summing over Cout channels.
    REQUIRE(kernels::cpu::winograd_tile(params_of(c)) == 4);
    const test::Tolerance tol = winograd_tolerance(4, c.cout, 0.05);
    FH_CHECK_CLOSE(ours, ref.to(DType::F32), tol, "grad_in " + x_shape.str());
    MESSAGE("grad_in ", x_shape.str(), ": worst fraction of threshold ",
            test::compare(ours, ref.to(DType::F32), tol).worst_fraction);
  }
}

TEST_CASE("conv2d Winograd: the weight gradient by F(2x2) and F(4x4) matches the float64 direct one") {
  Generator g(test::run_seed());
  NoGradGuard no_grad;
  // Partial tiles, channel counts off the 16-lane vectors, a batch spanning chunks, and a
  // generator-like wide layer.
  const Case cases[] = {{2, 19, 13, 48, 40, false}, {1, 6, 7, 5, 3, false}, {3, 45, 37, 33, 64, false},
                        {1, 32, 32, 512, 128, false}};
  for (const int tile : {2, 4}) {
    double worst = 0;
    for (const Case& c : cases) {
      const kernels::Conv2dParams p = params_of(c);
      const Tensor x = randn({c.n, c.h, c.w, c.cin}, g), grad_out = randn({c.n, c.h, c.w, c.cout}, g);
      Tensor ours = Tensor::empty({c.cout, 3, 3, c.cin});
      kernels::cpu::conv2d_backward_weight_winograd(grad_out.data<float>(), x.data<float>(), p, tile,
                                                    ours.data<float>());
      const Tensor ref = kernels::conv2d_backward_weight(grad_out.to(DType::F64), x.to(DType::F64),
                                                         Shape{c.cout, 3, 3, c.cin}, 1, 1);
      // Each element sums N·H·W unit-variance products (sizes ~sqrt(N·H·W)); float32 sums
      // of that many terms err by ~N·H·W·eps at worst, and the transforms widen that as in
      // the forward.
      const double terms = static_cast<double>(c.n * c.h * c.w);
      const double unit = tile == 2 ? 2e-7 : 1.5e-6;
      const test::Tolerance tol{unit * terms, tile == 2 ? 1e-5 : 1e-4};
      const std::string what =
          "grad_w F(" + std::to_string(tile) + ") " + x.shape().str() + " -> " + std::to_string(c.cout);
      FH_CHECK_CLOSE(ours, ref.to(DType::F32), tol, what);
      worst = std::max(worst, test::compare(ours, ref.to(DType::F32), tol).worst_fraction);
    }
    MESSAGE("grad_w F(", tile, "x", tile, ", 3x3): worst fraction of threshold ", worst);
  }
}
