// The pointwise family's cases: activations and clamps, softmax along every kind of axis,
// and the losses (L1, MSE, the three hinge terms). The gradient checks keep inputs away
// from kinks (where the derivative does not exist and central differences straddle two
// slopes); PyTorch parity runs random shapes (odd sizes, size-1 batch and channels, NHWC
// images, sizes that span several parallel chunks) and hand-picked edge values (kinks,
// bounds, ±0, ±inf, NaN, overflow); the devices compare at the network's shapes.
//
// Tolerances between the devices: activations call math functions within 2 ulp of the true
// value on both sides, and nvcc fuses a·b + c into one rounding where the CPU may round
// twice (tanh' = 1 - y², |g|·ulp(1) absolute); softmax's exps differ by a few ulp and the
// row sums are added in another order; loss values: the GPU sums every term in double, the
// CPU sums runs of 32 float terms first (up to ~32 ulp of float); loss gradients: the same
// formula per element on both sides.
#include <cmath>
#include <limits>
#include <sstream>

#include "autograd/ops.h"
#include "tests/harness/random_inputs.h"
#include "tests/ops/op_case.h"

namespace fh::test::ops {

namespace {

constexpr Tolerance kActivationF32{2e-6, 2e-6}, kActivationF64{1e-14, 1e-14};
constexpr Tolerance kSoftmaxF32{1e-6, 1e-5}, kSoftmaxF64{1e-15, 1e-13};
constexpr Tolerance kLossF32{1e-7, 1e-5}, kLossF64{1e-15, 1e-12};
constexpr Tolerance kLossGradF32{1e-8, 1e-6}, kLossGradF64{1e-17, 1e-14};
// Against PyTorch, a loss is a float32 sum of n terms, rounded differently on each side:
// about √n·ε relative.
constexpr Tolerance kLossTorch{1e-6, 2e-5};

// Every digit, for the oracle's arguments; and six, for names.
std::string num(double v, int digits = 17) {
  std::ostringstream os;
  os.precision(digits);
  os << v;
  return os.str();
}
std::string short_num(double v) { return num(v, 6); }

// Uniform in [lo, hi), then pushed at least `margin` away from each kink.
Input away_from(double lo, double hi, std::vector<double> kinks, double margin = 0.05) {
  Input in{{}, Values::Custom};
  in.custom = [=](const Shape& s, Generator& gen, DType t) {
    std::vector<double> v = rand(s, gen, lo, hi, DType::F64).to_vector<double>();
    for (double& x : v)
      for (double k : kinks)
        if (std::abs(x - k) < margin) x = x >= k ? k + margin : k - margin;
    return Tensor::from_vector<double>(v, s).to(t);
  };
  return in;
}
Input uniform(double lo, double hi) { return Input{{}, Values::Uniform, lo, hi}; }
Input normal(double mean, double sd) { return Input{{}, Values::Normal, mean, sd}; }
Input given(const Tensor& values) {
  Input in{values.shape(), Values::Given};
  in.given = values;
  return in;
}

// The backward reads the gradient and what it saved, and writes the input's gradient.
Work activation_backward(const std::vector<Shape>& in, const Shape&) { return {0, 12.0 * elements(in[0])}; }

OpCase activation(const std::string& op, const std::string& args, RunFn run, const Shape& s, Input values,
                  unsigned purposes, bool image = false) {
  OpCase c;
  c.op = op;
  c.args = args;
  values.shape = s;
  values.nhwc = image;
  c.inputs = {values};
  c.nhwc_output = image;
  c.run = std::move(run);
  c.purposes = purposes;
  c.compare_devices_within(kActivationF32, kActivationF64, kActivationF32, kActivationF64);
  c.forward_work = read_inputs_write_output;
  c.backward_work = activation_backward;
  return c;
}

OpCase leaky_relu_case(const Shape& s, Input v, unsigned p, bool image = false, double slope = 0.2) {
  OpCase c = activation("leaky_relu", "{\"slope\":" + num(slope) + "}",
                        [slope](const std::vector<Tensor>& x) { return leaky_relu(x[0], slope); }, s, v, p, image);
  if (slope != 0.2) c.variant = "slope" + short_num(slope);
  return c;
}
OpCase unary_case(const std::string& op, Tensor (*f)(const Tensor&), const Shape& s, Input v, unsigned p,
                  bool image = false) {
  return activation(op, "", [f](const std::vector<Tensor>& x) { return f(x[0]); }, s, v, p, image);
}
OpCase clamp_case(double lo, double hi, const Shape& s, Input v, unsigned p, bool image = false) {
  OpCase c = activation("clamp", "{\"lo\":" + (std::isinf(lo) ? std::string("null") : num(lo)) + ",\"hi\":" + num(hi) + "}",
                        [lo, hi](const std::vector<Tensor>& x) { return clamp(x[0], lo, hi); }, s, v, p, image);
  c.variant = "[" + short_num(lo) + "," + short_num(hi) + "]";
  return c;
}
OpCase acos_clamped_case(double eps, const Shape& s, Input v, unsigned p, bool image = false) {
  OpCase c = activation("acos_clamped", "{\"eps\":" + num(eps) + "}",
                        [eps](const std::vector<Tensor>& x) { return acos_clamped(x[0], eps); }, s, v, p, image);
  c.variant = "eps" + short_num(eps);
  return c;
}

// Every activation on shape s, with the gradient check's inputs (kinks avoided).
void add_gradcheck_activations(std::vector<OpCase>& t, const Shape& s) {
  const unsigned p = kGradcheck | kDevice;
  t.push_back(leaky_relu_case(s, away_from(-1, 1, {0.0}), p));
  t.push_back(leaky_relu_case(s, away_from(-1, 1, {0.0}), p, false, -1.5));
  t.push_back(unary_case("tanh", fh::tanh, s, uniform(-3, 3), p));
  t.push_back(unary_case("sigmoid", fh::sigmoid, s, uniform(-4, 4), p));
  t.push_back(unary_case("sqrt", fh::sqrt, s, uniform(0.2, 3), p));
  t.push_back(unary_case("sin", fh::sin, s, uniform(-4, 4), p));
  t.push_back(unary_case("cos", fh::cos, s, uniform(-4, 4), p));
  t.push_back(unary_case("acos", fh::acos, s, uniform(-0.9, 0.9), p));
  t.push_back(clamp_case(-0.5, 0.4, s, away_from(-1, 1, {-0.5, 0.4}), p));
  t.push_back(clamp_case(-INFINITY, 0.1, s, away_from(-1, 1, {0.1}), p));  // one side open
  // eps = 0.25: the bounds ±0.75 cut the inputs; the gaze loss' eps: plain acos inside.
  t.push_back(acos_clamped_case(0.25, s, away_from(-1.2, 1.2, {-0.75, 0.75}), p));
  t.push_back(acos_clamped_case(1e-7, s, uniform(-0.95, 0.95), p));
}

// Every activation on shape s, with PyTorch parity's inputs.
void add_parity_activations(std::vector<OpCase>& t, Generator& gen, const Shape& s, bool image) {
  const unsigned p = kTorch | kDevice;
  t.push_back(leaky_relu_case(s, normal(0, 1), p, image));
  t.push_back(unary_case("tanh", fh::tanh, s, normal(0, 2), p, image));
  t.push_back(unary_case("sigmoid", fh::sigmoid, s, normal(0, 4), p, image));
  t.push_back(unary_case("sqrt", fh::sqrt, s, uniform(0.01, 4.0), p, image));
  t.push_back(unary_case("sin", fh::sin, s, normal(0, 3), p, image));
  t.push_back(unary_case("cos", fh::cos, s, normal(0, 3), p, image));
  t.push_back(unary_case("acos", fh::acos, s, uniform(-0.95, 0.95), p, image));
  const double lo = rand({1}, gen, -1.0, 0.0, DType::F64).item(), hi = rand({1}, gen, 0.0, 1.0, DType::F64).item();
  t.push_back(clamp_case(lo, hi, s, normal(0, 1), p, image));
  t.push_back(acos_clamped_case(0.1, s, uniform(-1.1, 1.1), p, image));
}

OpCase softmax_case(const Shape& s, int64_t dim, unsigned purposes, Input v = normal(0, 3)) {
  OpCase c;
  c.op = "softmax";
  c.args = "{\"dim\":" + std::to_string(dim) + "}";
  c.variant = "dim" + std::to_string(dim);
  v.shape = s;
  c.inputs = {v};
  c.run = [dim](const std::vector<Tensor>& x) { return softmax(x[0], dim); };
  c.purposes = purposes;
  c.compare_devices_within(kSoftmaxF32, kSoftmaxF64, kSoftmaxF32, kSoftmaxF64);
  c.forward_work = read_inputs_write_output;
  c.backward_work = activation_backward;  // reads the gradient and the output, writes one
  return c;
}

// A softmax over the channels of an NHWC image (dim 3 here, 1 in PyTorch's NCHW).
OpCase softmax_channels_case(const Shape& s, unsigned purposes) {
  OpCase c = softmax_case(s, 3, purposes);
  c.args = "{\"dim\":1}";
  c.inputs[0].nhwc = true;
  c.nhwc_output = true;
  return c;
}

enum class Loss { L1, Mse, HingeReal, HingeFake, HingeGenerator };
const char* const kLossNames[] = {"l1_loss", "mse_loss", "hinge_real", "hinge_fake", "hinge_generator"};

OpCase loss_case(Loss loss, const Shape& s, Input a, Input b, unsigned purposes) {
  OpCase c;
  c.op = kLossNames[static_cast<int>(loss)];
  const bool binary = loss == Loss::L1 || loss == Loss::Mse;
  a.shape = s;
  c.inputs = {a};
  if (binary) {
    b.shape = s;
    c.inputs.push_back(b);
  }
  c.run = [loss](const std::vector<Tensor>& x) {
    switch (loss) {
      case Loss::L1: return l1_loss(x[0], x[1]);
      case Loss::Mse: return mse_loss(x[0], x[1]);
      case Loss::HingeReal: return hinge_real(x[0]);
      case Loss::HingeFake: return hinge_fake(x[0]);
      default: return hinge_generator(x[0]);
    }
  };
  c.purposes = purposes;
  c.torch_tol = kLossTorch;
  c.compare_devices_within(kLossF32, kLossF64, kLossGradF32, kLossGradF64);
  // Reads every operand; the backward reads each operand its gradient depends on and
  // writes the gradient (the first operand's: a prediction against a fixed target).
  c.forward_work = [](const std::vector<Shape>& in, const Shape&) {
    return Work{0, 4.0 * static_cast<double>(in.size()) * elements(in[0])};
  };
  c.backward_work = [loss](const std::vector<Shape>& in, const Shape&) {
    const double reads = loss == Loss::HingeGenerator ? 0 : static_cast<double>(in.size());
    return Work{0, 4.0 * (reads + 1) * elements(in[0])};
  };
  return c;
}

// The same loss with the second operand fixed (a prediction against a target).
OpCase against_target(OpCase c) {
  if (c.inputs.size() > 1) c.inputs[1].requires_grad = false;
  return c;
}

// An odd-sized NHWC image; batch and channels are 1 a third of the time each.
Shape odd_image(Generator& gen) {
  const int64_t n = rand_int(gen, 0, 2) == 0 ? 1 : rand_int(gen, 2, 3);
  const int64_t c = rand_int(gen, 0, 2) == 0 ? 1 : rand_int(gen, 2, 9);
  return Shape{n, rand_int(gen, 1, 6) * 2 + 1, rand_int(gen, 1, 6) * 2 + 1, c};
}

// Up to 4 dims, size-1 dims often; sometimes an odd NHWC image with one channel.
Shape gradcheck_shape(Generator& gen, int trial) {
  if (trial % 3 == 2) return Shape{1, rand_int(gen, 1, 5) * 2 + 1, 3, 1};
  return random_shape(gen, static_cast<int>(rand_int(gen, 0, 4)));
}

}  // namespace

void add_pointwise_cases(std::vector<OpCase>& t, Generator& gen) {
  const unsigned gd = kGradcheck | kDevice, td = kTorch | kDevice;
  // ---- Gradient checks: inputs away from kinks.
  for (int trial = 0; trial < 6; ++trial) add_gradcheck_activations(t, gradcheck_shape(gen, trial));
  for (int trial = 0; trial < 6; ++trial) {
    const int nd = static_cast<int>(rand_int(gen, 1, 4));
    const Shape s = random_shape(gen, nd, 6);
    for (int d = 0; d < nd; ++d) t.push_back(softmax_case(s, rand_int(gen, 0, 1) ? d : d - nd, gd, uniform(-3, 3)));
  }
  // Rows long enough for the lane-parallel sums, an outer axis wider than a column tile, 0-d.
  t.push_back(softmax_case({3, 37}, -1, gd, uniform(-3, 3)));
  t.push_back(softmax_case({2, 3, 300}, 1, gd, uniform(-3, 3)));
  t.push_back(softmax_case({}, 0, gd, uniform(-3, 3)));
  for (int trial = 0; trial < 6; ++trial) {
    const Shape s = gradcheck_shape(gen, trial);
    // a - b kept away from 0, where |a - b| has its kink: |a| >= 0.05 and |b| <= 0.02.
    t.push_back(loss_case(Loss::L1, s, away_from(-1, 1, {0.0}), uniform(-0.02, 0.02), gd));
    t.push_back(loss_case(Loss::Mse, s, uniform(-1, 1), uniform(-1, 1), gd));
    t.push_back(loss_case(Loss::HingeReal, s, away_from(-2, 3, {1.0}), {}, gd));
    t.push_back(loss_case(Loss::HingeFake, s, away_from(-3, 2, {-1.0}), {}, gd));
    t.push_back(loss_case(Loss::HingeGenerator, s, uniform(-2, 2), {}, gd));
  }
  // Only one operand differentiable (a prediction against a fixed target), either side.
  t.push_back(against_target(loss_case(Loss::Mse, {4, 3}, uniform(-1, 1), uniform(-1, 1), gd)));
  {
    OpCase c = loss_case(Loss::L1, {4, 3}, uniform(-1, 1), uniform(2, 3), gd);
    c.inputs[0].requires_grad = false;  // the target first
    t.push_back(c);
  }
  {
    // Compositions: an N-shot weighted average x̄ = Σ_j softmax_j(m)·x_j over M sources, and
    // the gaze loss' mean of (180/π)·acos(clamp(gᵀg*)) over unit-ish vectors.
    OpCase c;
    c.op = "n-shot average (composite)";
    c.inputs = {Input{{1, 3, 2, 3, 1}, Values::Uniform, -2, 2}, Input{{1, 3, 2, 3, 2}, Values::Uniform, -1, 1}};
    c.run = [](const std::vector<Tensor>& x) { return fh::tanh(sum(mul(softmax(x[0], 1), x[1]), {1})); };
    c.purposes = kGradcheck;
    t.push_back(c);
    OpCase g;
    g.op = "gaze angle (composite)";
    g.inputs = {Input{{5, 3}, Values::Uniform, 0.2, 0.5}, Input{{5, 3}, Values::Uniform, 0.2, 0.5}};
    g.run = [](const std::vector<Tensor>& x) {
      return mean(acos_clamped(sum(mul(x[0], x[1]), {1}), 1e-7) * (180 / M_PI));
    };
    g.purposes = kGradcheck;
    t.push_back(g);
  }

  // ---- PyTorch parity on random shapes; several parallel chunks with a ragged last one.
  for (int trial = 0; trial < 4; ++trial) {
    add_parity_activations(t, gen, odd_image(gen), true);
    add_parity_activations(t, gen, random_shape(gen, static_cast<int>(rand_int(gen, 0, 4)), 7), false);
  }
  add_parity_activations(t, gen, {2, 37, 41, 33}, true);
  for (int trial = 0; trial < 4; ++trial) {
    const int nd = static_cast<int>(rand_int(gen, 1, 4));
    const Shape s = random_shape(gen, nd, 7);
    for (int d = 0; d < nd; ++d) t.push_back(softmax_case(s, rand_int(gen, 0, 1) ? d : d - nd, td));
  }
  for (int trial = 0; trial < 2; ++trial) t.push_back(softmax_channels_case(odd_image(gen), td));
  // N-shot weights [N, M, H, W, 1] over the sources; an outer axis over more columns than a
  // tile, ragged; long rows (lane-parallel sums); many short rows (several chunks); every
  // row length the CPU kernel specialises (2-8), its neighbours, and the lane boundary.
  t.push_back(softmax_case({2, 3, 9, 7, 1}, 1, td));
  t.push_back(softmax_case({3, 5, 777}, 1, td));
  t.push_back(softmax_case({5, 301}, -1, td));
  t.push_back(softmax_case({1, 97, 129, 4}, -1, td));
  for (int64_t len : {1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17}) t.push_back(softmax_case({3, 5, len}, -1, td));
  // Losses on random shapes, odd images, one over several summation blocks (a 3×256² image).
  std::vector<Shape> loss_shapes;
  for (int trial = 0; trial < 3; ++trial) {
    loss_shapes.push_back(random_shape(gen, static_cast<int>(rand_int(gen, 0, 4)), 7));
    loss_shapes.push_back(odd_image(gen));
  }
  loss_shapes.push_back({1, 256, 256, 3});
  for (const Shape& s : loss_shapes) {
    t.push_back(loss_case(Loss::L1, s, normal(0, 1), normal(0, 1), td));
    t.push_back(loss_case(Loss::Mse, s, normal(0, 1), normal(0, 1), td));
    t.push_back(loss_case(Loss::HingeReal, s, normal(0.5, 1), {}, td));
    t.push_back(loss_case(Loss::HingeFake, s, normal(-0.5, 1), {}, td));
    t.push_back(loss_case(Loss::HingeGenerator, s, normal(0, 1), {}, td));
  }

  // ---- Edge values, against PyTorch and between the devices: kinks and special values
  // shared by the activations (clamp bounds -0.5 and 0.25, and lo > hi: PyTorch gives hi
  // everywhere); acos near and beyond ±1, and exactly at the float32 bounds ±(1 - 1e-7) of
  // the gaze loss; softmax of large magnitudes (only max subtraction keeps exp finite), -inf
  // entries (weight 0), equal entries, a row holding +inf (NaN), rows of length 1; losses at
  // their kinks (a == b for l1, d == ±1 for the hinges, where relu'(0) = 0).
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> specials = {0.0f,  -0.0f, 1e-30f, -1e-30f, 1e-6f,  -1e-6f,  0.5f,   -0.5f,
                                       0.25f, 0.625f, -0.625f, 1.0f,  -1.0f,  9.0f,   -9.0f,  20.0f,
                                       -20.0f, 88.5f, -88.5f, 100.0f, -104.5f, inf,   -inf,   nan};
  const Tensor sp = Tensor::from_vector<float>(specials, {static_cast<int64_t>(specials.size())});
  t.push_back(leaky_relu_case(sp.shape(), given(sp), td));
  t.push_back(unary_case("tanh", fh::tanh, sp.shape(), given(sp), td));
  t.push_back(unary_case("sigmoid", fh::sigmoid, sp.shape(), given(sp), td));
  t.push_back(unary_case("sqrt", fh::sqrt, sp.shape(), given(sp), td));
  t.push_back(clamp_case(-0.5, 0.25, sp.shape(), given(sp), td));
  t.push_back(clamp_case(0.5, -0.25, sp.shape(), given(sp), td));
  const float below_one = static_cast<float>(1.0 - 1e-7);
  const Tensor cs = Tensor::from_vector<float>(
      {1.0f, -1.0f, below_one, -below_one, 1.5f, -1.5f, 0.999f, -0.999f, 0.0f, 0.3f, nan}, {11});
  t.push_back(acos_clamped_case(1e-7, cs.shape(), given(cs), td));
  t.push_back(unary_case("acos", fh::acos, cs.shape(), given(cs), td));
  const Tensor lg = Tensor::from_vector<float>({80, -80, 85, 0, -inf, 3, 3, 3, 3, 3, -1e4f, 1e4f, inf, 1, 2}, {3, 5});
  t.push_back(softmax_case({3, 5}, 1, td, given(lg)));
  t.push_back(softmax_case({3, 5, 1}, 0, td, given(lg.view({3, 5, 1}))));
  t.push_back(softmax_case({15, 1}, -1, td, given(lg.view({15, 1}))));
  const Tensor a = Tensor::from_vector<float>({0.5f, -1.0f, 2.0f, 0.0f, 3.0f, -0.0f}, {2, 3});
  const Tensor b = Tensor::from_vector<float>({0.5f, -1.0f, 1.0f, 0.0f, 4.0f, 0.0f}, {2, 3});
  const Tensor d = Tensor::from_vector<float>({1.0f, -1.0f, 0.0f, 2.0f, -2.0f, 0.999f}, {2, 3});
  t.push_back(loss_case(Loss::L1, {2, 3}, given(a), given(b), td));
  t.push_back(loss_case(Loss::Mse, {2, 3}, given(a), given(b), td));
  for (Loss l : {Loss::HingeReal, Loss::HingeFake, Loss::HingeGenerator}) t.push_back(loss_case(l, {2, 3}, given(d), {}, td));
  {
    // The devices at NaN, the clamp edges, ±0 and beyond acos' domain.
    const double dnan = std::numeric_limits<double>::quiet_NaN();
    const Tensor x = Tensor::from_vector<double>({dnan, -0.5, 0.7, -1.0, 1.0, 0.0, -0.0, 3.0}, {8});
    t.push_back(clamp_case(-0.5, 0.7, {8}, given(x), kDevice));
    t.push_back(clamp_case(0.3, -0.2, {8}, given(x), kDevice));
    t.push_back(acos_clamped_case(0.2, {8}, given(x), kDevice));
    const Tensor rows = Tensor::from_vector<double>({-inf, 0.0, 1.0, 1000.0, -inf, 2.0, 3.0, -1000.0}, {2, 4});
    for (int64_t dim : {0, 1}) t.push_back(softmax_case({2, 4}, dim, kDevice, given(rows)));
  }

  // ---- The devices: activation maps of the generator (tiny, small, paper; batch 1 and 2)
  // and odd shapes (sizes off the 16-byte vector, a scalar, one element, a million and three).
  const std::vector<Shape> maps = {Shape{},           Shape{1},           Shape{7},           Shape{3, 5, 1, 3},
                                   Shape{1, 64, 64, 8}, Shape{2, 32, 32, 32}, Shape{2, 16, 16, 128},
                                   Shape{1, 128, 128, 16}, Shape{2, 64, 64, 64}, Shape{1, 256, 256, 32},
                                   Shape{1, 64, 64, 512}, Shape{2, 33, 17, 3}, Shape{1000003}};
  for (const Shape& s : maps) {
    // Inputs in each op's domain: positive for sqrt; within (-0.9, 0.9) for acos, whose
    // derivative -1/√(1 - x²) amplifies the rounding of x² without bound near ±1.
    t.push_back(leaky_relu_case(s, normal(0, 1), kDevice));
    t.push_back(unary_case("tanh", fh::tanh, s, normal(0, 1), kDevice));
    t.push_back(unary_case("sigmoid", fh::sigmoid, s, normal(0, 1), kDevice));
    t.push_back(unary_case("sqrt", fh::sqrt, s, uniform(0.01, 4.0), kDevice));
    t.push_back(unary_case("sin", fh::sin, s, normal(0, 1), kDevice));
    t.push_back(unary_case("cos", fh::cos, s, normal(0, 1), kDevice));
    t.push_back(unary_case("acos", fh::acos, s, uniform(-0.9, 0.9), kDevice));
    t.push_back(clamp_case(-0.5, 0.7, s, normal(0, 1), kDevice));
    t.push_back(clamp_case(0.3, -0.2, s, normal(0, 1), kDevice));
    t.push_back(acos_clamped_case(0.2, s, normal(0, 1), kDevice));
  }
  // Softmax: a 0-d tensor, one short row, an outer axis, an image's channels (thread per
  // row), N-shot weights over M = 4, 3 and 1 sources (columns), rows of 64 (warp per row),
  // just over the thread-per-row limit, long and very long rows, an odd middle axis, the
  // key-point net's angle bins.
  for (const auto& [s, dim] : std::vector<std::pair<Shape, int64_t>>{
           {{}, 0}, {{1}, 0}, {{5}, 0}, {{3, 4}, -1}, {{3, 4}, 0}, {{2, 64, 64, 4}, -1}, {{1, 256, 256, 4}, 3},
           {{2, 4, 64, 64, 1}, 1}, {{1, 4, 256, 256, 1}, 1}, {{2, 1, 32, 32, 1}, 1}, {{2, 4, 64, 64}, -1},
           {{7, 17}, -1}, {{3, 1000}, -1}, {{2, 70000}, 1}, {{5, 33, 7}, 1}, {{8, 66}, -1}, {{1, 3, 64, 64, 1}, 1}})
    t.push_back(softmax_case(s, dim, kDevice));
  // Losses on images and discriminator maps of the three configs, and odd sizes (one
  // element, a length off the vector width, several loss blocks); hinge terms on both
  // sides of their kink; both operands' gradients, and the second's alone.
  for (const Shape& s : {Shape{1}, Shape{7}, Shape{2, 64, 64, 3}, Shape{1, 128, 128, 3}, Shape{2, 35, 35, 1},
                         Shape{1, 256, 256, 3}, Shape{8, 256, 256, 3}, Shape{3, 1, 1, 1}, Shape{1000003}}) {
    for (Loss l : {Loss::L1, Loss::Mse, Loss::HingeReal, Loss::HingeFake, Loss::HingeGenerator})
      t.push_back(loss_case(l, s, normal(0.2, 1.5), normal(0, 1), kDevice));
    for (Loss l : {Loss::L1, Loss::Mse}) {
      OpCase c = loss_case(l, s, normal(0.2, 1.5), normal(0, 1), kDevice);
      c.inputs[0].requires_grad = false;
      t.push_back(c);
    }
  }

  // ---- The benchmarks (paper config, batch 1 and 8): leaky ReLU and tanh over the
  // decoder's activations (32×256², 128×128², 512×64²; tanh also on the 3×256² output);
  // the activations the model applies to small tensors (angles, gaze vectors, sketch
  // colours) at one decoder shape for reference; softmax along long rows, over M = 4
  // sources, and over an NHWC image's 4 channels, at 256² and 64²; the losses on 3×256²
  // images, the backward differentiating the prediction against a fixed target.
  for (int64_t n : {1, 8}) {
    for (const Shape& s : {Shape{n, 256, 256, 32}, Shape{n, 128, 128, 128}, Shape{n, 64, 64, 512}}) {
      t.push_back(leaky_relu_case(s, normal(0, 1), kBench, true));
      t.push_back(unary_case("tanh", fh::tanh, s, normal(0, 1), kBench, true));
    }
    t.push_back(unary_case("tanh", fh::tanh, {n, 256, 256, 3}, normal(0, 1), kBench, true));
    for (int64_t hw : {256, 64}) {
      t.push_back(softmax_case({n, 4, hw, hw}, -1, kBench));
      t.push_back(softmax_case({n, 4, hw, hw, 1}, 1, kBench));
      t.push_back(softmax_case({n, hw, hw, 4}, -1, kBench));
    }
    for (Loss l : {Loss::L1, Loss::Mse, Loss::HingeReal, Loss::HingeFake, Loss::HingeGenerator})
      t.push_back(against_target(loss_case(l, {n, 256, 256, 3}, normal(0, 1), normal(0, 1), kBench)));
  }
  const Shape other{1, 128, 128, 128};
  t.push_back(unary_case("sigmoid", fh::sigmoid, other, normal(0, 1), kBench, true));
  t.push_back(unary_case("sqrt", fh::sqrt, other, uniform(0.01, 4.0), kBench, true));
  t.push_back(unary_case("sin", fh::sin, other, normal(0, 1), kBench, true));
  t.push_back(unary_case("cos", fh::cos, other, normal(0, 1), kBench, true));
  t.push_back(unary_case("acos", fh::acos, other, uniform(-1, 1), kBench, true));
  t.push_back(clamp_case(-0.5, 0.5, other, normal(0, 1), kBench, true));
  t.push_back(acos_clamped_case(1e-7, other, uniform(-1, 1), kBench, true));
}

}  // namespace fh::test::ops
