// Normalisation ops (batch norm, instance norm, SPADE modulation): PyTorch's refusal of a
// single value per statistic, matched; zero-variance channels; empty images; error
// messages; bit-identical results whatever the thread count. The gradient checks, PyTorch
// parity (running statistics included) and the CPU/CUDA comparison are the op table's
// (tests/ops/norm_cases.cpp).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "runtime/thread_pool.h"
#include "tests/harness/gradcheck.h"
#include "tests/harness/oracle.h"
#include "tests/harness/parity.h"
#include "tests/harness/random_inputs.h"
#include "tests/harness/tolerance.h"

using fh::DType;
using fh::Shape;
using fh::Tensor;
using namespace fh::test;

// ---- Edges, errors, determinism -------------------------------------------------------------

TEST_CASE("normalisation refuses one value per statistic, as PyTorch does") {
  // F.instance_norm (so SPADE too) raises for H·W = 1 and F.batch_norm in training mode for
  // N·H·W = 1: a single value has no spread to normalise by.
  const Tensor pixel = Tensor::ones({2, 1, 1, 3});
  CHECK_THROWS_WITH_AS(fh::instance_norm2d(pixel),
                       doctest::Contains("instance_norm2d: needs more than 1 spatial element per channel"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::spade_modulation(pixel, pixel, pixel),
                       doctest::Contains("spade_modulation: needs more than 1 spatial element per channel"), fh::Error);
  const Tensor single = Tensor::ones({1, 1, 1, 3});
  CHECK_THROWS_WITH_AS(fh::batch_norm2d(single, Tensor(), Tensor(), Tensor(), Tensor(), true),
                       doctest::Contains("batch_norm2d: training needs more than 1 value per channel"), fh::Error);
  // Eval mode normalises a single value with the running statistics.
  const Tensor rm = Tensor::full({3}, 0.5), rv = Tensor::full({3}, 4.0);
  CHECK(fh::batch_norm2d(single, Tensor(), Tensor(), rm, rv, false).to_vector<float>()[0] ==
        doctest::Approx(0.5 / std::sqrt(4.0 + 1e-5)));

  std::string why;
  if (!oracle_available(&why)) {
    MESSAGE("[fh skip] PyTorch oracle unavailable: " << why);
    return;
  }
  OracleCase in;
  in.op = "instance_norm";
  in.inputs = {pixel};
  in.requires_grad = {false};
  in.nhwc = {true};
  in.nhwc_output = true;
  in.grad_output = pixel;
  CHECK_THROWS_WITH_AS(run_oracle({in}), doctest::Contains("Expected more than 1 spatial element"), fh::Error);
  OracleCase bn = in;
  bn.op = "batch_norm_train";
  bn.inputs = {single};
  bn.grad_output = single;
  CHECK_THROWS_WITH_AS(run_oracle({bn}), doctest::Contains("Expected more than 1 value per channel"), fh::Error);
}

TEST_CASE("zero-variance channels normalise to the bias exactly") {
  // Channel 1 is a constant that no binary fraction represents: the statistics still find
  // x - mean = 0 exactly (they are summed relative to the first value), so out = bias.
  fh::Generator gen(run_seed());
  const Shape s{2, 3, 3, 4};
  std::vector<float> v = fh::randn(s, gen).to_vector<float>();
  for (size_t i = 1; i < v.size(); i += 4) v[i] = 0.3f;
  const Tensor x = Tensor::from_vector(v, s);
  const Tensor w = fh::randn({4}, gen), b = fh::randn({4}, gen);
  const Tensor gamma = fh::randn(s, gen), beta = fh::randn(s, gen);
  const std::vector<float> bias = b.to_vector<float>(), shift = beta.to_vector<float>();
  const std::vector<float> in = fh::instance_norm2d(x, w, b).to_vector<float>();
  const std::vector<float> bn = fh::batch_norm2d(x, w, b, Tensor(), Tensor(), true).to_vector<float>();
  const std::vector<float> spade = fh::spade_modulation(x, gamma, beta).to_vector<float>();
  for (size_t i = 1; i < v.size(); i += 4) {
    CHECK(in[i] == bias[1]);
    CHECK(bn[i] == bias[1]);
    CHECK(spade[i] == shift[i]);
  }
  // Gradients there: x̂ = 0, so grad_gamma = 0 exactly, and grad_x = (gh - mean gh)/sqrt(eps)
  // with gh = grad·(1 + gamma), checked against float64 on the same values.
  Tensor xg = x.clone().requires_grad_(), gg = gamma.clone().requires_grad_();
  const Tensor grad = fh::randn(s, gen);
  fh::spade_modulation(xg, gg, beta).backward(grad);
  const std::vector<float> grad_gamma = gg.grad().to_vector<float>();
  for (size_t i = 1; i < v.size(); i += 4) CHECK(grad_gamma[i] == 0.0f);
  Tensor x64 = x.to(DType::F64).requires_grad_();
  fh::spade_modulation(x64, gamma.to(DType::F64), beta.to(DType::F64)).backward(grad.to(DType::F64));
  // In the constant channel the float32 rounding of gh and of its mean over the n = H·W
  // pixels is divided by sqrt(0 + eps) ≈ 3.2e-3, not by a standard deviation near 1, so its
  // tolerance follows from that: |δ| ≤ (2·max|gh| + (n+1)·mean|gh|)·u/sqrt(eps) + 3u·|ref|,
  // |gh| bounded by |grad|·(1 + |gamma|), u = 2^-24. The other channels keep 1e-5 + 1e-5·|ref|.
  const std::vector<float> got = xg.grad().to_vector<float>(), g = grad.to_vector<float>(),
                           gm = gamma.to_vector<float>();
  const std::vector<double> want = x64.grad().to_vector<double>();
  std::vector<float> got_flat, got_other;
  std::vector<double> want_flat, want_other;
  double max_gh = 0, sum_gh = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const bool flat = i % 4 == 1;
    (flat ? got_flat : got_other).push_back(got[i]);
    (flat ? want_flat : want_other).push_back(want[i]);
    if (flat) {
      const double gh = std::abs(g[i]) * (1 + std::abs(gm[i]));
      max_gh = std::max(max_gh, gh);
      sum_gh += gh;
    }
  }
  const double u = std::ldexp(1.0, -24), n = 9, mean_gh = sum_gh / got_flat.size();
  const Tolerance flat_tol{(2 * max_gh + (n + 1) * mean_gh) * u / std::sqrt(1e-5), 3 * u};
  const int64_t flat_n = static_cast<int64_t>(got_flat.size()), other_n = static_cast<int64_t>(got_other.size());
  FH_CHECK_CLOSE(Tensor::from_vector(got_flat, {flat_n}), Tensor::from_vector(want_flat, {flat_n}), flat_tol,
                 "spade grad_x in the zero-variance channel");
  FH_CHECK_CLOSE(Tensor::from_vector(got_other, {other_n}), Tensor::from_vector(want_other, {other_n}),
                 (Tolerance{1e-5, 1e-5}), "spade grad_x in the other channels");
}

