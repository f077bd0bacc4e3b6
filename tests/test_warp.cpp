// The warp family (warp, nshot_fusion, pixel_shuffle/unshuffle): exact cases worked by hand,
// determinism of the scatter backward, and the errors bad operands get. Gradient checks,
// PyTorch parity and the CPU/CUDA comparison are the op table's (tests/ops/warp_cases.cpp).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "autograd/ops.h"
#include "kernels/warp.h"
#include "runtime/thread_pool.h"
#include "tests/harness/flow_inputs.h"
#include "tests/harness/tolerance.h"
#include "tests/harness/random_inputs.h"

using fh::DType;
using fh::Shape;
using fh::Tensor;
using namespace fh::test;

namespace {

std::vector<float> values(const Tensor& t) { return t.to_vector<float>(); }

// Sends every other pixel of `flow` [N,H,W,2] to one sample point near the image centre, so
// that many output pixels scatter into the same four source pixels.
Tensor converging_flow(const Tensor& flow) {
  const int64_t N = flow.size(0), H = flow.size(1), W = flow.size(2);
  std::vector<float> f = values(flow);
  for (int64_t p = 0; p < N * H * W; p += 2) {
    const int64_t y = (p / W) % H, x = p % W;
    f[2 * p] = static_cast<float>(W) / 2 + 0.3f - static_cast<float>(x);
    f[2 * p + 1] = static_cast<float>(H) / 2 + 0.6f - static_cast<float>(y);
  }
  return Tensor::from_vector(f, flow.shape());
}

}  // namespace

// ---- Exact cases -------------------------------------------------------------------------

TEST_CASE("warp: zero, integer and half-pixel flows, clamping and one-pixel axes") {
  fh::Generator gen(run_seed());
  const int64_t N = 2, H = 3, W = 5, C = 3;
  const Tensor src = fh::randn({N, H, W, C}, gen);
  const std::vector<float> s = values(src);
  auto at = [&](int64_t n, int64_t y, int64_t x, int64_t c) { return s[((n * H + y) * W + x) * C + c]; };
  auto uniform_flow = [&](float dx, float dy) {
    std::vector<float> f;
    for (int64_t p = 0; p < N * H * W; ++p) f.insert(f.end(), {dx, dy});
    return Tensor::from_vector(f, Shape{N, H, W, 2});
  };

  CHECK(same_bits(fh::kernels::warp(src, uniform_flow(0, 0)), src));

  // (+1, -1): pixel (y, x) reads (y-1, x+1), clamped into the image.
  const std::vector<float> shifted = values(fh::kernels::warp(src, uniform_flow(1, -1)));
  const std::vector<float> half = values(fh::kernels::warp(src, uniform_flow(0.5f, 0)));
  const std::vector<float> far = values(fh::kernels::warp(src, uniform_flow(1e6f, -1e6f)));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x)
        for (int64_t c = 0; c < C; ++c) {
          const int64_t i = ((n * H + y) * W + x) * C + c;
          CHECK(shifted[i] == at(n, std::max<int64_t>(y - 1, 0), std::min<int64_t>(x + 1, W - 1), c));
          const float right = at(n, y, std::min<int64_t>(x + 1, W - 1), c);
          CHECK(half[i] == doctest::Approx(x + 1 < W ? 0.5f * (at(n, y, x, c) + right) : right).epsilon(1e-6));
          CHECK(far[i] == at(n, 0, W - 1, c));  // the top-right corner
        }

  // Far outside, the flow gets no gradient; src's gradient piles onto the corner pixel.
  Tensor src_leaf = src.clone().requires_grad_(), flow_leaf = uniform_flow(1e6f, -1e6f).requires_grad_();
  fh::sum(fh::warp(src_leaf, flow_leaf)).backward();
  CHECK(same_bits(flow_leaf.grad(), Tensor::zeros({N, H, W, 2})));
  const std::vector<float> gs = values(src_leaf.grad());
  for (int64_t i = 0; i < N * H * W * C; ++i) {
    const bool corner = (i / C) % (H * W) == W - 1;
    CHECK(gs[i] == (corner ? static_cast<float>(H * W) : 0.0f));
  }

  // W = 1: x always clamps to column 0 (dx gets no gradient); y still interpolates.
  const Tensor column = fh::randn({1, 4, 1, 2}, gen);
  const std::vector<float> col = values(column);
  const std::vector<float> flow_col = {3.0f, 0.25f, -2.0f, 0.25f, 0.5f, 0.25f, 7.0f, 0.25f};
  Tensor col_leaf = column.clone().requires_grad_();
  Tensor flow_col_leaf = Tensor::from_vector(flow_col, Shape{1, 4, 1, 2}).requires_grad_();
  const Tensor out_col = fh::warp(col_leaf, flow_col_leaf);
  const std::vector<float> oc = values(out_col);
  for (int64_t y = 0; y < 4; ++y)
    for (int64_t c = 0; c < 2; ++c) {
      const float lo = col[y * 2 + c], hi = col[std::min<int64_t>(y + 1, 3) * 2 + c];
      CHECK(oc[y * 2 + c] == doctest::Approx(y < 3 ? 0.75f * lo + 0.25f * hi : lo).epsilon(1e-6));
    }
  fh::sum(out_col).backward();
  const std::vector<float> gf = values(flow_col_leaf.grad());
  for (int64_t y = 0; y < 4; ++y) CHECK(gf[2 * y] == 0.0f);
  CHECK(gf[1] != 0.0f);
}

