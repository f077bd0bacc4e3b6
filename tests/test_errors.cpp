// Bad input gets an fh::Error that names the op, the shapes and what failed.
#include <doctest/doctest.h>

#include "autograd/ops.h"

using fh::Tensor;

TEST_CASE("a wrong-shape matmul names both shapes") {
  const Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4, 5});
  CHECK_THROWS_WITH_AS(fh::matmul(a, b), doctest::Contains("matmul: inner dimensions differ: a [2, 3] has K=3, b [4, 5] has K=4"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::matmul(Tensor::zeros({2, 2, 3}), Tensor::zeros({3, 3, 4})),
                       doctest::Contains("shapes [2] and [3] cannot be broadcast"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::matmul(Tensor::zeros({3}), b), doctest::Contains("at least 2 dims, got [3] and [4, 5]"),
                       fh::Error);
}

TEST_CASE("a failed broadcast names both shapes and the dim") {
  CHECK_THROWS_WITH_AS(fh::add(Tensor::zeros({2, 3}), Tensor::zeros({2, 4})),
                       doctest::Contains("add: shapes [2, 3] and [2, 4] cannot be broadcast together (dim -1: 3 vs 4)"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::mul(Tensor::zeros({5}), Tensor::zeros({2, 3})), doctest::Contains("mul: shapes [5] and [2, 3]"),
                       fh::Error);
}

TEST_CASE("dtype, reshape and reduction errors are explicit") {
  CHECK_THROWS_WITH_AS(fh::add(Tensor::zeros({2}), Tensor::zeros({2}, fh::DType::F64)),
                       doctest::Contains("different dtypes: [2] float32 cpu and [2] float64 cpu"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::reshape(Tensor::zeros({2, 3}), {4, -1}),
                       doctest::Contains("cannot infer the -1 size reshaping [2, 3]"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::sum(Tensor::zeros({2, 3}), {2}), doctest::Contains("dim 2 is out of range for shape [2, 3]"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::exp(Tensor::zeros({2}, fh::DType::I64)), doctest::Contains("needs float32 or float64"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(Tensor::zeros({2}, fh::DType::I64).requires_grad_(),
                       doctest::Contains("only floating tensors can require gradients"), fh::Error);
}

TEST_CASE("backward misuse is reported") {
  Tensor x = Tensor::ones({3}).requires_grad_();
  Tensor y = fh::exp(x);
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("gradient can be implied only for one-element outputs"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(Tensor::ones({1}).backward(), doctest::Contains("does not require grad"), fh::Error);
  CHECK_THROWS_WITH_AS(y.backward(Tensor::ones({4})), doctest::Contains("does not match output [3]"), fh::Error);
  CHECK_THROWS_WITH_AS(y.requires_grad_(false), doctest::Contains("only leaves can change requires_grad"), fh::Error);
}