TEST_CASE("normalisation of empty images gives empty outputs and zero parameter gradients") {
  Tensor x = Tensor::zeros({0, 3, 3, 4}).requires_grad_(), w = Tensor::ones({4}).requires_grad_();
  Tensor b = Tensor::zeros({4}).requires_grad_();
  const Tensor out = fh::instance_norm2d(x, w, b);
  CHECK(out.shape() == Shape{0, 3, 3, 4});
  fh::sum(out).backward();
  CHECK(x.grad().shape() == Shape{0, 3, 3, 4});
  CHECK(w.grad().to_vector<float>() == std::vector<float>(4, 0.0f));
  CHECK(b.grad().to_vector<float>() == std::vector<float>(4, 0.0f));
  const Tensor none = Tensor::zeros({2, 3, 3, 0});
  CHECK(fh::spade_modulation(none, none, none).shape() == Shape{2, 3, 3, 0});
  CHECK(fh::batch_norm2d(none, Tensor(), Tensor(), Tensor(), Tensor(), true).shape() == Shape{2, 3, 3, 0});
}

TEST_CASE("normalisation errors name the op and every shape") {
  const Tensor x = Tensor::zeros({2, 3, 3, 5});
  const Tensor c5 = Tensor::ones({5}), c4 = Tensor::ones({4});
  CHECK_THROWS_WITH_AS(fh::batch_norm2d(Tensor::zeros({2, 3, 5}), c5, c5, Tensor(), Tensor(), true),
                       doctest::Contains("batch_norm2d: x [2, 3, 5] must be a 4-d NHWC image batch [N, H, W, C]"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::batch_norm2d(x, c4, c5, Tensor(), Tensor(), true),
                       doctest::Contains("batch_norm2d: weight must be [C] = [5] for x [2, 3, 3, 5], got [4] (x [2, 3, "
                                         "3, 5], weight [4], bias [5], running_mean none, running_var none)"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::batch_norm2d(x, c5, c5, c5, c4, true),
                       doctest::Contains("running_var must be [C] = [5] for x [2, 3, 3, 5], got [4]"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::batch_norm2d(x, c5, c5, Tensor(), Tensor(), false),
                       doctest::Contains("batch_norm2d: eval mode normalises with the running statistics, which are "
                                         "missing (x [2, 3, 3, 5], weight [5], bias [5], running_mean none"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::batch_norm2d(x, c5, c5, Tensor::zeros({5}).requires_grad_(), c5, true),
                       doctest::Contains("running statistics are buffers"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::instance_norm2d(x, Tensor::ones({5}, DType::F64), Tensor()),
                       doctest::Contains("instance_norm2d: operands have different dtypes: [2, 3, 3, 5] float32 cpu "
                                         "and [5] float64 cpu"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::instance_norm2d(x, c5, c4),
                       doctest::Contains("instance_norm2d: bias must be [C] = [5] for x [2, 3, 3, 5], got [4]"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::instance_norm2d(Tensor::zeros({2, 3, 3, 5}, DType::I64)),
                       doctest::Contains("instance_norm2d: needs float32 or float64"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::spade_modulation(x, Tensor::zeros({2, 3, 3, 4}), x),
                       doctest::Contains("spade_modulation: gamma [2, 3, 3, 4] and beta [2, 3, 3, 5] must both match x "
                                         "[2, 3, 3, 5]"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::instance_norm2d(x, Tensor(), Tensor(), -1.0),
                       doctest::Contains("instance_norm2d: eps must be finite and >= 0, got -1"), fh::Error);
}

namespace {

// Outputs and every gradient of the three ops on fixed inputs, concatenated.
std::vector<float> norm_results(uint64_t seed) {
  fh::Generator gen(seed);
  // Every statistic summed in many pieces; instance norm and SPADE take one image at a time.
  const Shape s{2, 128, 128, 64};
  auto input = [&](const Shape& shape) { return fh::randn(shape, gen).requires_grad_(); };
  Tensor x = input(s), w = input({64}), b = input({64}), gamma = input(s), beta = input(s);
  const Tensor rm = Tensor::zeros({64}), rv = Tensor::ones({64});
  const Tensor grad = fh::randn(s, gen);
  std::vector<float> all;
  auto keep = [&](const Tensor& t) {
    const std::vector<float> v = t.to_vector<float>();
    all.insert(all.end(), v.begin(), v.end());
  };
  for (int op = 0; op < 3; ++op) {
    for (Tensor* t : {&x, &w, &b, &gamma, &beta}) t->zero_grad();
    const Tensor out = op == 0   ? fh::batch_norm2d(x, w, b, rm, rv, true)
                       : op == 1 ? fh::instance_norm2d(x, w, b)
                                 : fh::spade_modulation(x, gamma, beta);
    out.backward(grad);
    keep(out);
    for (const Tensor* t : {&x, &w, &b, &gamma, &beta})
      if (t->grad().defined()) keep(t->grad());
  }
  keep(rm);
  keep(rv);
  return all;
}

}  // namespace

TEST_CASE("normalisation is bit-identical whatever the thread count") {
  const int before = fh::num_threads();
  fh::set_num_threads(1);
  const std::vector<float> reference = norm_results(7);
  for (int threads : {1, 2, 3, 4, 7}) {
    fh::set_num_threads(threads);
    const std::vector<float> again = norm_results(7);
    INFO("threads " << threads);
    CHECK(again.size() == reference.size());
    CHECK(std::memcmp(again.data(), reference.data(), reference.size() * sizeof(float)) == 0);
  }
  fh::set_num_threads(before);
}
