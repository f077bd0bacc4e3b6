// Pooling and nearest resizing (NHWC): PyTorch's index and tie rules checked by hand,
// determinism across thread counts, and the errors bad operands get. The gradient checks,
// PyTorch parity and CPU/CUDA comparisons of every pool op are the op table's
// (tests/ops/pool_cases.cpp).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "autograd/ops.h"
#include "kernels/pool.h"
#include "runtime/random.h"
#include "runtime/thread_pool.h"
#include "tests/harness/tolerance.h"

using fh::test::same_bits;
using fh::DType;
using fh::PoolWindow;
using fh::Shape;
using fh::Tensor;

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
