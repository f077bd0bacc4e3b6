// Pooling and nearest resizing (NHWC): float64 gradient checks, PyTorch parity on fresh
// random float32 inputs, PyTorch's index and tie rules checked by hand, determinism across
// thread counts, and the errors bad operands get.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "autograd/ops.h"
#include "kernels/pool.h"
#include "runtime/thread_pool.h"
#include "tests/harness/gradcheck.h"
#include "tests/harness/random_inputs.h"
#include "tests/pool_parity.h"

using fh::DType;
using fh::PoolWindow;
using fh::Shape;
using fh::Tensor;
using namespace fh::test;
using fh::test::pool::Layout;
using fh::test::pool::make_case;
using fh::test::pool::ParityCase;

namespace {

void expect_gradcheck(const Function& fn, const std::vector<Tensor>& inputs, const std::string& what) {
  check_gradients(fn, inputs, what);
}

// Channel counts: the compile-time paths (1, 2, 3, 4, 6) and runtime ones, short and long.
int64_t random_channels(fh::Generator& gen) {
  static const int64_t choices[] = {1, 2, 3, 4, 5, 6, 7, 17, 40};
  return choices[rand_int(gen, 0, 8)];
}

// A random window and an NHWC input it fits (sizes down to 1, odd sizes, stride > kernel).
struct PoolProblem {
  PoolWindow window;
  Shape input;
};

PoolProblem random_pool_problem(fh::Generator& gen) {
  PoolWindow w;
  w.kernel_h = rand_int(gen, 1, 4);
  w.kernel_w = rand_int(gen, 1, 4);
  w.stride_h = rand_int(gen, 1, 3);
  w.stride_w = rand_int(gen, 1, 3);
  w.pad_h = rand_int(gen, 0, w.kernel_h / 2);
  w.pad_w = rand_int(gen, 0, w.kernel_w / 2);
  const int64_t h = rand_int(gen, std::max<int64_t>(1, w.kernel_h - 2 * w.pad_h), 9);
  const int64_t wd = rand_int(gen, std::max<int64_t>(1, w.kernel_w - 2 * w.pad_w), 9);
  return {w, Shape{rand_int(gen, 1, 3), h, wd, random_channels(gen)}};
}

// The windows the model uses, on odd and tiny inputs; size-1 batch and channels.
std::vector<PoolProblem> model_pool_problems() {
  return {
      {PoolWindow::square(2, 2), Shape{2, 7, 5, 2}},     // flow downsampling, odd sizes floor
      {PoolWindow::square(2, 2), Shape{1, 2, 2, 1}},
      {PoolWindow::square(2, 2), Shape{1, 9, 2, 3}},
      {PoolWindow::square(3, 2, 1), Shape{2, 7, 5, 6}},  // the discriminator pyramid
      {PoolWindow::square(3, 2, 1), Shape{1, 1, 1, 1}},  // a single pixel: padding only around it
      {PoolWindow::square(3, 2, 1), Shape{1, 1, 6, 3}},  // H = 1
      {PoolWindow::square(3, 2, 1), Shape{1, 5, 1, 4}},  // W = 1
      {PoolWindow::square(3, 2, 1), Shape{3, 8, 8, 40}},
      {{1, 3, 1, 2, 0, 1}, Shape{1, 1, 7, 2}},            // a 1x3 window along a single row
  };
}

std::string window_json(const PoolWindow& w, const char* extra = "") {
  return "{\"kernel\":[" + std::to_string(w.kernel_h) + "," + std::to_string(w.kernel_w) + "],\"stride\":[" +
         std::to_string(w.stride_h) + "," + std::to_string(w.stride_w) + "],\"padding\":[" +
         std::to_string(w.pad_h) + "," + std::to_string(w.pad_w) + "]" + extra + "}";
}

std::string describe(const PoolProblem& p) {
  return p.input.str() + " " + window_json(p.window);
}

// float64 values a random permutation of a grid of spacing 2/n: no two are within a
// finite-difference step of each other, so a maximum cannot change under the check.
Tensor distinct_values(const Shape& s, fh::Generator& gen) {
  const int64_t n = s.numel();
  std::vector<double> u = fh::rand({n}, gen, 0.0, 1.0, DType::F64).to_vector<double>();
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return u[a] < u[b]; });
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t rank = 0; rank < n; ++rank) v[order[rank]] = -1.0 + 2.0 * static_cast<double>(rank) / static_cast<double>(n);
  return Tensor::from_vector(v, s);
}

