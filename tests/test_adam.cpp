// Adam: ten steps on a small network against torch.optim.Adam (parameters and both
// moments), ten steps on given gradients bit for bit against it, one step against the
// formula in float64, parameters without gradients, state
// files (resume = uninterrupted, layout hooks, errors) and learning-rate schedules.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "tests/harness/oracle.h"
#include "tests/harness/parity.h"
#include "tests/harness/tolerance.h"
#include "train/adam.h"
#include "weights/safetensors.h"

using fh::DType;
using fh::Shape;
using fh::Tensor;
using namespace fh::test;
namespace tr = fh::train;

namespace {

// tanh(x W1ᵀ + b1) W2ᵀ + b2, trained towards y with MSE.
struct Mlp {
  Tensor w1, b1, w2, b2;

  std::vector<tr::NamedParameter> parameters() const {
    return {{"fc1.weight", w1}, {"fc1.bias", b1}, {"fc2.weight", w2}, {"fc2.bias", b2}};
  }
  Tensor loss(const Tensor& x, const Tensor& y) const {
    return fh::mse_loss(fh::linear(fh::tanh(fh::linear(x, w1, b1)), w2, b2), y);
  }
};

Mlp make_mlp(fh::Generator& gen, DType dtype = DType::F32) {
  return {
      fh::randn({8, 4}, gen, 0.0, 0.5, dtype).requires_grad_(), fh::randn({8}, gen, 0.0, 0.1, dtype).requires_grad_(),
      fh::randn({2, 8}, gen, 0.0, 0.5, dtype).requires_grad_(), fh::randn({2}, gen, 0.0, 0.1, dtype).requires_grad_()};
}

Mlp copy_of(const Mlp& m) {
  return {m.w1.detach().clone().requires_grad_(), m.b1.detach().clone().requires_grad_(),
          m.w2.detach().clone().requires_grad_(), m.b2.detach().clone().requires_grad_()};
}

void train(const Mlp& m, tr::Adam& opt, const Tensor& x, const Tensor& y, int steps, const tr::LrSchedule& schedule,
           int first_step = 0) {
  for (int k = first_step; k < first_step + steps; ++k) {
    opt.set_lr(schedule.at(k));
    opt.zero_grad();
    m.loss(x, y).backward();
    opt.step();
  }
}

Tensor flat(const std::vector<Tensor>& ts) {
  std::vector<Tensor> parts;
  for (const Tensor& t : ts) parts.push_back(fh::reshape(t.detach(), {-1}));
  return fh::concat(parts, 0);
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("fh-test-adam-" + std::to_string(::getpid()) + "-" + name))
      .string();
}

}  // namespace