TEST_CASE("warp: infinite flows clamp, NaN flows give NaN outputs, nothing reads out of bounds") {
  fh::Generator gen(run_seed());
  const Tensor src = fh::randn({1, 2, 3, 2}, gen);
  const std::vector<float> s = values(src);
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  // Pixels (row-major over 2×3): +inf x, -inf y, NaN x, NaN y, both -inf, none.
  const Tensor flow = Tensor::from_vector<float>({inf, 0, 0, -inf, nan, 0, 0, nan, -inf, -inf, 0, 0}, Shape{1, 2, 3, 2});
  const std::vector<float> out = values(fh::kernels::warp(src, flow));
  auto at = [&](int64_t y, int64_t x, int64_t c) { return s[(y * 3 + x) * 2 + c]; };
  for (int64_t c = 0; c < 2; ++c) {
    CHECK(out[0 * 2 + c] == at(0, 2, c));  // (0,0) + (inf, 0) -> column 2
    CHECK(out[1 * 2 + c] == at(0, 1, c));  // (0,1) + (0, -inf) -> row 0
    CHECK(std::isnan(out[2 * 2 + c]));
    CHECK(std::isnan(out[3 * 2 + c]));
    CHECK(out[4 * 2 + c] == at(0, 0, c));  // (1,1) + (-inf, -inf) -> the top-left corner
    CHECK(out[5 * 2 + c] == at(1, 2, c));
  }
  const std::vector<float> gf = values(fh::kernels::warp_backward_flow(src, flow, fh::randn(src.shape(), gen)));
  // The clamped axes get no gradient: x of pixel 0, y of pixel 1, both of pixel 4; pixel 1's x
  // (column 1, strictly inside) does.
  CHECK(gf[0] == 0.0f);
  CHECK(gf[3] == 0.0f);
  CHECK(gf[8] == 0.0f);
  CHECK(gf[9] == 0.0f);
  CHECK(gf[2] != 0.0f);
}

TEST_CASE("nshot_fusion: M = 1 is the identity with zero gradient to m, and equal weights average") {
  fh::Generator gen(run_seed());
  Tensor m = fh::randn({2, 1, 3, 4, 1}, gen).requires_grad_(), x = fh::randn({2, 1, 3, 4, 5}, gen).requires_grad_();
  const Tensor out = fh::nshot_fusion(m, x);
  CHECK(same_bits(out, x.detach().view({2, 3, 4, 5})));
  fh::sum(out * fh::randn({2, 3, 4, 5}, gen)).backward();
  CHECK(same_bits(m.grad(), Tensor::zeros({2, 1, 3, 4, 1})));

  const Tensor x4 = fh::randn({1, 4, 2, 3, 6}, gen);
  const std::vector<float> avg = values(fh::kernels::nshot_fusion(Tensor::full({1, 4, 2, 3, 1}, 0.7), x4));
  const std::vector<float> xs = values(x4);
  for (int64_t i = 0; i < 36; ++i) {
    const float mean = 0.25f * (xs[i] + xs[36 + i] + xs[72 + i] + xs[108 + i]);
    CHECK(avg[i] == doctest::Approx(mean).epsilon(1e-6));
  }
}