// Values on a coarse grid (steps of 0.5 within about ±1.5): windows hold many ties.
Tensor tied_values(const Shape& s, fh::Generator& gen) {
  std::vector<float> v = fh::rand(s, gen, -1.5, 1.5).to_vector<float>();
  for (float& x : v) x = std::round(x * 2.0f) / 2.0f;
  return Tensor::from_vector(v, s);
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0;
}

}  // namespace

TEST_CASE("gradcheck: avg_pool2d with and without count_include_pad") {
  fh::Generator gen(run_seed());
  std::vector<PoolProblem> problems = model_pool_problems();
  for (int trial = 0; trial < 8; ++trial) problems.push_back(random_pool_problem(gen));
  for (const PoolProblem& p : problems) {
    for (bool include_pad : {true, false}) {
      Tensor x = fh::rand(p.input, gen, -1, 1, DType::F64).requires_grad_();
      expect_gradcheck([&](auto& in) { return fh::avg_pool2d(in[0], p.window, include_pad); }, {x},
                       "avg_pool2d " + describe(p) + (include_pad ? " include_pad" : " exclude_pad"));
    }
  }
}

TEST_CASE("gradcheck: max_pool2d") {
  fh::Generator gen(run_seed());
  std::vector<PoolProblem> problems = model_pool_problems();
  for (int trial = 0; trial < 8; ++trial) problems.push_back(random_pool_problem(gen));
  for (const PoolProblem& p : problems) {
    Tensor x = distinct_values(p.input, gen).requires_grad_();
    expect_gradcheck([&](auto& in) { return fh::max_pool2d(in[0], p.window); }, {x}, "max_pool2d " + describe(p));
  }
}

TEST_CASE("gradcheck: global_avg_pool and resize_nearest") {
  fh::Generator gen(run_seed());
  for (int trial = 0; trial < 8; ++trial) {
    const Shape s{rand_int(gen, 1, 3), rand_int(gen, 1, 7), rand_int(gen, 1, 7), random_channels(gen)};
    expect_gradcheck([](auto& in) { return fh::global_avg_pool(in[0]); },
                     {fh::rand(s, gen, -1, 1, DType::F64).requires_grad_()}, "global_avg_pool " + s.str());
    const int64_t oh = rand_int(gen, 1, 12), ow = rand_int(gen, 1, 12);
    expect_gradcheck([&](auto& in) { return fh::resize_nearest(in[0], oh, ow); },
                     {fh::rand(s, gen, -1, 1, DType::F64).requires_grad_()},
                     "resize_nearest " + s.str() + " to " + std::to_string(oh) + "x" + std::to_string(ow));
  }
}