TEST_CASE("PyTorch parity: ten Adam steps on a small network") {
  if (skip_without_oracle()) return;
  fh::Generator gen(run_seed());
  struct Config {
    tr::AdamOptions opts;
    int64_t decay_start, decay_end;
  };
  // The training tasks' E_can/G/D and E_gaze settings (constant rate), then a larger rate with
  // weight decay and a linear decay starting mid-way.
  const Config configs[] = {{{2e-4, 0.5, 0.999, 1e-8, 0}, 1000, 2000},
                            {{1e-4, 0.9, 0.999, 1e-8, 0}, 1000, 2000},
                            {{2e-2, 0.9, 0.99, 1e-6, 0.01}, 4, 12}};
  std::vector<OracleCase> cases;
  std::vector<Mlp> nets;
  std::vector<Tensor> xs, ys;
  for (const Config& c : configs) {
    const Mlp m = make_mlp(gen);
    const Tensor x = fh::randn({16, 4}, gen), y = fh::randn({16, 2}, gen);
    char args[256];
    std::snprintf(args, sizeof args,
                  "{\"lr\":%.17g,\"beta1\":%.17g,\"beta2\":%.17g,\"eps\":%.17g,\"weight_decay\":%.17g,"
                  "\"steps\":10,\"decay_start\":%lld,\"decay_end\":%lld}",
                  c.opts.lr, c.opts.beta1, c.opts.beta2, c.opts.eps, c.opts.weight_decay,
                  static_cast<long long>(c.decay_start), static_cast<long long>(c.decay_end));
    OracleCase oc;
    oc.op = "adam_mlp";
    oc.args_json = args;
    oc.inputs = {x, y, m.w1.detach(), m.b1.detach(), m.w2.detach(), m.b2.detach()};
    oc.requires_grad.assign(6, false);
    oc.grad_output = Tensor::zeros({1});
    cases.push_back(oc);
    nets.push_back(copy_of(m));
    xs.push_back(x);
    ys.push_back(y);
  }
  const std::vector<OracleResult> refs = run_oracle(cases);
  double worst = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const Config& c = configs[i];
    tr::Adam opt(nets[i].parameters(), c.opts);
    train(nets[i], opt, xs[i], ys[i], 10, tr::LrSchedule::linear_decay(c.opts.lr, c.decay_start, c.decay_end));
    std::vector<Tensor> p, m, v;
    for (const auto& np : opt.parameters()) {
      p.push_back(np.tensor);
      m.push_back(opt.state(np.name).exp_avg);
      v.push_back(opt.state(np.name).exp_avg_sq);
      CHECK(opt.state(np.name).step == 10);
    }
    const int64_t n = flat(p).numel();
    const Tensor ref = refs[i].output;
    REQUIRE(ref.numel() == 3 * n);
    // The update itself is PyTorch's bit for bit (the next test); the gradients are not:
    // float32 sums in another order differ by a relative ρ ≈ u·Σ|terms|/|Σ terms|
    // (u = 6e-8), large where a component's terms cancel. Adam divides m by sqrt(v), so
    // each step is ~lr whatever the gradient's size and carries that relative error: ten
    // steps drift apart by up to Σ lr·ρ. At lr = 2e-2 with ρ ~ 1e-5 (terms cancelling
    // ~100-fold) that is 2e-6, the tail a seed sweep met (1.8e-6 at 0.59); sweeps of the
    // same seeds with PyTorch's and with unfused roundings of the update give the same
    // errors. At the tasks' default rates the parameters stay within a few ulps. The moments
    // are of the gradients' size (≈0.1) and its square.
    const struct {
      const char* name;
      Tensor ours;
      Tolerance tol;
    } parts[] = {{"parameters", flat(p), {2e-6, 4e-6}},
                 {"exp_avg", flat(m), {1e-7, 1e-5}},
                 {"exp_avg_sq", flat(v), {1e-9, 1e-5}}};
    for (int k = 0; k < 3; ++k) {
      const Comparison cmp = compare(parts[k].ours, fh::slice(ref, 0, k * n, n), parts[k].tol);
      INFO(cmp.report("config " + std::to_string(i) + " " + parts[k].name));
      CHECK(cmp.ok());
      worst = std::max(worst, cmp.worst_fraction);
    }
    // The parameters did move: by ~lr per step.
    CHECK(fh::sum(fh::mul(fh::sub(flat(p), flat({cases[i].inputs[2], cases[i].inputs[3], cases[i].inputs[4],
                                                 cases[i].inputs[5]})),
                          fh::sub(flat(p), flat({cases[i].inputs[2], cases[i].inputs[3], cases[i].inputs[4],
                                                 cases[i].inputs[5]}))))
              .item() > 1e-3 * c.opts.lr * c.opts.lr);
  }
  MESSAGE("worst error " << worst << " of threshold over parameters and moments after ten steps");
}

TEST_CASE("PyTorch parity: given the same gradients, Adam's steps are torch.optim.Adam's bit for bit") {
  if (skip_without_oracle()) return;
  fh::Generator gen(run_seed());
  // 1003 elements: PyTorch's vectorised loop and its scalar tail. Gradients of both signs
  // over three orders of magnitude, ten steps, the tasks' default settings and one with weight
  // decay: every rounding of the update is exercised.
  const int64_t n = 1003, steps = 10;
  const tr::AdamOptions configs[] = {
      {2e-4, 0.5, 0.999, 1e-8, 0}, {1e-4, 0.9, 0.999, 1e-8, 0}, {2e-2, 0.9, 0.99, 1e-6, 0.01}};
  std::vector<OracleCase> cases;
  for (const tr::AdamOptions& o : configs) {
    const Tensor grads = fh::mul(fh::randn({steps, n}, gen), fh::exp(fh::rand({steps, n}, gen, -7.0, 0.0)));
    char args[256];
    std::snprintf(args, sizeof args,
                  "{\"lr\":%.17g,\"beta1\":%.17g,\"beta2\":%.17g,\"eps\":%.17g,\"weight_decay\":%.17g}", o.lr,
                  o.beta1, o.beta2, o.eps, o.weight_decay);
    OracleCase oc;
    oc.op = "adam_given_grads";
    oc.args_json = args;
    oc.inputs = {fh::randn({n}, gen), grads};
    oc.requires_grad.assign(2, false);
    oc.grad_output = Tensor::zeros({1});
    cases.push_back(oc);
  }
  const std::vector<OracleResult> refs = run_oracle(cases);
  for (size_t i = 0; i < cases.size(); ++i) {
    Tensor p = cases[i].inputs[0].clone().requires_grad_();
    tr::Adam opt({{"p", p}}, configs[i]);
    for (int64_t k = 0; k < steps; ++k) {
      opt.zero_grad();
      // The gradient of Σ p·g is g exactly.
      fh::sum(fh::mul(p, fh::reshape(fh::slice(cases[i].inputs[1], 0, k, 1), {n}))).backward();
      opt.step();
    }
    const Tensor ours = fh::concat({p.detach(), opt.state("p").exp_avg, opt.state("p").exp_avg_sq}, 0);
    REQUIRE(refs[i].output.shape() == ours.shape());
    const std::vector<float> a = ours.to_vector<float>(), b = refs[i].output.to_vector<float>();
    int64_t differing = 0;
    for (size_t j = 0; j < a.size(); ++j) differing += a[j] != b[j];
    INFO("config " << i << ": " << differing << " of " << a.size()
                   << " values (parameters, exp_avg, exp_avg_sq) differ from PyTorch's");
    CHECK(differing == 0);
  }
}

