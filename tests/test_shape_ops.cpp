// concat, stack, slice and per-image crops: exact copies of other dtypes on every path and
// thread count, and the errors bad operands get. Their gradient checks, PyTorch parity and
// CPU/CUDA comparisons are the op table's (tests/ops/shape_cases.cpp).
#include <doctest/doctest.h>

#include <string>

#include "autograd/ops.h"
#include "kernels/pool.h"
#include "kernels/shape_ops.h"
#include "runtime/random.h"
#include "runtime/thread_pool.h"

using fh::DType;
using fh::Shape;
using fh::Tensor;

TEST_CASE("shape ops copy any dtype exactly") {
  const Tensor a = Tensor::from_vector<int64_t>({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor b = Tensor::from_vector<int64_t>({7, 8}, {2, 1});
  const Tensor joined = fh::concat({a, b}, 1);
  CHECK(joined.dtype() == DType::I64);
  CHECK(joined.to_vector<int64_t>() == std::vector<int64_t>{1, 2, 3, 7, 4, 5, 6, 8});
  CHECK(fh::slice(joined, 1, 1, 2).to_vector<int64_t>() == std::vector<int64_t>{2, 3, 5, 6});
  CHECK(fh::stack({b, b}, 2).shape() == Shape{2, 1, 2});
  // Stacking along a new last axis interleaves: out[i, k] = xs[k][i] (a strided innermost copy).
  const Tensor p = Tensor::from_vector<double>({1, 2, 3}, {3}), q = Tensor::from_vector<double>({10, 20, 30}, {3});
  CHECK(fh::stack({p, q}, -1).to_vector<double>() == std::vector<double>{1, 10, 2, 20, 3, 30});
  // Large enough to be split among threads, along the last axis of an NHWC batch.
  fh::Generator gen(3);
  const Tensor img = fh::randn({2, 64, 64, 3}, gen), sketch = fh::randn({2, 64, 64, 3}, gen);
  const Tensor both = fh::concat({img, sketch}, 3);
  CHECK(fh::slice(both, 3, 0, 3).to_vector<float>() == img.to_vector<float>());
  CHECK(fh::slice(both, 3, 3, 3).to_vector<float>() == sketch.to_vector<float>());
}

TEST_CASE("concat and split copy exactly on every path and thread count") {
  // Reference: element (r, j) of the joined [outer, Σ widths] rows, built on the host.
  // Widths cover the fixed-size moves (<= 4, 8, 16 elements), wider parts, empty parts and
  // more parts than the single pass takes; outer sizes below and above the row split.
  const std::vector<std::vector<int64_t>> width_sets = {
      {3, 3}, {1, 1}, {2, 5, 1}, {4, 8, 16}, {9, 0, 7}, {17, 3}, {1, 1, 1, 1, 1, 1, 1, 1, 1}, {6, 64}};
  const int before = fh::num_threads();
  for (int threads : {1, 2, 3}) {
    fh::set_num_threads(threads);
    for (const std::vector<int64_t>& widths : width_sets) {
      for (int64_t outer : {1, 5, 63, 64, 257, 3001}) {
        int64_t total = 0;
        for (int64_t w : widths) total += w;
        std::vector<Tensor> parts;
        std::vector<int64_t> expected(static_cast<size_t>(outer * total));
        int64_t offset = 0;
        for (size_t i = 0; i < widths.size(); ++i) {
          std::vector<int64_t> v(static_cast<size_t>(outer * widths[i]));
          for (int64_t r = 0; r < outer; ++r)
            for (int64_t j = 0; j < widths[i]; ++j) {
              v[r * widths[i] + j] = 1000000 * static_cast<int64_t>(i) + r * 100 + j;
              expected[r * total + offset + j] = v[r * widths[i] + j];
            }
          parts.push_back(Tensor::from_vector(v, {outer, widths[i]}));
          offset += widths[i];
        }
        INFO(threads << " threads, outer " << outer << ", " << widths.size() << " parts, first width " << widths[0]);
        const Tensor joined = fh::concat(parts, 1);
        CHECK(joined.to_vector<int64_t>() == expected);
        const std::vector<Tensor> back = fh::kernels::split(joined, 1, widths);
        for (size_t i = 0; i < widths.size(); ++i) CHECK(back[i].to_vector<int64_t>() == parts[i].to_vector<int64_t>());
        // float32 parts take the 4-byte element path.
        std::vector<Tensor> floats;
        for (const Tensor& p : parts) floats.push_back(p.to(DType::F32));
        CHECK(fh::concat(floats, 1).to_vector<float>() == joined.to(DType::F32).to_vector<float>());
      }
    }
  }
  fh::set_num_threads(before);
}

TEST_CASE("shape-op errors name the op and the shapes") {
  const Tensor a = Tensor::zeros({2, 3, 4}), b = Tensor::zeros({2, 5, 5});
  CHECK_THROWS_WITH_AS(fh::concat({}, 0), doctest::Contains("concat: needs at least one tensor"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::concat({a, b}, 1),
                       doctest::Contains("concat: tensor 1 [2, 5, 5] differs from tensor 0 [2, 3, 4] outside dim 1 "
                                         "(shapes: [2, 3, 4], [2, 5, 5])"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::concat({a, a}, 3), doctest::Contains("concat: dim 3 is out of range for shape [2, 3, 4]"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::concat({a, Tensor::zeros({2, 3, 4}, DType::F64)}, 0),
                       doctest::Contains("concat: operands have different dtypes"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::stack({a, b}, 0),
                       doctest::Contains("stack: tensor 1 [2, 5, 5] differs from tensor 0 [2, 3, 4]"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::stack({a}, 4), doctest::Contains("stack: axis 4 is out of range for stacking tensors of shape [2, 3, 4] (valid: -4 to 3)"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::slice(a, 1, 2, 2),
                       doctest::Contains("slice: range [2, 4) of length 2 does not fit dim 1 of [2, 3, 4] (size 3)"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::slice(a, -1, -1, 1), doctest::Contains("slice: range [-1, 0)"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::kernels::split(a, 2, {1, 2}),
                       doctest::Contains("split: lengths [1, 2] add up to 3, not to size 4 of dim 2 of [2, 3, 4]"),
                       fh::Error);
  const Tensor img = Tensor::zeros({2, 6, 5, 3});
  CHECK_THROWS_WITH_AS(fh::crop2d(img, {0, 3}, {0, 0}, 4, 4),
                       doctest::Contains("crop2d: the 4x4 crop at (top 3, left 0) of image 1 does not fit the 6x5 "
                                         "image of input [2, 6, 5, 3]"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::crop2d(img, {0, 0, 0}, {0}, 2, 2),
                       doctest::Contains("crop2d: input [2, 6, 5, 3] has 2 images but 3 tops and 1 lefts were given"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::crop2d(a, {0}, {0}, 1, 1),
                       doctest::Contains("crop2d: input [2, 3, 4] must be a 4-d NHWC image batch"), fh::Error);
}