TEST_CASE("PyTorch parity: pooling and nearest resizing") {
  fh::Generator gen(run_seed());
  auto randn = [&](const Shape& s) { return fh::randn(s, gen); };
  std::vector<ParityCase> cases;
  std::vector<PoolProblem> problems = model_pool_problems();
  for (int trial = 0; trial < 12; ++trial) problems.push_back(random_pool_problem(gen));
  problems.push_back({PoolWindow::square(3, 2, 1), Shape{2, 33, 31, 6}});
  for (const PoolProblem& p : problems) {
    for (bool include_pad : {true, false}) {
      const std::string args = window_json(p.window, include_pad ? ",\"count_include_pad\":true" : ",\"count_include_pad\":false");
      cases.push_back(make_case(gen, "avg_pool2d", args, {randn(p.input)},
                                [=](auto& x) { return fh::avg_pool2d(x[0], p.window, include_pad); }, Layout::kImages));
    }
    auto max_pool = [w = p.window](auto& x) { return fh::max_pool2d(x[0], w); };
    cases.push_back(make_case(gen, "max_pool2d", window_json(p.window), {randn(p.input)}, max_pool, Layout::kImages));
    // Ties: the gradient must go to the first maximum in row-major order, as in PyTorch.
    cases.push_back(make_case(gen, "max_pool2d", window_json(p.window), {tied_values(p.input, gen)}, max_pool, Layout::kImages));
  }
  {
    // NaN wins over numbers (the last NaN of a window takes the gradient); a constant image
    // is all ties.
    std::vector<float> v = fh::randn({2, 7, 6, 3}, gen).to_vector<float>();
    for (size_t i = 0; i < v.size(); i += 7) v[i] = std::numeric_limits<float>::quiet_NaN();
    const PoolWindow w = PoolWindow::square(3, 2, 1);
    auto max_pool = [w](auto& x) { return fh::max_pool2d(x[0], w); };
    cases.push_back(make_case(gen, "max_pool2d", window_json(w), {Tensor::from_vector(v, {2, 7, 6, 3})}, max_pool, Layout::kImages));
    cases.push_back(make_case(gen, "max_pool2d", window_json(w), {Tensor::full({1, 5, 5, 2}, 0.25)}, max_pool, Layout::kImages));
  }
  for (int trial = 0; trial < 10; ++trial) {
    const Shape s{rand_int(gen, 1, 3), rand_int(gen, 1, 9), rand_int(gen, 1, 9), random_channels(gen)};
    cases.push_back(make_case(gen, "global_avg_pool", "", {randn(s)}, [](auto& x) { return fh::global_avg_pool(x[0]); },
                              Layout::kImagesToFlat));
    const int64_t oh = rand_int(gen, 1, 13), ow = rand_int(gen, 1, 13);
    cases.push_back(make_case(gen, "resize_nearest",
                              "{\"height\":" + std::to_string(oh) + ",\"width\":" + std::to_string(ow) + "}",
                              {randn(s)}, [=](auto& x) { return fh::resize_nearest(x[0], oh, ow); }, Layout::kImages));
  }
  // Non-integer factors up and down, exact 2x (PyTorch's shift special case), identity,
  // the label-map shapes (256 -> 64, 128 on smaller stand-ins) and a wide label map.
  const std::vector<std::pair<Shape, std::pair<int64_t, int64_t>>> resizes = {
      {{1, 5, 5, 3}, {8, 8}},   {{1, 8, 8, 3}, {5, 5}},   {{2, 5, 8, 1}, {8, 5}},   {{1, 7, 3, 2}, {14, 6}},
      {{1, 6, 6, 4}, {6, 6}},   {{1, 1, 1, 3}, {3, 4}},   {{1, 9, 7, 2}, {1, 1}},   {{2, 64, 64, 3}, {16, 32}},
      {{1, 13, 17, 6}, {29, 7}}, {{1, 16, 16, 40}, {5, 11}},
  };
  for (const auto& [s, size] : resizes) {
    const auto [oh, ow] = size;
    cases.push_back(make_case(gen, "resize_nearest",
                              "{\"height\":" + std::to_string(oh) + ",\"width\":" + std::to_string(ow) + "}",
                              {randn(s)}, [=](auto& x) { return fh::resize_nearest(x[0], oh, ow); }, Layout::kImages));
  }
  // A wider mean, where float32 summation order starts to show.
  cases.push_back(make_case(gen, "global_avg_pool", "", {randn({2, 16, 16, 64})},
                            [](auto& x) { return fh::global_avg_pool(x[0]); }, Layout::kImagesToFlat,
                            {1e-6, 1e-4}));

  double worst = 0;
  if (fh::test::pool::run_parity(cases, &worst)) {
    MESSAGE(cases.size() << " pooling/resize cases against PyTorch; worst error " << worst << " of threshold");
  }
}