TEST_CASE("Adam: one step equals the formula in float64, with weight decay") {
  fh::Generator gen(run_seed());
  const tr::AdamOptions o{0.01, 0.8, 0.95, 1e-3, 0.1};
  Tensor p = fh::randn({5}, gen, 0.0, 1.0, DType::F64).requires_grad_();
  const std::vector<double> p0 = p.to_vector<double>();
  tr::Adam opt({{"p", p}}, o);
  std::vector<double> m(5, 0.0), v(5, 0.0), expected = p0;
  for (int step = 1; step <= 3; ++step) {
    const Tensor g = fh::randn({5}, gen, 0.0, 1.0, DType::F64);
    opt.zero_grad();
    fh::sum(fh::mul(p, g)).backward();  // gradient = g
    opt.step();
    const std::vector<double> gv = g.to_vector<double>();
    for (int i = 0; i < 5; ++i) {
      const double gi = gv[i] + o.weight_decay * expected[i];
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * gi;
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * gi * gi;
      const double mhat = m[i] / (1 - std::pow(o.beta1, step)),
                   vhat_sqrt = std::sqrt(v[i]) / std::sqrt(1 - std::pow(o.beta2, step));
      expected[i] -= o.lr * mhat / (vhat_sqrt + o.eps);
    }
    FH_CHECK_CLOSE(p.detach(), Tensor::from_vector(expected, {5}), (Tolerance{1e-15, 1e-14}),
                   "step " + std::to_string(step));
    FH_CHECK_CLOSE(opt.state("p").exp_avg, Tensor::from_vector(m, {5}), (Tolerance{1e-15, 1e-14}), "exp_avg");
    FH_CHECK_CLOSE(opt.state("p").exp_avg_sq, Tensor::from_vector(v, {5}), (Tolerance{1e-15, 1e-14}), "exp_avg_sq");
  }
  CHECK(opt.state("p").step == 3);
}

TEST_CASE("Adam: parameters without a gradient are skipped and keep step 0") {
  fh::Generator gen(run_seed());
  Tensor a = fh::randn({3}, gen).requires_grad_(), b = fh::randn({3}, gen).requires_grad_();
  const std::vector<float> b0 = b.to_vector<float>();
  tr::Adam opt({{"a", a}, {"b", b}}, {});
  fh::sum(fh::mul(a, a)).backward();
  opt.step();
  CHECK(opt.state("a").step == 1);
  CHECK(opt.state("b").step == 0);
  CHECK(!opt.state("b").exp_avg.defined());
  CHECK(b.to_vector<float>() == b0);
  CHECK_THROWS_WITH_AS(opt.state("c"), doctest::Contains("no parameter named 'c'"), fh::Error);
}

TEST_CASE("Adam: a saved and reloaded state resumes training to the same bits") {
  fh::Generator gen(run_seed());
  const Mlp start = make_mlp(gen);
  const Tensor x = fh::randn({12, 4}, gen), y = fh::randn({12, 2}, gen);
  const tr::LrSchedule schedule = tr::LrSchedule::linear_decay(1e-2, 3, 9);
  const tr::AdamOptions o{1e-2, 0.5, 0.999, 1e-8, 0};

  const Mlp straight = copy_of(start);
  tr::Adam opt_straight(straight.parameters(), o);
  train(straight, opt_straight, x, y, 6, schedule);

  const Mlp first = copy_of(start);
  tr::Adam opt_first(first.parameters(), o);
  train(first, opt_first, x, y, 3, schedule);
  const std::string path = temp_path("state.safetensors");
  // Store the weights' moments transposed (as a layout hook would), and read them back.
  auto transpose_2d = [](const std::string&, const Tensor& t) { return t.dim() == 2 ? fh::permute(t, {1, 0}) : t; };
  opt_first.save_state(path, transpose_2d);
  const fh::safetensors::Contents file = fh::safetensors::load(path);
  CHECK(file.get("fc1.weight.exp_avg").shape() == Shape{4, 8});
  CHECK(file.get("fc2.bias.step").item() == 3.0);
  CHECK(file.get("fc2.bias.step").dim() == 0);
  CHECK(file.metadata.at("optimizer") == "adam");

  const Mlp resumed = copy_of(first);
  tr::Adam opt_resumed(resumed.parameters(), o);
  opt_resumed.load_state(path, transpose_2d);
  train(resumed, opt_resumed, x, y, 3, schedule, 3);
  for (const auto& [a, b] : {std::pair{resumed.w1, straight.w1},
                             {resumed.b1, straight.b1},
                             {resumed.w2, straight.w2},
                             {resumed.b2, straight.b2}})
    CHECK(same_bits(a, b));
  CHECK(opt_resumed.state("fc1.weight").step == 6);
  std::filesystem::remove(path);
}

