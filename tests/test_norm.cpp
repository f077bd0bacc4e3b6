// Normalisation ops (batch norm, instance norm, SPADE modulation): float64 gradient checks
// of every differentiable input; PyTorch parity on random float32 inputs (outputs,
// input gradients and the running-statistic update); PyTorch's refusal of a single value
// per statistic, matched; error messages; bit-identical results whatever the thread count.
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

namespace {

// A random NHWC shape: N, H, W in [1, max_nhw], C in [1, max_c], size 1 often, kept only
// when `ok` accepts it (each op needs more than one value per statistic).
Shape image_shape(fh::Generator& gen, int64_t max_nhw, int64_t max_c, const std::function<bool(const Shape&)>& ok) {
  for (;;) {
    Shape s = random_shape(gen, 3, max_nhw);
    s.push_back(rand_int(gen, 0, 3) == 0 ? 1 : rand_int(gen, 1, max_c));
    if (ok(s)) return s;
  }
}
bool several_per_channel(const Shape& s) { return s[0] * s[1] * s[2] > 1; }
bool several_pixels(const Shape& s) { return s[1] * s[2] > 1; }

// Input i, or an undefined tensor when the op was called without it.
Tensor arg(const std::vector<Tensor>& in, size_t i) { return i < in.size() ? in[i] : Tensor(); }

Tensor leaf(const Shape& s, fh::Generator& gen, double lo = -2.0, double hi = 2.0) {
  return random_leaf(s, gen, lo, hi);
}

void expect_gradcheck(const Function& fn, const std::vector<Tensor>& inputs, const std::string& what,
                      double eps = 1e-6) {
  GradcheckOptions opts;
  opts.eps = eps;
  check_gradients(fn, inputs, what, opts);
}

constexpr int kTrials = 8;

}  // namespace

// ---- Gradient checks ------------------------------------------------------------------------

TEST_CASE("gradcheck: batch_norm2d in training mode, with and without affine and running statistics") {
  fh::Generator gen(run_seed());
  for (int trial = 0; trial < kTrials; ++trial) {
    const Shape s = image_shape(gen, 4, 5, several_per_channel);
    const int64_t C = s[3];
    const bool affine = trial % 2 == 0, running = trial % 4 < 2;
    std::vector<Tensor> inputs{leaf(s, gen)};
    if (affine) inputs.push_back(leaf({C}, gen, 0.5, 1.5)), inputs.push_back(leaf({C}, gen));
    // Running statistics are updated by every evaluation; they must not change the output.
    Tensor rm = running ? fh::rand({C}, gen, -1, 1, DType::F64) : Tensor();
    Tensor rv = running ? fh::rand({C}, gen, 0.5, 2, DType::F64) : Tensor();
    expect_gradcheck([&](auto& in) { return fh::batch_norm2d(in[0], arg(in, 1), arg(in, 2), rm, rv, true); }, inputs,
                     "batch_norm2d training " + s.str() + (affine ? " affine" : "") + (running ? " running" : ""));
  }
}

TEST_CASE("gradcheck: batch_norm2d in eval mode") {
  fh::Generator gen(run_seed());
  for (int trial = 0; trial < kTrials; ++trial) {
    const Shape s = image_shape(gen, 4, 5, [](const Shape&) { return true; });
    const int64_t C = s[3];
    const bool affine = trial % 2 == 0;
    std::vector<Tensor> inputs{leaf(s, gen)};
    if (affine) inputs.push_back(leaf({C}, gen, 0.5, 1.5)), inputs.push_back(leaf({C}, gen));
    const Tensor rm = fh::rand({C}, gen, -1, 1, DType::F64), rv = fh::rand({C}, gen, 0.5, 2, DType::F64);
    expect_gradcheck([&](auto& in) { return fh::batch_norm2d(in[0], arg(in, 1), arg(in, 2), rm, rv, false); }, inputs,
                     "batch_norm2d eval " + s.str() + (affine ? " affine" : ""));
  }
}

TEST_CASE("gradcheck: instance_norm2d with and without affine") {
  fh::Generator gen(run_seed());
  for (int trial = 0; trial < kTrials; ++trial) {
    const Shape s = image_shape(gen, 4, 5, several_pixels);
    const int64_t C = s[3];
    const bool affine = trial % 2 == 0;
    std::vector<Tensor> inputs{leaf(s, gen)};
    if (affine) inputs.push_back(leaf({C}, gen, 0.5, 1.5)), inputs.push_back(leaf({C}, gen));
    expect_gradcheck([&](auto& in) { return fh::instance_norm2d(in[0], arg(in, 1), arg(in, 2)); }, inputs,
                     "instance_norm2d " + s.str() + (affine ? " affine" : ""));
  }
}

