// Float64 central-difference gradient checks of the pointwise family (activations, clamps,
// softmax, losses) on random shapes with size-1 dims, inputs kept away from kinks (where
// the derivative does not exist and central differences straddle two slopes).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "tests/harness/gradcheck.h"
#include "tests/harness/random_inputs.h"

using fh::DType;
using fh::Shape;
using fh::Tensor;
using namespace fh::test;

namespace {

constexpr int kTrials = 6;

// Uniform in [lo, hi), then pushed at least `margin` away from each kink.
Tensor away_from(fh::Generator& gen, const Shape& s, double lo, double hi, const std::vector<double>& kinks,
                 double margin = 0.05) {
  std::vector<double> v = fh::rand(s, gen, lo, hi, DType::F64).to_vector<double>();
  for (double& x : v)
    for (double k : kinks)
      if (std::abs(x - k) < margin) x = x >= k ? k + margin : k - margin;
  return Tensor::from_vector<double>(v, s).requires_grad_();
}

Tensor leaf(fh::Generator& gen, const Shape& s, double lo = -1.0, double hi = 1.0) {
  return random_leaf(s, gen, lo, hi);
}

// The worst fraction of the threshold seen in the current test case.
double g_worst = 0;

void expect_ok(const Function& fn, const std::vector<Tensor>& inputs, const std::string& what) {
  g_worst = std::max(g_worst, check_gradients(fn, inputs, what));
}

// Reports the case's worst fraction when it goes out of scope.
struct WorstReport {
  WorstReport() { g_worst = 0; }
  ~WorstReport() { MESSAGE("worst gradient error " << g_worst << " of threshold"); }
};

// Up to 4 dims, size-1 dims often; sometimes an odd NHWC image with one channel.
Shape activation_shape(fh::Generator& gen, int trial) {
  if (trial % 3 == 2) return Shape{1, rand_int(gen, 1, 5) * 2 + 1, 3, 1};
  return random_shape(gen, static_cast<int>(rand_int(gen, 0, 4)));
}

}  // namespace

TEST_CASE("gradcheck: leaky_relu, tanh, sigmoid, sqrt, sin, cos, acos") {
  const WorstReport report;
  fh::Generator gen(run_seed());
  for (int trial = 0; trial < kTrials; ++trial) {
    const Shape s = activation_shape(gen, trial);
    const std::string sh = " " + s.str();
    expect_ok([](auto& x) { return fh::leaky_relu(x[0], 0.2); }, {away_from(gen, s, -1, 1, {0.0})}, "leaky_relu" + sh);
    expect_ok([](auto& x) { return fh::leaky_relu(x[0], -1.5); }, {away_from(gen, s, -1, 1, {0.0})},
              "leaky_relu slope -1.5" + sh);
    expect_ok([](auto& x) { return fh::tanh(x[0]); }, {leaf(gen, s, -3, 3)}, "tanh" + sh);
    expect_ok([](auto& x) { return fh::sigmoid(x[0]); }, {leaf(gen, s, -4, 4)}, "sigmoid" + sh);
    expect_ok([](auto& x) { return fh::sqrt(x[0]); }, {leaf(gen, s, 0.2, 3)}, "sqrt" + sh);
    expect_ok([](auto& x) { return fh::sin(x[0]); }, {leaf(gen, s, -4, 4)}, "sin" + sh);
    expect_ok([](auto& x) { return fh::cos(x[0]); }, {leaf(gen, s, -4, 4)}, "cos" + sh);
    expect_ok([](auto& x) { return fh::acos(x[0]); }, {leaf(gen, s, -0.9, 0.9)}, "acos" + sh);
  }
}

TEST_CASE("gradcheck: clamp and acos_clamped, on both sides of their bounds") {
  const WorstReport report;
  fh::Generator gen(run_seed());
  for (int trial = 0; trial < kTrials; ++trial) {
    const Shape s = activation_shape(gen, trial);
    const std::string sh = " " + s.str();
    expect_ok([](auto& x) { return fh::clamp(x[0], -0.5, 0.4); }, {away_from(gen, s, -1, 1, {-0.5, 0.4})},
              "clamp" + sh);
    // One side open.
    expect_ok([](auto& x) { return fh::clamp(x[0], -INFINITY, 0.1); }, {away_from(gen, s, -1, 1, {0.1})},
              "clamp max only" + sh);
    // eps = 0.25: the bounds ±0.75 cut the inputs.
    expect_ok([](auto& x) { return fh::acos_clamped(x[0], 0.25); },
              {away_from(gen, s, -1.2, 1.2, {-0.75, 0.75})}, "acos_clamped eps 0.25" + sh);
    // The gaze loss' eps: inside the bounds this is plain acos.
    expect_ok([](auto& x) { return fh::acos_clamped(x[0], 1e-7); }, {leaf(gen, s, -0.95, 0.95)},
              "acos_clamped eps 1e-7" + sh);
  }
}