TEST_CASE("Adam: bad state files are errors naming the file and the tensor") {
  fh::Generator gen(run_seed());
  Tensor w = fh::randn({2, 3}, gen).requires_grad_();
  tr::Adam opt({{"w", w}}, {});
  const std::string path = temp_path("bad.safetensors");
  const std::map<std::string, std::string> meta{{"optimizer", "adam"}};
  auto expect = [&](const fh::safetensors::NamedTensors& tensors, const std::map<std::string, std::string>& m,
                    const char* message) {
    fh::safetensors::save(path, tensors, m);
    CHECK_THROWS_WITH_AS(opt.load_state(path), doctest::Contains(message), fh::Error);
    try {
      opt.load_state(path);
    } catch (const fh::Error& e) {
      CHECK_MESSAGE(std::string(e.what()).find(path) != std::string::npos, e.what());
    }
  };
  const Tensor m = Tensor::zeros({2, 3}), step = Tensor::scalar(2.0);
  expect({{"w.exp_avg", m}, {"w.step", step}}, meta, "no tensor named 'w.exp_avg_sq'");
  expect({{"w.exp_avg", m}, {"w.exp_avg_sq", Tensor::zeros({3, 2})}, {"w.step", step}}, meta,
         "tensor 'w.exp_avg_sq' has shape [3, 2] but parameter w has [2, 3]");
  expect({{"w.exp_avg", m}, {"w.exp_avg_sq", m}, {"w.step", step}, {"v.step", step}}, meta,
         "tensor 'v.step' belongs to no parameter");
  expect({{"w.exp_avg", m}, {"w.exp_avg_sq", m}, {"w.step", Tensor::scalar(1.5)}}, meta,
         "expected a whole number >= 1");
  expect({{"w.exp_avg", m}, {"w.exp_avg_sq", m}}, meta, "tensor 'w.step' is missing but the moments of w are present");
  expect({{"w.exp_avg", m}, {"w.exp_avg_sq", m}, {"w.step", step}}, {}, "is not an Adam state file");
  Tensor nan = Tensor::zeros({2, 3});
  nan.data<float>()[4] = std::nanf("");
  expect({{"w.exp_avg", nan}, {"w.exp_avg_sq", m}, {"w.step", step}}, meta,
         "tensor 'w.exp_avg' holds a non-finite value");
  // A failed load leaves the state as it was.
  CHECK(opt.state("w").step == 0);
  std::filesystem::remove(path);

  CHECK_THROWS_WITH_AS(tr::Adam({{"w", w}, {"w", w}}, {}), doctest::Contains("'w' is empty or appears twice"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(tr::Adam({{"w", w}}, {0.1, 1.0, 0.999}), doctest::Contains("betas (1, 0.999)"), fh::Error);
  CHECK_THROWS_WITH_AS(opt.set_lr(-1), doctest::Contains("learning rate -1"), fh::Error);
}

TEST_CASE("learning-rate schedules: constant, and constant then linear to zero") {
  const tr::LrSchedule c = tr::LrSchedule::constant(2e-4);
  CHECK(c.at(0) == 2e-4);
  CHECK(c.at(1000000) == 2e-4);
  const tr::LrSchedule d = tr::LrSchedule::linear_decay(1.0, 4, 8);
  const double expected[] = {1, 1, 1, 1, 1, 0.75, 0.5, 0.25, 0, 0};
  for (int k = 0; k < 10; ++k) CHECK(d.at(k) == doctest::Approx(expected[k]));
  CHECK(d.at(100) == 0.0);
  CHECK_THROWS_WITH_AS(tr::LrSchedule::linear_decay(1.0, 5, 5), doctest::Contains("needs 0 <= start < end"), fh::Error);
  CHECK_THROWS_WITH_AS(tr::LrSchedule::constant(-1.0), doctest::Contains("learning rate -1"), fh::Error);
}
