// The normalisation family's cases: batch norm (training, with and without running
// statistics, and eval), instance norm, and SPADE's fused modulation, NHWC. A batch-norm
// case lists its inputs as x, then weight and bias when affine, then running_mean and
// running_var when running (never differentiated; the op works on copies of them, which it
// updates in place). A "running statistics" case outputs cat(running_mean, running_var)
// after one training call instead of the normalised image.
//
// Tolerances against PyTorch, float32: outputs and image gradients a few ulps of their
// size plus the error of the statistics behind them, which PyTorch sums in float32 (here in
// double) over M terms, growing like √M: atol 2e-6·√M. Gradients of weight and bias are sums
// of N·H·W terms of size ~1, which PyTorch adds in float32 and can miss by ~u·n: atol
// 2.5e-7·n. Ill-conditioned inputs have their own (zero variance, a large mean: see below).
// Between the devices: both sum the statistics in double in different orders and nvcc fuses
// (x - mean)·scale + shift into one rounding: a few float ulp of unit-size outputs; the
// parameter gradients are sums over N·H·W terms in different orders, growing like √(N·H·W).
#include <cmath>
#include <functional>

#include "autograd/norm.h"
#include "autograd/shape_ops.h"
#include "tests/harness/random_inputs.h"
#include "tests/ops/op_case.h"