TEST_CASE("resize_nearest follows PyTorch's float32 index rule") {
  // scale = in / out in float32, src = min(floor(dst · scale), in - 1); 2x and 1x are special.
  auto sources = [](int64_t in, int64_t out) {
    std::vector<int64_t> s;
    for (int64_t o = 0; o < out; ++o) s.push_back(fh::kernels::nearest_source_index(o, in, out));
    return s;
  };
  CHECK(sources(8, 5) == std::vector<int64_t>{0, 1, 3, 4, 6});
  CHECK(sources(5, 8) == std::vector<int64_t>{0, 0, 1, 1, 2, 3, 3, 4});
  CHECK(sources(3, 6) == std::vector<int64_t>{0, 0, 1, 1, 2, 2});
  CHECK(sources(256, 64) == [] { std::vector<int64_t> s; for (int64_t o = 0; o < 64; ++o) s.push_back(4 * o); return s; }());
  // On an image: a 1x8 row to 5 columns and back up to 8, through the op itself.
  const Tensor row = Tensor::from_vector<float>({0, 1, 2, 3, 4, 5, 6, 7}, {1, 1, 8, 1});
  CHECK(fh::resize_nearest(row, 1, 5).to_vector<float>() == std::vector<float>{0, 1, 3, 4, 6});
  // Backward of 5 -> 8: each input pixel receives the gradients of the outputs reading it.
  Tensor x = Tensor::zeros({1, 1, 5, 1}).requires_grad_();
  fh::resize_nearest(x, 1, 8).backward(Tensor::from_vector<float>({1, 2, 3, 4, 5, 6, 7, 8}, {1, 1, 8, 1}));
  CHECK(x.grad().to_vector<float>() == std::vector<float>{3, 7, 5, 13, 8});
}

TEST_CASE("max_pool2d: the first maximum takes ties, NaN wins, -inf keeps the first position") {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  auto grad_of = [](const std::vector<float>& values) {
    Tensor x = Tensor::from_vector(values, {1, 2, 2, 1}).requires_grad_();
    Tensor y = fh::max_pool2d(x, PoolWindow::square(2, 2));
    y.backward(Tensor::ones({1, 1, 1, 1}));
    return std::make_pair(y.item(), x.grad().to_vector<float>());
  };
  CHECK(grad_of({1, 3, 3, 2}).second == std::vector<float>{0, 1, 0, 0});
  CHECK(grad_of({5, 5, 5, 5}).second == std::vector<float>{1, 0, 0, 0});
  const auto [with_nan, nan_grad] = grad_of({1, nan, 3, nan});
  CHECK(std::isnan(with_nan));
  CHECK(nan_grad == std::vector<float>{0, 0, 0, 1});
  CHECK(grad_of({-inf, -inf, -inf, -inf}).second == std::vector<float>{1, 0, 0, 0});
  // Overlapping windows (3x3, stride 2) that share their maximum add both gradients into it.
  // Windows [0, 1], [1, 3], [3, 4]: the first two share their maximum at 1.
  Tensor x = Tensor::from_vector<float>({0, 9, 0, 5, 0}, {1, 1, 5, 1}).requires_grad_();
  fh::max_pool2d(x, {1, 3, 1, 2, 0, 1}).backward(Tensor::from_vector<float>({1, 10, 100}, {1, 1, 3, 1}));
  CHECK(x.grad().to_vector<float>() == std::vector<float>{0, 11, 0, 100, 0});
}

TEST_CASE("avg_pool2d divisors with and without padding") {
  // 3x3 stride 2 padding 1 over a 3x3 image of ones: each of the 2x2 windows covers 2x2
  // pixels and 5 padding positions; excluding padding gives exact means of 1.
  const Tensor ones = Tensor::ones({1, 3, 3, 1});
  CHECK(fh::avg_pool2d(ones, PoolWindow::square(3, 2, 1), false).to_vector<float>() ==
        std::vector<float>{1, 1, 1, 1});
  CHECK(fh::avg_pool2d(ones, PoolWindow::square(3, 2, 1), true).to_vector<float>() ==
        std::vector<float>{4.0f / 9, 4.0f / 9, 4.0f / 9, 4.0f / 9});
  // 2x2 stride 2 on a 3x3 image floors to one window (the last row and column are dropped).
  const Tensor x = Tensor::from_vector<float>({1, 2, 100, 3, 4, 100, 100, 100, 100}, {1, 3, 3, 1});
  CHECK(fh::avg_pool2d(x, PoolWindow::square(2, 2)).to_vector<float>() == std::vector<float>{2.5f});
}

