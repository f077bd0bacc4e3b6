// The pool and shape families' CUDA kernels against their CPU twins where the op table
// (tests/ops/pool_cases.cpp and shape_cases.cpp, driven by test_cuda_op_table.cpp) does not
// reach: NaN and -inf in max pooling, indices refused by its backward, split's unwanted
// outputs, and the integer backward kernels of slices and crops.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "kernels/core.h"
#include "kernels/pool.h"
#include "kernels/shape_ops.h"
#include "tests/cuda/cuda_test_util.h"

using fh::DType;
using fh::Shape;
using fh::Tensor;
using fh::kernels::PoolWindow;
namespace kernels = fh::kernels;
using namespace fh::cuda_test;

TEST_CASE("max pooling propagates NaN and -inf as the CPU does") {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  const Tensor x = Tensor::from_vector<double>({1, nan, 3, -inf, -inf, -inf, -inf, 2, nan, 0, 5, nan, -inf, -inf, 4, 4},
                                               {1, 4, 4, 1});
  for (DType t : kFloatDTypes) {
    const Tensor xt = x.to(t);
    for (const PoolWindow& w : {PoolWindow::square(2, 2), PoolWindow::square(3, 1, 1)}) {
      const kernels::MaxPoolResult cpu = kernels::max_pool2d(xt, w);
      const kernels::MaxPoolResult gpu = kernels::max_pool2d(xt.to(kGpu), w);
      check_same_bits(gpu.output, cpu.output, label("max_pool2d with NaN", x.shape(), t));
      check_same_bits(gpu.indices, cpu.indices, label("max_pool2d indices with NaN", x.shape(), t));
    }
  }
}

// The GPU's gather looks for each window's maximum inside that window only, so it refuses
// an index outside its window (the CPU, a scatter, refuses only those outside the image).
TEST_CASE("max pooling backward refuses indices outside their window") {
  const PoolWindow w = PoolWindow::square(2, 2);
  const Tensor g = random({1, 2, 2, 1}).to(kGpu);
  for (int64_t bad : {-1, 16, 6 /* inside the image, but not in window (0, 0) */}) {
    const Tensor idx = Tensor::from_vector<int64_t>({bad, 2, 8, 10}, {1, 2, 2, 1}).to(kGpu);
    INFO("index " << bad);
    CHECK_THROWS_WITH_AS(kernels::max_pool2d_backward(g, idx, {1, 4, 4, 1}, w), doctest::Contains("max_pool2d_backward"),
                         fh::Error);
  }
}

// Split (concat's backward) with an output nobody wants: the GPU leaves it undefined.
TEST_CASE("split skips the outputs that are not wanted and copies the others bit for bit") {
  const std::vector<int64_t> lengths = {3, 1, 2};
  for (DType t : {DType::F32, DType::F16, DType::I64}) {
    const Tensor joined = kernels::cast(random({2, 8, 8, 6}, DType::F64, 0.0, 10.0), t);
    const std::vector<Tensor> cpu = kernels::split(joined, 3, lengths);
    const std::vector<Tensor> gpu = kernels::split(joined.to(kGpu), 3, lengths, {false, true, true});
    CHECK_FALSE(gpu[0].defined());
    for (size_t i = 1; i < cpu.size(); ++i)
      check_same_bits(gpu[i], cpu[i], label("split part " + std::to_string(i), joined.shape(), t));
  }
}

// The backward kernels of slices and crops also copy integers (autograd, and so the op
// table, runs them on float dtypes only).
TEST_CASE("integer slices and crops scatter back bit for bit") {
  const Tensor x = kernels::cast(random({3, 40, 36, 5}, DType::F64, 0.0, 10.0), DType::I64);
  const Tensor s = kernels::slice(x, 1, 3, 30);
  check_same_bits(kernels::slice_backward(s.to(kGpu), x.shape(), 1, 3), kernels::slice_backward(s, x.shape(), 1, 3),
                  "slice_backward int64");
  const std::vector<int64_t> tops = {3, 0, 10}, lefts = {7, 2, 0};
  const Tensor c = kernels::crop2d(x, tops, lefts, 20, 16);
  check_same_bits(kernels::crop2d_backward(c.to(kGpu), x.shape(), tops, lefts),
                  kernels::crop2d_backward(c, x.shape(), tops, lefts), "crop2d_backward int64");
}