namespace fh::test::ops {

namespace {

constexpr Tolerance kNormF32{1e-5, 1e-5}, kNormF64{1e-12, 1e-12};
constexpr Tolerance kParamGradF32{1e-4, 1e-5}, kParamGradF64{1e-10, 1e-11};
// x - mean is known to an ulp of |x| ≈ 40, 3.8e-6 of the unit spread, on each side.
constexpr Tolerance kOffsetTolerance{2e-5, 2e-5};
// In a constant channel grad_x = (g - mean g)·w/sqrt(eps): an ulp of g - mean g (~1e-7), on
// each side, becomes ~3e-5 after the factor 1/sqrt(eps) ≈ 316.
constexpr Tolerance kZeroVarianceTolerance{2e-4, 2e-5};

Tolerance elementwise_tolerance(int64_t terms) { return {2e-6 * std::sqrt(static_cast<double>(terms)), 2e-5}; }
Tolerance channel_sum_tolerance(int64_t terms) { return {2.5e-7 * static_cast<double>(terms), 2e-5}; }

// A random NHWC shape: N, H, W in [1, max_nhw], C in [1, max_c], size 1 often, kept only
// when `ok` accepts it (each op needs more than one value per statistic).
Shape image_shape(Generator& gen, int64_t max_nhw, int64_t max_c, const std::function<bool(const Shape&)>& ok) {
  for (;;) {
    Shape s = random_shape(gen, 3, max_nhw);
    s.push_back(rand_int(gen, 0, 3) == 0 ? 1 : rand_int(gen, 1, max_c));
    if (ok(s)) return s;
  }
}
bool several_per_channel(const Shape& s) { return s[0] * s[1] * s[2] > 1; }
bool several_pixels(const Shape& s) { return s[1] * s[2] > 1; }
bool any_shape(const Shape&) { return true; }

// How an image's values are drawn.
enum class Kind {
  PerChannel,    // every channel's statistic (over N, H, W) has a mean from N(0, 1) and a
                 // spread from [0.5, 2]: well-conditioned, so fixed tolerances hold
  PerInstance,   // the same per (n, c) over H, W (instance norm, SPADE)
  Plain,         // unit normals (eval-mode batch norm has no statistic to condition)
  Shifted,       // mean 3, spread 2 (the device comparison: a mean that must not cost digits)
  ZeroVariance,  // every other channel 0 (x̂ = 0: out = bias exactly, on both sides)
  Offset,        // mean 40, spread 1 (|x|·invstd ≈ 45: the variance must survive cancellation)
};

Tensor conditioned(const Shape& s, Generator& gen, bool per_instance) {
  std::vector<double> v = randn(s, gen, 0.0, 1.0, DType::F64).to_vector<double>();
  const int64_t C = s[3], G = per_instance ? s[0] : 1, R = s[0] * s[1] * s[2] / G;
  const std::vector<double> means = randn({G * C}, gen, 0.0, 1.0, DType::F64).to_vector<double>();
  const std::vector<double> spreads = rand({G * C}, gen, 0.5, 2.0, DType::F64).to_vector<double>();
  for (int64_t g = 0; g < G; ++g)
    for (int64_t c = 0; c < C; ++c) {
      double sum = 0, sq = 0;
      for (int64_t r = 0; r < R; ++r) sum += v[(g * R + r) * C + c];
      const double mean = sum / static_cast<double>(R);
      for (int64_t r = 0; r < R; ++r) sq += (v[(g * R + r) * C + c] - mean) * (v[(g * R + r) * C + c] - mean);
      const double sd = std::sqrt(sq / static_cast<double>(R));
      if (sd == 0) continue;  // one value per statistic: keep it
      for (int64_t r = 0; r < R; ++r) {
        double& x = v[(g * R + r) * C + c];
        x = means[g * C + c] + spreads[g * C + c] * (x - mean) / sd;
      }
    }
  return Tensor::from_vector(v, s);
}

Input image(Kind kind) {
  Input in;
  in.nhwc = true;
  switch (kind) {
    case Kind::Plain: break;
    case Kind::Shifted: in.a = 3.0, in.b = 2.0; break;
    case Kind::Offset: in.a = 40.0; break;
    default:
      in.values = Values::Custom;
      in.custom = [kind](const Shape& s, Generator& gen, DType t) {
        Tensor x;
        if (kind == Kind::ZeroVariance) {
          std::vector<double> v = randn(s, gen, 0.0, 1.0, DType::F64).to_vector<double>();
          for (size_t i = 0; i < v.size(); ++i)
            if ((static_cast<int64_t>(i) % s[3]) % 2 == 1) v[i] = 0.0;
          x = Tensor::from_vector(v, s);
        } else {
          x = conditioned(s, gen, kind == Kind::PerInstance);
        }
        return x.to(t);
      };
  }
  return in;
}

Input channel(double lo, double hi) { return Input{{}, Values::Uniform, lo, hi}; }

// Memory-bound work: `tensors` image-sized float32 tensors moved (per-channel vectors aside).
WorkFn images_moved(int tensors) {
  return [tensors](const std::vector<Shape>& in, const Shape&) { return Work{0, 4.0 * tensors * elements(in[0])}; };
}

// Device tolerances: outputs and image gradients kNorm, per-channel parameter gradients
// kParamGrad.
void set_device_tolerances(OpCase& c) {
  c.device_exact = c.device_grads_exact = false;
  c.device_tol_f32 = kNormF32, c.device_tol_f64 = kNormF64;
  c.device_grad_tol_f32.clear(), c.device_grad_tol_f64.clear();
  for (const Input& in : c.inputs) {
    const bool param = in.shape.size() == 1;
    c.device_grad_tol_f32.push_back(param ? kParamGradF32 : kNormF32);
    c.device_grad_tol_f64.push_back(param ? kParamGradF64 : kNormF64);
  }
}

// Tolerances against PyTorch: `terms` per statistic behind an output element.
void set_torch_tolerances(OpCase& c, int64_t terms, int64_t channel_terms) {
  c.torch_tol = elementwise_tolerance(terms);
  c.torch_grad_tol.clear();
  for (const Input& in : c.inputs)
    c.torch_grad_tol.push_back(in.shape.size() == 1 ? channel_sum_tolerance(channel_terms) : c.torch_tol);
}

std::string bool_json(bool b) { return b ? "true" : "false"; }

OpCase batch_norm_case(const Shape& s, Kind kind, bool training, bool affine, bool running, double momentum,
                       unsigned purposes, bool stats_only = false) {
  const int64_t C = s[3];
  OpCase c;
  c.op = stats_only ? "batch_norm_running_stats" : training ? "batch_norm_train" : "batch_norm_eval";
  c.args = "{\"affine\":" + bool_json(affine) + ",\"running\":" + bool_json(running) +
           ",\"momentum\":" + std::to_string(momentum) + "}";
  c.variant = std::string(training ? "train" : "eval") + (affine ? "+affine" : "") + (running ? "+running" : "");
  Input x = image(kind);
  x.shape = s;
  x.requires_grad = !stats_only;
  c.inputs = {x};
  if (affine) {
    c.inputs.push_back(channel(0.5, 1.5)), c.inputs.push_back(channel(-2, 2));
    c.inputs[1].shape = c.inputs[2].shape = {C};
    c.inputs[1].requires_grad = c.inputs[2].requires_grad = !stats_only;
  }
  if (running) {
    Input rm{{C}, Values::Normal, 0, 0.5}, rv{{C}, Values::Uniform, 0.5, 2.0};
    rm.requires_grad = rv.requires_grad = false;
    c.inputs.push_back(rm), c.inputs.push_back(rv);
  }
  c.nhwc_output = !stats_only;
  const size_t stats_at = affine ? 3 : 1;
  c.run = [=](const std::vector<Tensor>& in) {
    // The running statistics are updated in place: work on copies of the case's.
    Tensor rm = running ? in[stats_at].clone() : Tensor(), rv = running ? in[stats_at + 1].clone() : Tensor();
    const Tensor w = affine ? in[1] : Tensor(), b = affine ? in[2] : Tensor();
    const Tensor out = batch_norm2d(in[0], w, b, rm, rv, training, momentum);
    if (!stats_only) return out;
    return concat({rm.detach(), rv.detach()}, 0);
  };
  c.purposes = purposes;
  const int64_t pixels = s[0] * s[1] * s[2];
  set_torch_tolerances(c, training ? pixels : 1, pixels);
  set_device_tolerances(c);
  c.forward_work = images_moved(2);   // read x, write out
  c.backward_work = images_moved(3);  // read the gradient and x, write grad_x
  return c;
}

OpCase instance_norm_case(const Shape& s, Kind kind, bool affine, unsigned purposes) {
  OpCase c;
  c.op = "instance_norm";
  c.args = "{\"affine\":" + bool_json(affine) + "}";
  c.variant = affine ? "affine" : "";
  Input x = image(kind);
  x.shape = s;
  c.inputs = {x};
  if (affine) {
    c.inputs.push_back(channel(0.5, 1.5)), c.inputs.push_back(channel(-2, 2));
    c.inputs[1].shape = c.inputs[2].shape = {s[3]};
  }
  c.nhwc_output = true;
  c.run = [affine](const std::vector<Tensor>& in) {
    return instance_norm2d(in[0], affine ? in[1] : Tensor(), affine ? in[2] : Tensor());
  };
  c.purposes = purposes;
  set_torch_tolerances(c, s[1] * s[2], s[0] * s[1] * s[2]);
  set_device_tolerances(c);
  c.forward_work = images_moved(2);
  c.backward_work = images_moved(3);
  return c;
}

OpCase spade_case(const Shape& s, Kind kind, unsigned purposes) {
  OpCase c;
  c.op = "spade_modulation";
  Input x = image(kind), gamma{s, Values::Normal, 0, 0.5}, beta{s};
  x.shape = s;
  gamma.nhwc = beta.nhwc = true;
  c.inputs = {x, gamma, beta};
  c.nhwc_output = true;
  c.run = [](const std::vector<Tensor>& in) { return spade_modulation(in[0], in[1], in[2]); };
  c.purposes = purposes;
  set_torch_tolerances(c, s[1] * s[2], s[1] * s[2]);
  set_device_tolerances(c);
  c.forward_work = images_moved(4);   // read x, gamma, beta; write out
  c.backward_work = images_moved(5);  // read the gradient, x, gamma; write grad_x, grad_gamma
  return c;
}

// The same case with only the inputs of `mask` (bit i: input i) requiring gradients: each
// backward computes only the gradients asked for, and every subset must still be right.
OpCase with_grads(OpCase c, int mask) {
  for (size_t i = 0; i < 3 && i < c.inputs.size(); ++i) c.inputs[i].requires_grad = (mask >> i) & 1;
  c.variant += (c.variant.empty() ? "" : "+") + std::string("grads") + std::to_string(mask);
  return c;
}

}  // namespace

void add_norm_cases(std::vector<OpCase>& t, Generator& gen) {
  // Random shapes: odd sizes, N = 1, C = 1, H = W = 1 where the op allows it; C up to 40
  // crosses the 16-channel register tiles.
  for (int trial = 0; trial < 10; ++trial) {
    const bool affine = trial % 2 == 0, running = trial % 4 < 2;
    const double momentum = trial % 3 == 0 ? 0.1 : 0.3;
    const Shape sb = image_shape(gen, 7, 40, several_per_channel);
    t.push_back(batch_norm_case(sb, Kind::PerChannel, true, affine, running, momentum, kChecks));
    t.push_back(batch_norm_case(sb, Kind::PerChannel, true, affine, true, momentum, kTorch | kDevice, true));
    t.push_back(batch_norm_case(image_shape(gen, 7, 40, any_shape), Kind::Plain, false, affine, true, momentum, kChecks));
    const Shape si = image_shape(gen, 7, 40, several_pixels);
    t.push_back(instance_norm_case(si, Kind::PerInstance, affine, kChecks));
    t.push_back(spade_case(si, Kind::PerInstance, kChecks));
  }
  // Edges: one value per channel in eval mode; one pixel per batch element in training; the
  // fewest pixels instance norm accepts; size-1 channels.
  t.push_back(batch_norm_case({1, 1, 1, 4}, Kind::Plain, false, true, true, 0.1, kChecks));
  t.push_back(batch_norm_case({3, 1, 1, 5}, Kind::PerChannel, true, true, true, 0.1, kChecks));
  t.push_back(batch_norm_case({3, 1, 1, 5}, Kind::PerChannel, true, true, true, 0.1, kTorch | kDevice, true));
  t.push_back(batch_norm_case({1, 2, 1, 1}, Kind::PerChannel, true, false, true, 0.1, kChecks));
  t.push_back(instance_norm_case({1, 1, 2, 1}, Kind::PerInstance, true, kChecks));
  t.push_back(instance_norm_case({3, 2, 1, 6}, Kind::PerInstance, false, kChecks));
  t.push_back(spade_case({1, 2, 1, 3}, Kind::PerInstance, kChecks));
  t.push_back(spade_case({2, 1, 3, 1}, Kind::PerInstance, kChecks));
  // Zero-variance channels, and a large mean: ill-conditioned, with their own tolerances.
  const Shape sa{2, 5, 3, 7};
  for (const auto& [kind, tol] : {std::pair{Kind::ZeroVariance, kZeroVarianceTolerance}, std::pair{Kind::Offset, kOffsetTolerance}}) {
    for (OpCase c : {batch_norm_case(sa, kind, true, true, true, 0.1, kTorch | kDevice),
                     batch_norm_case(sa, kind, true, true, true, 0.1, kTorch | kDevice, true),
                     instance_norm_case(sa, kind, true, kTorch | kDevice), spade_case(sa, kind, kTorch | kDevice)}) {
      c.torch_tol = tol;
      for (size_t i = 0; i < c.torch_grad_tol.size(); ++i)
        if (c.inputs[i].shape.size() != 1) c.torch_grad_tol[i] = tol;
      t.push_back(c);
    }
  }
  // Every subset of inputs requiring gradients.
  for (int mask = 1; mask < 8; ++mask) {
    const Shape s{2, 3, 2, 5};
    t.push_back(with_grads(batch_norm_case(s, Kind::PerChannel, true, true, false, 0.1, kGradcheck | kDevice), mask));
    t.push_back(with_grads(batch_norm_case(s, Kind::Plain, false, true, true, 0.1, kGradcheck | kDevice), mask));
    t.push_back(with_grads(instance_norm_case(s, Kind::PerInstance, true, kGradcheck | kDevice), mask));
    t.push_back(with_grads(spade_case(s, Kind::PerInstance, kGradcheck | kDevice), mask));
  }
  // Large enough that each statistic is summed in several pieces (38400 values per image,
  // 76800 per channel); the last two big enough (a million elements per image) to be
  // scheduled one image at a time. The gradient check's loss then sums 76800 products,
  // rounded to ~1e-11: a step of 1e-4 keeps that rounding over 2·eps below the tolerance,
  // and these functions are smooth enough for the step's own error to stay smaller still.
  for (OpCase c : {batch_norm_case({2, 40, 40, 24}, Kind::PerChannel, true, true, false, 0.1, kGradcheck),
                   instance_norm_case({2, 40, 40, 24}, Kind::PerInstance, true, kGradcheck),
                   spade_case({2, 40, 40, 24}, Kind::PerInstance, kGradcheck)}) {
    c.grad_eps = 1e-4;
    t.push_back(c);
  }
  t.push_back(batch_norm_case({3, 33, 31, 20}, Kind::PerChannel, true, true, true, 0.1, kTorch));
  t.push_back(batch_norm_case({3, 33, 31, 20}, Kind::PerChannel, true, false, true, 0.1, kTorch, true));
  t.push_back(instance_norm_case({2, 64, 65, 33}, Kind::PerInstance, true, kTorch));
  t.push_back(spade_case({2, 64, 65, 33}, Kind::PerInstance, kTorch));
  t.push_back(instance_norm_case({2, 128, 128, 64}, Kind::PerInstance, true, kTorch));
  t.push_back(spade_case({2, 128, 128, 64}, Kind::PerInstance, kTorch));

  // The devices: the generator's normalised activations at the tiny, small and paper sizes
  // (batch 1 and 2, paper at batch 1), E_can/E_gaze-like maps, and odd shapes (three
  // pixels, channels not a multiple of 32 or of the vector width, more channels than one
  // tile). Three pixels rather than two: with two, x̂ = ±1 whatever x, grad_x is pure
  // cancellation and a close pair makes invstd (and the rounding it amplifies) arbitrarily
  // large.
  const std::vector<Shape> shapes = {Shape{1, 64, 64, 8},   Shape{2, 32, 32, 32},  Shape{2, 16, 16, 128},
                                     Shape{1, 128, 128, 16}, Shape{2, 64, 64, 64},  Shape{2, 32, 32, 256},
                                     Shape{1, 64, 64, 512},  Shape{1, 256, 256, 32}, Shape{1, 3, 1, 1},
                                     Shape{2, 1, 3, 3},      Shape{3, 5, 7, 33},    Shape{2, 9, 11, 300},
                                     Shape{1, 3, 3, 257},    Shape{4, 8, 8, 6}};
  for (const Shape& s : shapes) {
    for (bool affine : {true, false}) t.push_back(instance_norm_case(s, Kind::Shifted, affine, kDevice));
    t.push_back(with_grads(instance_norm_case(s, Kind::Shifted, true, kDevice), 6));  // parameters alone
    for (int mask = 1; mask < 8; ++mask) t.push_back(with_grads(spade_case(s, Kind::Shifted, kDevice), mask));
  }
  std::vector<Shape> training = shapes;
  training.push_back({3, 1, 1, 5});
  training.push_back({8, 32, 32, 64});
  for (const Shape& s : training) {
    t.push_back(batch_norm_case(s, Kind::Shifted, true, true, true, 0.1, kDevice));
    t.push_back(batch_norm_case(s, Kind::Shifted, true, true, true, 0.1, kDevice, true));
  }
  {
    // N·H·W = 2, the least training allows: x̂ = ±1, well-conditioned only in float64.
    OpCase c = batch_norm_case({2, 1, 1, 5}, Kind::Shifted, true, true, true, 0.1, kDevice);
    c.device_dtypes = {DType::F64};
    t.push_back(c);
  }
  for (const Shape& s : {Shape{1, 1, 1, 3}, Shape{2, 16, 16, 32}, Shape{3, 7, 5, 33}, Shape{1, 64, 64, 512}}) {
    for (bool affine : {true, false}) t.push_back(batch_norm_case(s, Kind::Shifted, false, affine, true, 0.1, kDevice));
    t.push_back(with_grads(batch_norm_case(s, Kind::Shifted, false, true, true, 0.1, kDevice), 1));  // x alone
  }

  // The benchmarks: the generator's activation maps 32×256², 128×128², 512×64², batch 1 and
  // 8; batch norm in training mode with running statistics, instance norm affine (the
  // encoder's), SPADE's modulation.
  for (int64_t n : {1, 8}) {
    for (const Shape& s : {Shape{n, 256, 256, 32}, Shape{n, 128, 128, 128}, Shape{n, 64, 64, 512}}) {
      t.push_back(batch_norm_case(s, Kind::Plain, true, true, true, 0.1, kBench));
      t.push_back(instance_norm_case(s, Kind::Plain, true, kBench));
      t.push_back(spade_case(s, Kind::Plain, kBench));
    }
  }
}

}  // namespace fh::test::ops