TEST_CASE("gradcheck: softmax along every axis") {
  const WorstReport report;
  fh::Generator gen(run_seed());
  for (int trial = 0; trial < kTrials; ++trial) {
    const int nd = static_cast<int>(rand_int(gen, 1, 4));
    const Shape s = random_shape(gen, nd, 6);
    for (int d = 0; d < nd; ++d) {
      const int64_t dim = rand_int(gen, 0, 1) ? d : d - nd;
      expect_ok([dim](auto& x) { return fh::softmax(x[0], dim); }, {leaf(gen, s, -3, 3)},
                "softmax " + s.str() + " dim " + std::to_string(dim));
    }
  }
  // Rows long enough for the lane-parallel sums, an outer axis wider than a column tile,
  // and a 0-d tensor.
  expect_ok([](auto& x) { return fh::softmax(x[0], -1); }, {leaf(gen, {3, 37}, -3, 3)}, "softmax [3, 37] dim -1");
  expect_ok([](auto& x) { return fh::softmax(x[0], 1); }, {leaf(gen, {2, 3, 300}, -3, 3)}, "softmax [2, 3, 300] dim 1");
  expect_ok([](auto& x) { return fh::softmax(x[0], 0); }, {leaf(gen, {}, -3, 3)}, "softmax 0-d");
}

TEST_CASE("gradcheck: l1, mse and hinge losses") {
  const WorstReport report;
  fh::Generator gen(run_seed());
  for (int trial = 0; trial < kTrials; ++trial) {
    const Shape s = activation_shape(gen, trial);
    const std::string sh = " " + s.str();
    // a - b kept away from 0, where |a - b| has its kink: b = a + offset, |offset| >= 0.05.
    Tensor a = leaf(gen, s);
    Tensor offset = away_from(gen, s, -1, 1, {0.0});
    Tensor b = fh::add(a.detach(), offset.detach()).detach().requires_grad_();
    expect_ok([](auto& x) { return fh::l1_loss(x[0], x[1]); }, {a, b}, "l1_loss" + sh);
    expect_ok([](auto& x) { return fh::mse_loss(x[0], x[1]); }, {leaf(gen, s), leaf(gen, s)}, "mse_loss" + sh);
    expect_ok([](auto& x) { return fh::hinge_real(x[0]); }, {away_from(gen, s, -2, 3, {1.0})}, "hinge_real" + sh);
    expect_ok([](auto& x) { return fh::hinge_fake(x[0]); }, {away_from(gen, s, -3, 2, {-1.0})}, "hinge_fake" + sh);
    expect_ok([](auto& x) { return fh::hinge_generator(x[0]); }, {leaf(gen, s, -2, 2)}, "hinge_generator" + sh);
  }
  // Only one operand differentiable (a prediction against a fixed target).
  Tensor target = fh::rand({4, 3}, gen, -1, 1, DType::F64);
  expect_ok([&](auto& x) { return fh::mse_loss(x[0], target); }, {leaf(gen, {4, 3})}, "mse_loss, target fixed");
  expect_ok([&](auto& x) { return fh::l1_loss(target, x[0]); }, {away_from(gen, {4, 3}, 2, 3, {})},
            "l1_loss, first operand fixed");
}

TEST_CASE("gradcheck: an N-shot weighted average and a gaze-style angle loss") {
  const WorstReport report;
  fh::Generator gen(run_seed());
  // x̄ = Σ_j softmax_j(m)·x_j over M sources: weights [N, M, H, W, 1], images [N, M, H, W, C].
  Tensor logits = leaf(gen, {1, 3, 2, 3, 1}, -2, 2), images = leaf(gen, {1, 3, 2, 3, 2});
  expect_ok([](auto& x) { return fh::tanh(fh::sum(fh::mul(fh::softmax(x[0], 1), x[1]), {1})); }, {logits, images},
            "n-shot average");
  // mean of (180/π)·acos(clamp(gᵀg*)) over unit-ish vectors.
  Tensor g = leaf(gen, {5, 3}, 0.2, 0.5), g_star = leaf(gen, {5, 3}, 0.2, 0.5);
  expect_ok([](auto& x) { return fh::mean(fh::acos_clamped(fh::sum(fh::mul(x[0], x[1]), {1}), 1e-7) * (180 / M_PI)); },
            {g, g_star}, "gaze angle");
}