TEST_CASE("pooling and resizing are bit-identical across runs and thread counts") {
  fh::Generator gen(7);
  const Tensor x = fh::randn({2, 37, 29, 6}, gen), wide = fh::randn({2, 13, 11, 40}, gen);
  auto run = [&] {
    std::vector<Tensor> results;
    for (const Tensor& input : {x, wide}) {
      Tensor leaf = input.clone().requires_grad_();
      Tensor y = fh::avg_pool2d(leaf, PoolWindow::square(3, 2, 1), false);
      Tensor z = fh::max_pool2d(leaf, PoolWindow::square(3, 2, 1));
      Tensor r = fh::resize_nearest(leaf, 21, 50);
      Tensor g = fh::global_avg_pool(leaf);
      Tensor loss = fh::sum(y * y) + fh::sum(z * z) + fh::sum(r * r) + fh::sum(g * g);
      loss.backward();
      results.insert(results.end(), {y, z, r, g, leaf.grad()});
    }
    return results;
  };
  const int before = fh::num_threads();
  fh::set_num_threads(1);
  const std::vector<Tensor> reference = run();
  for (int threads : {1, 2, 3, 4}) {
    fh::set_num_threads(threads);
    const std::vector<Tensor> again = run();
    for (size_t i = 0; i < reference.size(); ++i) {
      INFO("result " << i << " with " << threads << " threads");
      CHECK(same_bits(reference[i], again[i]));
    }
  }
  fh::set_num_threads(before);
}

TEST_CASE("pooling and resizing errors name the op and the shapes") {
  const Tensor img = Tensor::zeros({2, 5, 4, 3});
  CHECK_THROWS_WITH_AS(fh::avg_pool2d(Tensor::zeros({5, 4, 3}), PoolWindow::square(2, 2)),
                       doctest::Contains("avg_pool2d: input [5, 4, 3] must be a 4-d NHWC image batch"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::max_pool2d(img, PoolWindow::square(3, 2, 2)),
                       doctest::Contains("max_pool2d: padding must be between 0 and half the kernel, got kernel 3x3, "
                                         "stride 2x2, padding 2x2 for input [2, 5, 4, 3]"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::avg_pool2d(img, PoolWindow::square(6, 1)),
                       doctest::Contains("avg_pool2d: input [2, 5, 4, 3] is smaller than the window (kernel 6x6"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::max_pool2d(img, PoolWindow::square(2, 0)),
                       doctest::Contains("kernel and stride must be >= 1"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::avg_pool2d(Tensor::zeros({1, 4, 4, 1}, DType::I64), PoolWindow::square(2, 2)),
                       doctest::Contains("avg_pool2d: needs float32 or float64"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::global_avg_pool(Tensor::zeros({2, 3})),
                       doctest::Contains("global_avg_pool: input [2, 3] must be a 4-d NHWC image batch"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::resize_nearest(img, 0, 3),
                       doctest::Contains("resize_nearest: input [2, 5, 4, 3] and output size 0x3 must both have "
                                         "positive height and width"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::kernels::avg_pool2d_backward(Tensor::zeros({2, 2, 2, 3}), img.shape(),
                                                        PoolWindow::square(3, 2, 1), false),
                       doctest::Contains("avg_pool2d_backward: gradient [2, 2, 2, 3] does not match the output "
                                         "[2, 3, 2, 3] of input [2, 5, 4, 3]"),
                       fh::Error);
  fh::kernels::MaxPoolResult r = fh::kernels::max_pool2d(img, PoolWindow::square(2, 2));
  r.indices.data<int64_t>()[5] = 20;  // one past the 5x4 image
  CHECK_THROWS_WITH_AS(fh::kernels::max_pool2d_backward(r.output, r.indices, img.shape(), PoolWindow::square(2, 2)),
                       doctest::Contains("max_pool2d_backward: index 20 is outside the 5x4 image"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::kernels::max_pool2d_backward(r.output, r.output, img.shape(), PoolWindow::square(2, 2)),
                       doctest::Contains("max_pool2d_backward: indices [2, 2, 2, 3] float32 cpu must be int64"),
                       fh::Error);
}