TEST_CASE("gradcheck: spade_modulation") {
  fh::Generator gen(run_seed());
  for (int trial = 0; trial < kTrials; ++trial) {
    const Shape s = image_shape(gen, 4, 5, several_pixels);
    expect_gradcheck([](auto& in) { return fh::spade_modulation(in[0], in[1], in[2]); },
                     {leaf(s, gen), leaf(s, gen, -1, 1), leaf(s, gen, -1, 1)}, "spade_modulation " + s.str());
  }
}

TEST_CASE("gradcheck: normalisation with only some inputs requiring grad") {
  // Each backward computes only the gradients asked for; every subset must still be right.
  fh::Generator gen(run_seed());
  const Shape s{2, 3, 2, 5};
  for (int mask = 1; mask < 8; ++mask) {
    auto input = [&](int i, const Shape& shape, double lo, double hi) {
      Tensor t = fh::rand(shape, gen, lo, hi, DType::F64);
      return (mask >> i) & 1 ? t.requires_grad_() : t;
    };
    const std::vector<Tensor> norm_inputs{input(0, s, -2, 2), input(1, {5}, 0.5, 1.5), input(2, {5}, -1, 1)};
    const std::vector<Tensor> spade_inputs{input(0, s, -2, 2), input(1, s, -1, 1), input(2, s, -1, 1)};
    const Tensor rm = fh::rand({5}, gen, -1, 1, DType::F64), rv = fh::rand({5}, gen, 0.5, 2, DType::F64);
    const std::string what = " requires_grad mask " + std::to_string(mask);
    expect_gradcheck([&](auto& in) { return fh::batch_norm2d(in[0], in[1], in[2], Tensor(), Tensor(), true); },
                     norm_inputs, "batch_norm2d training" + what);
    expect_gradcheck([&](auto& in) { return fh::batch_norm2d(in[0], in[1], in[2], rm, rv, false); }, norm_inputs,
                     "batch_norm2d eval" + what);
    expect_gradcheck([](auto& in) { return fh::instance_norm2d(in[0], in[1], in[2]); }, norm_inputs,
                     "instance_norm2d" + what);
    expect_gradcheck([](auto& in) { return fh::spade_modulation(in[0], in[1], in[2]); }, spade_inputs,
                     "spade_modulation" + what);
  }
}

TEST_CASE("gradcheck: normalisation of an image large enough to be summed in pieces") {
  // 38400 values per image, 76800 per channel: both statistics are summed in several pieces.
  // The checked loss sums 76800 products, rounded to ~1e-11; a step of 1e-4 (not 1e-6)
  // keeps that rounding over 2·eps well below the tolerance, and these functions are smooth
  // enough for the step's own error to stay smaller still.
  fh::Generator gen(run_seed());
  const Shape s{2, 40, 40, 24};
  constexpr double kEps = 1e-4;
  const std::vector<Tensor> norm_inputs{leaf(s, gen), leaf({24}, gen, 0.5, 1.5), leaf({24}, gen)};
  expect_gradcheck([](auto& in) { return fh::batch_norm2d(in[0], in[1], in[2], Tensor(), Tensor(), true); },
                   norm_inputs, "batch_norm2d training " + s.str(), kEps);
  expect_gradcheck([](auto& in) { return fh::instance_norm2d(in[0], in[1], in[2]); }, norm_inputs,
                   "instance_norm2d " + s.str(), kEps);
  expect_gradcheck([](auto& in) { return fh::spade_modulation(in[0], in[1], in[2]); },
                   {leaf(s, gen), leaf(s, gen, -1, 1), leaf(s, gen, -1, 1)}, "spade_modulation " + s.str(), kEps);
}

// ---- PyTorch parity ---------------------------------------------------------------------------

