// Bad input to the pointwise family gets an fh::Error naming the op, the shapes and the
// rule; empty tensors follow PyTorch (empty results, NaN means).
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/ops.h"
#include "kernels/pointwise.h"

using fh::DType;
using fh::Tensor;
using doctest::Contains;

TEST_CASE("pointwise errors name the op and the shapes") {
  CHECK_THROWS_WITH_AS(fh::tanh(Tensor::zeros({2, 3}, DType::I64)),
                       Contains("tanh: needs float32 or float64, got [2, 3] int64 cpu"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::softmax(Tensor::zeros({2, 3}), 2), Contains("softmax: dim 2 is out of range for shape [2, 3]"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::softmax(Tensor::scalar(1.0), 1), Contains("softmax: dim 1 is out of range for a 0-d tensor"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::l1_loss(Tensor::zeros({1, 4, 4, 3}), Tensor::zeros({1, 4, 4, 1})),
                       Contains("l1_loss: operands differ in shape: [1, 4, 4, 3] and [1, 4, 4, 1]"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::mse_loss(Tensor::zeros({3}), Tensor::zeros({3}, DType::F64)),
                       Contains("mse_loss: operands have different dtypes: [3] float32 cpu and [3] float64 cpu"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::acos_clamped(Tensor::zeros({5}), 1.5),
                       Contains("acos_clamped: eps must be in [0, 1), got 1.5 (input [5] float32 cpu)"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::clamp(Tensor::zeros({5}), NAN, 1.0), Contains("clamp: bounds must not be NaN"), fh::Error);
  namespace k = fh::kernels;
  CHECK_THROWS_WITH_AS(k::activation_backward(k::ActivationOp::Tanh, Tensor::zeros({2, 3}), Tensor::zeros({3, 2})),
                       Contains("tanh: gradient [2, 3] float32 cpu does not match the saved output [3, 2] float32 cpu"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(k::softmax_backward(Tensor::zeros({4}), Tensor::zeros({5}), 0),
                       Contains("softmax_backward: gradient [4] float32 cpu does not match the output [5] float32 cpu"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(k::loss(k::LossOp::HingeReal, Tensor::zeros({2}), Tensor::zeros({2})),
                       Contains("hinge_real: takes one tensor, got [2] float32 cpu and [2] float32 cpu"), fh::Error);
  CHECK_THROWS_WITH_AS(k::loss(k::LossOp::L1, Tensor::zeros({2})), Contains("l1_loss: needs two tensors"), fh::Error);
  CHECK_THROWS_WITH_AS(k::loss_backward(k::LossOp::Mse, Tensor::zeros({2}), Tensor::zeros({3}), Tensor::zeros({3}), true, true),
                       Contains("mse_loss: the loss gradient must have one element, got [2] float32 cpu"), fh::Error);
}

TEST_CASE("pointwise ops on empty tensors") {
  const Tensor empty = Tensor::zeros({0, 3});
  CHECK(fh::tanh(empty).shape() == fh::Shape{0, 3});
  CHECK(fh::softmax(empty, 0).shape() == fh::Shape{0, 3});
  CHECK(fh::softmax(empty, 1).shape() == fh::Shape{0, 3});
  // The mean of nothing is NaN, as in PyTorch; its gradient is empty.
  Tensor a = empty.clone().requires_grad_();
  const Tensor loss = fh::mse_loss(a, empty);
  CHECK(loss.dim() == 0);
  CHECK(std::isnan(loss.item()));
  loss.backward();
  CHECK(a.grad().shape() == fh::Shape{0, 3});
}
