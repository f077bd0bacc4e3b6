// Parity of the pointwise family with PyTorch: fresh random float32 inputs every run, on
// random shapes (odd sizes, size-1 batch and channels, NHWC images, sizes that span several
// parallel chunks), plus hand-picked edge values (kinks, bounds, ±0, ±inf, NaN, overflow).
// Outputs and input gradients are compared with atol + rtol·|ref|; the worst fraction of the
// threshold is reported.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <sstream>
#include <string>

#include "autograd/ops.h"
#include "tests/harness/oracle.h"
#include "tests/harness/parity.h"
#include "tests/harness/random_inputs.h"
#include "tests/harness/tolerance.h"

using fh::DType;
using fh::Shape;
using fh::Tensor;
using namespace fh::test;

namespace {

using Op = std::function<Tensor(const std::vector<Tensor>&)>;

constexpr Tolerance kTol{1e-6, 1e-5};

ParityCase make_case(fh::Generator& gen, std::string op, std::string args, std::vector<Tensor> inputs, Op ours,
                     Tolerance tol = kTol) {
  return make_parity_case(gen, std::move(op), std::move(args), std::move(inputs), std::move(ours), tol);
}

// The same case with its tensors flagged as NHWC images for the oracle.
ParityCase as_nhwc(ParityCase c) {
  c.oracle.nhwc.assign(c.oracle.inputs.size(), true);
  c.oracle.nhwc_output = true;
  return c;
}

// Runs every case through the oracle and through freehead; checks outputs and gradients.
void check_cases(const std::vector<ParityCase>& cases) {
  double worst = 0;
  if (run_parity(cases, &worst)) MESSAGE(cases.size() << " cases against PyTorch; worst error " << worst << " of threshold");
}

// An odd-sized NHWC image; batch and channels are 1 a third of the time each.
Shape image_shape(fh::Generator& gen) {
  const int64_t n = rand_int(gen, 0, 2) == 0 ? 1 : rand_int(gen, 2, 3);
  const int64_t c = rand_int(gen, 0, 2) == 0 ? 1 : rand_int(gen, 2, 9);
  return Shape{n, rand_int(gen, 1, 6) * 2 + 1, rand_int(gen, 1, 6) * 2 + 1, c};
}

std::string num(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

// Activation cases on shape s; `image` flags the tensors as NHWC for the oracle.
void add_activation_cases(std::vector<ParityCase>& cases, fh::Generator& gen, const Shape& s, bool image) {
  auto add = [&](ParityCase c) { cases.push_back(image ? as_nhwc(std::move(c)) : std::move(c)); };
  auto randn = [&](double scale) { return fh::randn(s, gen, 0.0, scale); };
  add(make_case(gen, "leaky_relu", "{\"slope\":0.2}", {randn(1)}, [](auto& x) { return fh::leaky_relu(x[0], 0.2); }));
  add(make_case(gen, "tanh", "", {randn(2)}, [](auto& x) { return fh::tanh(x[0]); }));
  add(make_case(gen, "sigmoid", "", {randn(4)}, [](auto& x) { return fh::sigmoid(x[0]); }));
  add(make_case(gen, "sqrt", "", {fh::rand(s, gen, 0.01, 4.0)}, [](auto& x) { return fh::sqrt(x[0]); }));
  add(make_case(gen, "sin", "", {randn(3)}, [](auto& x) { return fh::sin(x[0]); }));
  add(make_case(gen, "cos", "", {randn(3)}, [](auto& x) { return fh::cos(x[0]); }));
  add(make_case(gen, "acos", "", {fh::rand(s, gen, -0.95, 0.95)}, [](auto& x) { return fh::acos(x[0]); }));
  const double lo = fh::rand({1}, gen, -1.0, 0.0).item(), hi = fh::rand({1}, gen, 0.0, 1.0).item();
  add(make_case(gen, "clamp", "{\"lo\":" + num(lo) + ",\"hi\":" + num(hi) + "}", {randn(1)},
                [=](auto& x) { return fh::clamp(x[0], lo, hi); }));
  add(make_case(gen, "acos_clamped", "{\"eps\":0.1}", {fh::rand(s, gen, -1.1, 1.1)},
                [](auto& x) { return fh::acos_clamped(x[0], 0.1); }));
}

std::string dim_json(int64_t dim) { return "{\"dim\":" + std::to_string(dim) + "}"; }

}  // namespace

TEST_CASE("PyTorch parity: activations, clamps, softmax and losses on random shapes") {
  if (skip_without_oracle()) return;
  fh::Generator gen(run_seed());
  std::vector<ParityCase> cases;
  for (int trial = 0; trial < 4; ++trial) {
    add_activation_cases(cases, gen, image_shape(gen), true);
    add_activation_cases(cases, gen, random_shape(gen, static_cast<int>(rand_int(gen, 0, 4)), 7), false);
  }
  // Several parallel chunks, ragged last chunk.
  add_activation_cases(cases, gen, {2, 37, 41, 33}, true);

  // Softmax along every axis of random shapes (the oracle uses the same dim).
  for (int trial = 0; trial < 4; ++trial) {
    const int nd = static_cast<int>(rand_int(gen, 1, 4));
    const Shape s = random_shape(gen, nd, 7);
    for (int d = 0; d < nd; ++d) {
      const int64_t dim = rand_int(gen, 0, 1) ? d : d - nd;
      cases.push_back(make_case(gen, "softmax", dim_json(dim), {fh::randn(s, gen, 0.0, 3.0)},
                                [dim](auto& x) { return fh::softmax(x[0], dim); }));
    }
  }
  // Over the channels of an NHWC image: dim 3 here is dim 1 in PyTorch's NCHW.
  for (int trial = 0; trial < 2; ++trial) {
    cases.push_back(as_nhwc(make_case(gen, "softmax", dim_json(1), {fh::randn(image_shape(gen), gen, 0.0, 3.0)},
                                      [](auto& x) { return fh::softmax(x[0], 3); })));
  }
  // N-shot weights [N, M, H, W, 1] over the sources; an outer axis over more columns than a
  // tile, ragged; long rows (lane-parallel sums); many short rows (several chunks).
  cases.push_back(make_case(gen, "softmax", dim_json(1), {fh::randn({2, 3, 9, 7, 1}, gen, 0.0, 3.0)},
                            [](auto& x) { return fh::softmax(x[0], 1); }));
  cases.push_back(make_case(gen, "softmax", dim_json(1), {fh::randn({3, 5, 777}, gen, 0.0, 3.0)},
                            [](auto& x) { return fh::softmax(x[0], 1); }));
  cases.push_back(make_case(gen, "softmax", dim_json(-1), {fh::randn({5, 301}, gen, 0.0, 3.0)},
                            [](auto& x) { return fh::softmax(x[0], -1); }));
  cases.push_back(make_case(gen, "softmax", dim_json(-1), {fh::randn({1, 97, 129, 4}, gen, 0.0, 3.0)},
                            [](auto& x) { return fh::softmax(x[0], -1); }));
  // Every row length the CPU kernel specialises (2-8), its neighbours, and the lane boundary.
  for (int64_t len : {1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17}) {
    cases.push_back(make_case(gen, "softmax", dim_json(-1), {fh::randn({3, 5, len}, gen, 0.0, 3.0)},
                              [](auto& x) { return fh::softmax(x[0], -1); }));
  }

  // Losses: random shapes, odd images, one over several summation blocks (a 3×256² image).
  std::vector<Shape> loss_shapes;
  for (int trial = 0; trial < 3; ++trial) {
    loss_shapes.push_back(random_shape(gen, static_cast<int>(rand_int(gen, 0, 4)), 7));
    loss_shapes.push_back(image_shape(gen));
  }
  loss_shapes.push_back({1, 256, 256, 3});
  for (const Shape& s : loss_shapes) {
    // Float32 sums of n terms: PyTorch's and ours round differently, by about √n·ε relative.
    const Tolerance tol{1e-6, 2e-5};
    cases.push_back(make_case(gen, "l1_loss", "", {fh::randn(s, gen), fh::randn(s, gen)},
                              [](auto& x) { return fh::l1_loss(x[0], x[1]); }, tol));
    cases.push_back(make_case(gen, "mse_loss", "", {fh::randn(s, gen), fh::randn(s, gen)},
                              [](auto& x) { return fh::mse_loss(x[0], x[1]); }, tol));
    cases.push_back(make_case(gen, "hinge_real", "", {fh::randn(s, gen, 0.5, 1.0)},
                              [](auto& x) { return fh::hinge_real(x[0]); }, tol));
    cases.push_back(make_case(gen, "hinge_fake", "", {fh::randn(s, gen, -0.5, 1.0)},
                              [](auto& x) { return fh::hinge_fake(x[0]); }, tol));
    cases.push_back(make_case(gen, "hinge_generator", "", {fh::randn(s, gen)},
                              [](auto& x) { return fh::hinge_generator(x[0]); }, tol));
  }
  check_cases(cases);
}

TEST_CASE("PyTorch parity: pointwise edge values (kinks, bounds, infinities, NaN)") {
  if (skip_without_oracle()) return;
  fh::Generator gen(run_seed());
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  // Kinks and special values shared by the activations; clamp bounds -0.5 and 0.25.
  const std::vector<float> specials = {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-6f, -1e-6f, 0.5f, -0.5f, 0.25f,  0.625f,
                                       -0.625f, 1.0f, -1.0f, 9.0f, -9.0f, 20.0f, -20.0f, 88.5f, -88.5f, 100.0f,
                                       -104.5f, inf, -inf, nan};
  const Tensor sp = Tensor::from_vector<float>(specials, {static_cast<int64_t>(specials.size())});
  std::vector<ParityCase> cases;
  cases.push_back(make_case(gen, "leaky_relu", "{\"slope\":0.2}", {sp}, [](auto& x) { return fh::leaky_relu(x[0], 0.2); }));
  cases.push_back(make_case(gen, "tanh", "", {sp}, [](auto& x) { return fh::tanh(x[0]); }));
  cases.push_back(make_case(gen, "sigmoid", "", {sp}, [](auto& x) { return fh::sigmoid(x[0]); }));
  cases.push_back(make_case(gen, "sqrt", "", {sp}, [](auto& x) { return fh::sqrt(x[0]); }));
  cases.push_back(make_case(gen, "clamp", "{\"lo\":-0.5,\"hi\":0.25}", {sp}, [](auto& x) { return fh::clamp(x[0], -0.5, 0.25); }));
  // lo > hi: PyTorch gives hi everywhere.
  cases.push_back(make_case(gen, "clamp", "{\"lo\":0.5,\"hi\":-0.25}", {sp}, [](auto& x) { return fh::clamp(x[0], 0.5, -0.25); }));

  // acos near and beyond ±1, and exactly at the float32 bounds ±(1 - 1e-7) of the gaze loss.
  const float below_one = static_cast<float>(1.0 - 1e-7);
  const std::vector<float> cosines = {1.0f, -1.0f, below_one, -below_one, 1.5f, -1.5f, 0.999f, -0.999f, 0.0f, 0.3f, nan};
  const Tensor cs = Tensor::from_vector<float>(cosines, {static_cast<int64_t>(cosines.size())});
  cases.push_back(make_case(gen, "acos_clamped", "{\"eps\":1e-7}", {cs}, [](auto& x) { return fh::acos_clamped(x[0], 1e-7); }));
  cases.push_back(make_case(gen, "acos", "", {cs}, [](auto& x) { return fh::acos(x[0]); }));

  // Softmax: large magnitudes (only max subtraction keeps exp finite), -inf entries (weight
  // 0), equal entries, a row holding +inf (NaN), rows of length 1.
  const std::vector<float> logits = {80, -80, 85, 0, -inf, 3, 3, 3, 3, 3, -1e4f, 1e4f, inf, 1, 2};
  const Tensor lg = Tensor::from_vector<float>(logits, {3, 5});
  cases.push_back(make_case(gen, "softmax", dim_json(1), {lg}, [](auto& x) { return fh::softmax(x[0], 1); }));
  cases.push_back(make_case(gen, "softmax", dim_json(0), {lg.view({3, 5, 1})}, [](auto& x) { return fh::softmax(x[0], 0); }));
  cases.push_back(make_case(gen, "softmax", dim_json(-1), {lg.view({15, 1})}, [](auto& x) { return fh::softmax(x[0], -1); }));

  // Losses at their kinks: a == b for l1, d == ±1 for the hinges (relu'(0) = 0).
  const Tensor a = Tensor::from_vector<float>({0.5f, -1.0f, 2.0f, 0.0f, 3.0f, -0.0f}, {2, 3});
  const Tensor b = Tensor::from_vector<float>({0.5f, -1.0f, 1.0f, 0.0f, 4.0f, 0.0f}, {2, 3});
  const Tensor d = Tensor::from_vector<float>({1.0f, -1.0f, 0.0f, 2.0f, -2.0f, 0.999f}, {2, 3});
  cases.push_back(make_case(gen, "l1_loss", "", {a, b}, [](auto& x) { return fh::l1_loss(x[0], x[1]); }));
  cases.push_back(make_case(gen, "mse_loss", "", {a, b}, [](auto& x) { return fh::mse_loss(x[0], x[1]); }));
  cases.push_back(make_case(gen, "hinge_real", "", {d}, [](auto& x) { return fh::hinge_real(x[0]); }));
  cases.push_back(make_case(gen, "hinge_fake", "", {d}, [](auto& x) { return fh::hinge_fake(x[0]); }));
  cases.push_back(make_case(gen, "hinge_generator", "", {d}, [](auto& x) { return fh::hinge_generator(x[0]); }));
  check_cases(cases);
}