namespace {

// inputs[0] is the image x; `images` says which other inputs are NHWC images too.
ParityCase parity_case(fh::Generator& gen, std::string op, std::string args, std::vector<Tensor> inputs,
                       std::vector<bool> requires_grad, std::vector<bool> images,
                       std::function<Tensor(const std::vector<Tensor>&)> ours, Tolerance tol,
                       Tolerance channel_sum_tol, bool image_output = true) {
  ParityCase c;
  c.oracle.op = std::move(op);
  c.oracle.args_json = std::move(args);
  c.oracle.inputs = std::move(inputs);
  c.oracle.requires_grad = std::move(requires_grad);
  c.oracle.nhwc = std::move(images);
  c.oracle.nhwc_output = image_output;
  fh::NoGradGuard no_grad;
  c.oracle.grad_output = fh::randn(ours(c.oracle.inputs).shape(), gen);
  c.ours = std::move(ours);
  c.tol = tol;
  // Gradients of per-channel parameters (1-d) are sums over pixels: their own tolerance.
  for (const Tensor& t : c.oracle.inputs) c.grad_tol.push_back(t.dim() == 1 ? channel_sum_tol : tol);
  return c;
}

std::string bool_json(bool b) { return b ? "true" : "false"; }

// Outputs and image gradients: a few ulps of their size, plus the error of the statistics
// behind them, which PyTorch sums in float32 (here: in double) over M terms and which grows
// like the square root of M (as a dot product's).
Tolerance elementwise_tolerance(int64_t terms) { return {2e-6 * std::sqrt(static_cast<double>(terms)), 2e-5}; }
// Gradients of weight and bias: sums of n = N·H·W terms of size ~1, which PyTorch adds in
// float32 and can miss by ~u·n (u = 6e-8) where double accumulation here is exact.
Tolerance channel_sum_tolerance(int64_t terms) { return {2.5e-7 * static_cast<double>(terms), 2e-5}; }
// For offset_image: x - mean is known to an ulp of |x| ≈ 40, 3.8e-6 of the unit spread, on
// each side.
constexpr Tolerance kOffsetTolerance{2e-5, 2e-5};
// For zero_variance_image: in a constant channel grad_x = (g - mean g)·w/sqrt(eps), so an
// ulp of g - mean g (~1e-7), on each side, becomes ~3e-5 after the factor 1/sqrt(eps) ≈ 316.
constexpr Tolerance kZeroVarianceTolerance{2e-4, 2e-5};

// Batch norm over x; the inputs are x, weight and bias (when affine), running_mean and
// running_var (when running; never differentiated). stats_only: the case compares the
// running statistics after one training call instead of the output.
ParityCase batch_norm_case(fh::Generator& gen, const Tensor& x, bool training, bool affine, bool running,
                           double momentum, bool stats_only = false) {
  const int64_t C = x.size(3);
  std::vector<Tensor> inputs{x};
  if (affine) inputs.push_back(fh::randn({C}, gen)), inputs.push_back(fh::randn({C}, gen));
  if (running) inputs.push_back(fh::randn({C}, gen, 0.0, 0.5)), inputs.push_back(fh::rand({C}, gen, 0.5, 2.0));
  std::vector<bool> grads(inputs.size(), !stats_only), images(inputs.size(), false);
  images[0] = true;
  if (running) grads[grads.size() - 1] = grads[grads.size() - 2] = false;
  const size_t stats_at = affine ? 3 : 1;
  auto ours = [=](const std::vector<Tensor>& in) {
    // Our running statistics are updated in place: work on copies of the case's.
    Tensor rm = running ? in[stats_at].clone() : Tensor(), rv = running ? in[stats_at + 1].clone() : Tensor();
    Tensor w = affine ? in[1] : Tensor(), b = affine ? in[2] : Tensor();
    Tensor out = fh::batch_norm2d(in[0], w, b, rm, rv, training, momentum);
    if (!stats_only) return out;
    std::vector<float> both = rm.to_vector<float>(), var = rv.to_vector<float>();
    both.insert(both.end(), var.begin(), var.end());
    return Tensor::from_vector(both, {2 * C});
  };
  const std::string op = stats_only ? "batch_norm_running_stats" : training ? "batch_norm_train" : "batch_norm_eval";
  const std::string args = "{\"affine\":" + bool_json(affine) + ",\"running\":" + bool_json(running) +
                           ",\"momentum\":" + std::to_string(momentum) + "}";
  const int64_t pixels = x.size(0) * x.size(1) * x.size(2);
  return parity_case(gen, op, args, inputs, grads, images, ours, elementwise_tolerance(training ? pixels : 1),
                     channel_sum_tolerance(pixels), !stats_only);
}

ParityCase instance_norm_case(fh::Generator& gen, const Tensor& x, bool affine) {
  const int64_t C = x.size(3);
  std::vector<Tensor> inputs{x};
  if (affine) inputs.push_back(fh::randn({C}, gen)), inputs.push_back(fh::randn({C}, gen));
  std::vector<bool> images(inputs.size(), false);
  images[0] = true;
  auto ours = [](const std::vector<Tensor>& in) { return fh::instance_norm2d(in[0], arg(in, 1), arg(in, 2)); };
  return parity_case(gen, "instance_norm", "{\"affine\":" + bool_json(affine) + "}", inputs,
                     std::vector<bool>(inputs.size(), true), images, ours, elementwise_tolerance(x.size(1) * x.size(2)),
                     channel_sum_tolerance(x.size(0) * x.size(1) * x.size(2)));
}

ParityCase spade_case(fh::Generator& gen, const Tensor& x) {
  const Shape s = x.shape();
  auto ours = [](const std::vector<Tensor>& in) { return fh::spade_modulation(in[0], in[1], in[2]); };
  return parity_case(gen, "spade_modulation", "", {x, fh::randn(s, gen, 0.0, 0.5), fh::randn(s, gen)},
                     {true, true, true}, {true, true, true}, ours, elementwise_tolerance(s[1] * s[2]),
                     elementwise_tolerance(s[1] * s[2]));
}

// Random x whose every statistic (per channel over N,H,W for batch norm, per (n, c) over H,W
// for the instance norms) has a mean drawn from N(0, 1) and a spread from [0.5, 2]. The
// float32 normalisation of such values is well-conditioned (|x|·invstd stays small), so
// both sides' errors stay at a few ulps and fixed tolerances hold on every run; with plain
// random values two nearly equal pixels (H·W = 2) would make a channel's x - mean as
// uncertain as the ulps of x, on both sides. Ill-conditioned inputs have their own cases.
Tensor conditioned_image(fh::Generator& gen, const Shape& s, bool per_instance) {
  std::vector<double> v = fh::randn(s, gen, 0.0, 1.0, DType::F64).to_vector<double>();
  const int64_t C = s[3], G = per_instance ? s[0] : 1, R = s[0] * s[1] * s[2] / G;
  const std::vector<double> means = fh::randn({G * C}, gen, 0.0, 1.0, DType::F64).to_vector<double>();
  const std::vector<double> spreads = fh::rand({G * C}, gen, 0.5, 2.0, DType::F64).to_vector<double>();
  for (int64_t g = 0; g < G; ++g)
    for (int64_t c = 0; c < C; ++c) {
      double sum = 0, sq = 0;
      for (int64_t r = 0; r < R; ++r) sum += v[(g * R + r) * C + c];
      const double mean = sum / static_cast<double>(R);
      for (int64_t r = 0; r < R; ++r) sq += (v[(g * R + r) * C + c] - mean) * (v[(g * R + r) * C + c] - mean);
      const double sd = std::sqrt(sq / static_cast<double>(R));
      if (sd == 0) continue;  // one value per statistic (eval-mode batch norm): keep it
      for (int64_t r = 0; r < R; ++r) {
        double& x = v[(g * R + r) * C + c];
        x = means[g * C + c] + spreads[g * C + c] * (x - mean) / sd;
      }
    }
  return Tensor::from_vector(std::vector<float>(v.begin(), v.end()), s);
}

// Every other channel constant (zero variance: x̂ = 0, so out = bias); the constant is 0,
// the one value whose float32 mean PyTorch gets exactly (its mean of another constant can
// be an ulp off, which 1/sqrt(eps) ≈ 316 turns into an error of 1e-5 in x̂; our exact
// handling of nonzero constants is checked without PyTorch below).
Tensor zero_variance_image(fh::Generator& gen, const Shape& s) {
  std::vector<float> v = fh::randn(s, gen).to_vector<float>();
  for (size_t i = 0; i < v.size(); ++i)
    if ((i % s[3]) % 2 == 1) v[i] = 0.0f;
  return Tensor::from_vector(v, s);
}

// A mean far from 0 next to the spread (|x|·invstd ≈ 45): the statistics must not lose the
// variance to cancellation. In float32 x - mean then carries errors of an ulp of 40, on
// both sides, which the caller's tolerance allows for.
Tensor offset_image(fh::Generator& gen, const Shape& s) { return fh::randn(s, gen, 40.0, 1.0); }

std::vector<ParityCase> build_parity_cases(fh::Generator& gen) {
  std::vector<ParityCase> cases;
  auto per_channel = [&](const Shape& s) { return conditioned_image(gen, s, false); };
  auto per_instance = [&](const Shape& s) { return conditioned_image(gen, s, true); };
  // Random shapes: odd sizes, N = 1, C = 1, H = W = 1 where the op allows it; C up to 40
  // crosses the 16-channel register tiles.
  for (int trial = 0; trial < 10; ++trial) {
    const bool affine = trial % 2 == 0, running = trial % 4 < 2;
    const double momentum = trial % 3 == 0 ? 0.1 : 0.3;
    const Shape sb = image_shape(gen, 7, 40, several_per_channel);
    cases.push_back(batch_norm_case(gen, per_channel(sb), true, affine, running, momentum));
    cases.push_back(batch_norm_case(gen, per_channel(sb), true, affine, true, momentum, /*stats_only=*/true));
    const Shape se = image_shape(gen, 7, 40, [](const Shape&) { return true; });
    cases.push_back(batch_norm_case(gen, fh::randn(se, gen), false, affine, true, momentum));
    const Shape si = image_shape(gen, 7, 40, several_pixels);
    cases.push_back(instance_norm_case(gen, per_instance(si), affine));
    cases.push_back(spade_case(gen, per_instance(si)));
  }
  // Edges: one value per channel in eval mode; one pixel per batch element in training; the
  // fewest pixels instance norm accepts; size-1 channels.
  cases.push_back(batch_norm_case(gen, fh::randn({1, 1, 1, 4}, gen), false, true, true, 0.1));
  cases.push_back(batch_norm_case(gen, per_channel({3, 1, 1, 5}), true, true, true, 0.1));
  cases.push_back(batch_norm_case(gen, per_channel({3, 1, 1, 5}), true, true, true, 0.1, true));
  cases.push_back(batch_norm_case(gen, per_channel({1, 2, 1, 1}), true, false, true, 0.1));
  cases.push_back(instance_norm_case(gen, per_instance({1, 1, 2, 1}), true));
  cases.push_back(instance_norm_case(gen, per_instance({3, 2, 1, 6}), false));
  cases.push_back(spade_case(gen, per_instance({1, 2, 1, 3})));
  cases.push_back(spade_case(gen, per_instance({2, 1, 3, 1})));
  // Zero-variance channels, and a large mean.
  const Shape sa{2, 5, 3, 7};
  for (ParityCase c : {batch_norm_case(gen, zero_variance_image(gen, sa), true, true, true, 0.1),
                       batch_norm_case(gen, zero_variance_image(gen, sa), true, true, true, 0.1, true),
                       instance_norm_case(gen, zero_variance_image(gen, sa), true),
                       spade_case(gen, zero_variance_image(gen, sa))}) {
    c.tol = kZeroVarianceTolerance;
    cases.push_back(c);
  }
  for (ParityCase c : {batch_norm_case(gen, offset_image(gen, sa), true, true, true, 0.1),
                       batch_norm_case(gen, offset_image(gen, sa), true, true, true, 0.1, true),
                       instance_norm_case(gen, offset_image(gen, sa), true), spade_case(gen, offset_image(gen, sa))}) {
    c.tol = kOffsetTolerance;
    cases.push_back(c);
  }
  // Large enough that each statistic is summed in several pieces; the last two are big
  // enough (a million elements per image) to be scheduled one image at a time.
  cases.push_back(batch_norm_case(gen, per_channel({3, 33, 31, 20}), true, true, true, 0.1));
  cases.push_back(batch_norm_case(gen, per_channel({3, 33, 31, 20}), true, false, true, 0.1, true));
  cases.push_back(instance_norm_case(gen, per_instance({2, 64, 65, 33}), true));
  cases.push_back(spade_case(gen, per_instance({2, 64, 65, 33})));
  cases.push_back(instance_norm_case(gen, per_instance({2, 128, 128, 64}), true));
  cases.push_back(spade_case(gen, per_instance({2, 128, 128, 64})));
  return cases;
}

}  // namespace

TEST_CASE("PyTorch parity: batch_norm2d, instance_norm2d, spade_modulation and running statistics") {
  if (skip_without_oracle()) return;
  fh::Generator gen(run_seed());
  const std::vector<ParityCase> cases = build_parity_cases(gen);
  double worst = 0;
  if (run_parity(cases, &worst)) MESSAGE(cases.size() << " normalisation cases against PyTorch; worst error " << worst << " of threshold");
}

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
