// A first program against the freehead library: fit y = sin(3x) on [-1, 1] with a
// two-layer perceptron, using only tensors, differentiable ops and backward().
// Exits with 1 unless the final loss is below a tenth of the initial one, so it doubles as
// an end-to-end test of the engine (examples/CMakeLists.txt registers it with CTest).
#include <cmath>
#include <cstdio>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "kernels/core.h"
#include "runtime/random.h"

int main() {
  fh::Generator gen(7);
  constexpr int64_t kPoints = 256, kHidden = 32;
  // Inputs on a grid, targets sin(3x); both [kPoints, 1].
  std::vector<float> xs(kPoints), ys(kPoints);
  for (int64_t i = 0; i < kPoints; ++i) {
    xs[i] = -1.0f + 2.0f * static_cast<float>(i) / (kPoints - 1);
    ys[i] = std::sin(3.0f * xs[i]);
  }
  const fh::Tensor x = fh::Tensor::from_vector(xs, {kPoints, 1});
  const fh::Tensor y = fh::Tensor::from_vector(ys, {kPoints, 1});

  // Parameters, initialised like PyTorch's Linear (uniform ±1/sqrt(fan_in)).
  fh::Tensor w1 = fh::rand({kHidden, 1}, gen, -1.0, 1.0).requires_grad_();
  fh::Tensor b1 = fh::rand({kHidden}, gen, -1.0, 1.0).requires_grad_();
  const double bound2 = 1.0 / std::sqrt(static_cast<double>(kHidden));
  fh::Tensor w2 = fh::rand({1, kHidden}, gen, -bound2, bound2).requires_grad_();
  fh::Tensor b2 = fh::rand({1}, gen, -bound2, bound2).requires_grad_();
  std::vector<fh::Tensor*> params = {&w1, &b1, &w2, &b2};

  auto loss_of = [&] {
    const fh::Tensor h = fh::tanh(fh::linear(x, w1, b1));
    return fh::mse_loss(fh::linear(h, w2, b2), y);
  };

  constexpr double kLearningRate = 0.1;
  double first = 0, last = 0;
  for (int step = 0; step <= 2000; ++step) {
    const fh::Tensor loss = loss_of();
    loss.backward();
    last = loss.item();
    if (step == 0) first = last;
    if (step % 400 == 0) std::printf("step %4d  loss %.6f\n", step, last);
    // Plain gradient descent, outside the graph.
    fh::NoGradGuard no_grad;
    for (fh::Tensor* p : params) {
      fh::kernels::binary_(fh::kernels::BinaryOp::Sub, *p, p->grad() * kLearningRate);
      p->zero_grad();
    }
  }
  const bool learned = last < 0.1 * first;
  std::printf("loss %.6f -> %.6f: %s\n", first, last, learned ? "fitted" : "did NOT fit");
  return learned ? 0 : 1;
}