TEST_CASE("pixel_shuffle follows PyTorch's channel order and unshuffle inverts it") {
  // x [1, 1, 2, 8] with r = 2: input channel c·4 + i·2 + j goes to output pixel (i, w·2 + j), channel c.
  std::vector<float> in(16);
  for (int k = 0; k < 16; ++k) in[k] = static_cast<float>(k);
  const Tensor x = Tensor::from_vector(in, Shape{1, 1, 2, 8});
  const Tensor y = fh::kernels::pixel_shuffle(x, 2);
  REQUIRE(y.shape() == Shape{1, 2, 4, 2});
  const std::vector<float> out = values(y);
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t w = 0; w < 2; ++w)
      for (int64_t j = 0; j < 2; ++j)
        for (int64_t c = 0; c < 2; ++c) CHECK(out[(i * 4 + w * 2 + j) * 2 + c] == in[w * 8 + c * 4 + i * 2 + j]);
  CHECK(same_bits(fh::kernels::pixel_unshuffle(y, 2), x));
  fh::Generator gen(run_seed());
  const Tensor big = fh::randn({2, 5, 3, 7 * 9}, gen);
  CHECK(same_bits(fh::kernels::pixel_unshuffle(fh::kernels::pixel_shuffle(big, 3), 3), big));
}

// ---- Determinism -------------------------------------------------------------------------

TEST_CASE("warp backward is bit-identical across runs and thread counts") {
  // Shapes that cut grad_src by images, channel blocks and row bands in different ways as the
  // thread count changes; flows that pile many outputs onto few source pixels.
  const int before = fh::num_threads();
  fh::Generator gen(run_seed());
  for (const Shape& s : {Shape{1, 37, 29, 3}, Shape{1, 13, 11, 40}, Shape{3, 9, 17, 20}, Shape{2, 1, 31, 9},
                         Shape{1, 3, 11, 130}}) {
    const Tensor src = fh::randn(s, gen), grad_out = fh::randn(s, gen);
    const Tensor flow = converging_flow(random_flow(gen, s[0], s[1], s[2], FlowRange::Mixed, DType::F32));
    std::vector<Tensor> first;
    for (int threads : {1, 2, 3, 4, 7, 16}) {
      fh::set_num_threads(threads);
      for (int run = 0; run < 2; ++run) {
        std::vector<Tensor> got = {fh::kernels::warp(src, flow), fh::kernels::warp_backward_src(flow, grad_out),
                                   fh::kernels::warp_backward_flow(src, flow, grad_out)};
        if (first.empty()) first = got;
        for (size_t k = 0; k < got.size(); ++k) {
          INFO("shape " << s << ", " << threads << " threads, run " << run << ", result " << k);
          CHECK(same_bits(got[k], first[k]));
        }
      }
    }
  }
  fh::set_num_threads(before);
}

TEST_CASE("nshot_fusion and pixel_shuffle are bit-identical across thread counts") {
  const int before = fh::num_threads();
  fh::Generator gen(run_seed());
  const Tensor m = fh::randn({2, 3, 9, 13, 1}, gen), x = fh::randn({2, 3, 9, 13, 21}, gen);
  const Tensor g = fh::randn({2, 9, 13, 21}, gen), xs = fh::randn({2, 9, 13, 4 * 21}, gen);
  std::vector<Tensor> first;
  for (int threads : {1, 2, 5}) {
    fh::set_num_threads(threads);
    std::vector<Tensor> got = {fh::kernels::nshot_fusion(m, x), fh::kernels::nshot_fusion_backward_m(m, x, g),
                               fh::kernels::nshot_fusion_backward_x(m, g), fh::kernels::pixel_shuffle(xs, 2),
                               fh::kernels::pixel_unshuffle(g, 1)};
    if (first.empty()) first = got;
    for (size_t k = 0; k < got.size(); ++k) {
      INFO(threads << " threads, result " << k);
      CHECK(same_bits(got[k], first[k]));
    }
  }
  fh::set_num_threads(before);
}

// ---- Errors ------------------------------------------------------------------------------

TEST_CASE("warp family errors name the op and every shape") {
  using doctest::Contains;
  const Tensor src = Tensor::zeros({2, 4, 5, 3});
  CHECK_THROWS_WITH_AS(fh::warp(src, Tensor::zeros({2, 4, 6, 2})),
                       Contains("warp: flow must be [N, H, W, 2] with src's N, H, W (channel 0 = dx, 1 = dy); got "
                                "src [2, 4, 5, 3] float32 cpu, flow [2, 4, 6, 2] float32 cpu"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::warp(src, Tensor::zeros({2, 4, 5, 3})), Contains("flow [2, 4, 5, 3]"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::warp(Tensor::zeros({4, 5, 3}), Tensor::zeros({4, 5, 2})),
                       Contains("warp: src [4, 5, 3] must be a 4-d NHWC image batch [N, H, W, C] (src [4, 5, 3] float32 cpu, "
                                "flow [4, 5, 2]"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::warp(src, Tensor::zeros({2, 4, 5, 2}, DType::F64)),
                       Contains("warp: operands have different dtypes: [2, 4, 5, 3] float32 cpu and [2, 4, 5, 2] float64 cpu"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::kernels::warp_backward_flow(src, Tensor::zeros({2, 4, 5, 2}), Tensor::zeros({2, 4, 5, 4})),
                       Contains("warp_backward_flow: grad_out must have the output's shape (src's); got src [2, 4, 5, 3] "
                                "float32 cpu, flow [2, 4, 5, 2] float32 cpu, grad_out [2, 4, 5, 4]"),
                       fh::Error);

  CHECK_THROWS_WITH_AS(fh::nshot_fusion(Tensor::zeros({1, 2, 3, 3, 2}), Tensor::zeros({1, 2, 3, 3, 8})),
                       Contains("nshot_fusion: m must be [N, M, H, W, 1] with x's N, M, H, W; got m [1, 2, 3, 3, 2] "
                                "float32 cpu, x [1, 2, 3, 3, 8] float32 cpu"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::nshot_fusion(Tensor::zeros({1, 3, 3, 3, 1}), Tensor::zeros({1, 2, 3, 3, 8})),
                       Contains("m [1, 3, 3, 3, 1] float32 cpu, x [1, 2, 3, 3, 8]"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::nshot_fusion(Tensor::zeros({1, 0, 3, 3, 1}), Tensor::zeros({1, 0, 3, 3, 8})),
                       Contains("nshot_fusion: needs at least one source image (M >= 1)"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::nshot_fusion(Tensor::zeros({1, 2, 3, 3, 1}), Tensor::zeros({2, 3, 3, 8})),
                       Contains("x must be [N, M, H, W, C] (M source images); got m [1, 2, 3, 3, 1]"), fh::Error);

  CHECK_THROWS_WITH_AS(fh::pixel_shuffle(Tensor::zeros({1, 3, 3, 6}), 2),
                       Contains("pixel_shuffle: channels must be a multiple of r² = 4; got x [1, 3, 3, 6] float32 cpu with r = 2"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::pixel_shuffle(Tensor::zeros({1, 3, 3, 4}), 0), Contains("pixel_shuffle: the factor r must be >= 1"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::pixel_unshuffle(Tensor::zeros({1, 5, 4, 3}), 2),
                       Contains("pixel_unshuffle: height and width must be multiples of r = 2; got x [1, 5, 4, 3]"),
                       fh::Error);
}

TEST_CASE("warp family handles empty tensors") {
  CHECK(fh::kernels::warp(Tensor::zeros({0, 3, 4, 2}), Tensor::zeros({0, 3, 4, 2})).shape() == Shape{0, 3, 4, 2});
  CHECK(same_bits(fh::kernels::warp_backward_flow(Tensor::zeros({1, 3, 4, 0}), Tensor::ones({1, 3, 4, 2}),
                                                  Tensor::zeros({1, 3, 4, 0})),
                  Tensor::zeros({1, 3, 4, 2})));
  CHECK(fh::kernels::nshot_fusion(Tensor::zeros({1, 2, 3, 4, 1}), Tensor::zeros({1, 2, 3, 4, 0})).shape() ==
        Shape{1, 3, 4, 0});
  CHECK(fh::kernels::pixel_shuffle(Tensor::zeros({1, 0, 4, 8}), 2).shape() == Shape{1, 0, 8, 2});
}
