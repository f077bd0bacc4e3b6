// Float64 central-difference gradient checks for every differentiable op, on random shapes
// that include broadcasting and size-1 dims.
#include <doctest/doctest.h>

#include "autograd/node.h"
#include "autograd/ops.h"
#include "kernels/core.h"
#include "tests/harness/gradcheck.h"
#include "tests/harness/random_inputs.h"

using fh::DType;
using fh::Shape;
using fh::Tensor;
using namespace fh::test;

namespace {


void expect_ok(const Function& fn, const std::vector<Tensor>& inputs, const std::string& what) {
  check_gradients(fn, inputs, what);
}

constexpr int kTrials = 6;

}  // namespace

TEST_CASE("gradcheck: add, sub, mul, div with broadcasting") {
  fh::Generator gen(run_seed());
  for (int trial = 0; trial < kTrials; ++trial) {
    const Shape sa = random_shape(gen, static_cast<int>(rand_int(gen, 0, 4)));
    const Shape sb = broadcastable_to(gen, sa);
    // Swap sides half the time so that either operand can be the broadcast one.
    const bool swap = rand_int(gen, 0, 1) == 1;
    Tensor a = random_leaf(swap ? sb : sa, gen), b = random_leaf(swap ? sa : sb, gen);
    Tensor denom = random_leaf(swap ? sa : sb, gen, 0.5, 2.0);
    const std::string shapes = a.shape().str() + " with " + b.shape().str();
    expect_ok([](auto& x) { return fh::add(x[0], x[1]); }, {a, b}, "add " + shapes);
    expect_ok([](auto& x) { return fh::sub(x[0], x[1]); }, {a, b}, "sub " + shapes);
    expect_ok([](auto& x) { return fh::mul(x[0], x[1]); }, {a, b}, "mul " + shapes);
    expect_ok([](auto& x) { return fh::div(x[0], x[1]); }, {a, denom}, "div " + shapes);
  }
}

TEST_CASE("gradcheck: relu, exp, log, neg, scale, add_scalar") {
  fh::Generator gen(run_seed());
  for (int trial = 0; trial < kTrials; ++trial) {
    const Shape s = random_shape(gen, static_cast<int>(rand_int(gen, 0, 4)));
    // relu's kink at 0 has no derivative; keep inputs away from it.
    Tensor r = fh::rand(s, gen, 0.1, 1.0, DType::F64);
    Tensor sign = fh::kernels::unary(fh::kernels::UnaryOp::AddScalar,
                                     fh::kernels::unary(fh::kernels::UnaryOp::Scale, fh::rand(s, gen, 0, 1, DType::F64), 2.0), -1.0);
    Tensor x_relu = fh::kernels::binary(fh::kernels::BinaryOp::Mul, r, sign).requires_grad_();
    expect_ok([](auto& x) { return fh::relu(x[0]); }, {x_relu}, "relu " + s.str());
    expect_ok([](auto& x) { return fh::exp(x[0]); }, {random_leaf(s, gen)}, "exp " + s.str());
    expect_ok([](auto& x) { return fh::log(x[0]); }, {random_leaf(s, gen, 0.2, 3.0)}, "log " + s.str());
    expect_ok([](auto& x) { return -x[0]; }, {random_leaf(s, gen)}, "neg " + s.str());
    expect_ok([](auto& x) { return x[0] * 2.5; }, {random_leaf(s, gen)}, "scale " + s.str());
    expect_ok([](auto& x) { return x[0] + 0.7; }, {random_leaf(s, gen)}, "add_scalar " + s.str());
  }
}

TEST_CASE("gradcheck: matmul, batched and broadcast") {
  fh::Generator gen(run_seed());
  for (int trial = 0; trial < kTrials; ++trial) {
    const int64_t M = rand_int(gen, 1, 5), K = rand_int(gen, 1, 5), N = rand_int(gen, 1, 5);
    Shape sa{M, K}, sb{K, N};
    const int64_t mode = rand_int(gen, 0, 3);  // 0: plain, 1: same batch, 2: a batched only, 3: broadcast batch
    const int64_t B = rand_int(gen, 1, 3);
    if (mode == 1) sa.insert(0, B), sb.insert(0, B);
    if (mode == 2) sa.insert(0, B);
    if (mode == 3) sa.insert(0, B), sa.insert(0, 2), sb.insert(0, B), sb.insert(0, 1);
    expect_ok([](auto& x) { return fh::matmul(x[0], x[1]); }, {random_leaf(sa, gen), random_leaf(sb, gen)},
              "matmul " + sa.str() + " · " + sb.str());
  }
}

TEST_CASE("gradcheck: sum and mean over axes, reshape") {
  fh::Generator gen(run_seed());
  for (int trial = 0; trial < kTrials; ++trial) {
    const int nd = static_cast<int>(rand_int(gen, 1, 4));
    const Shape s = random_shape(gen, nd);
    std::vector<int64_t> dims;
    for (int d = 0; d < nd; ++d)
      if (rand_int(gen, 0, 1)) dims.push_back(rand_int(gen, 0, 1) ? d : d - nd);
    const bool keepdim = rand_int(gen, 0, 1) == 1;
    const std::string what = s.str() + " dims " + std::to_string(dims.size()) + (keepdim ? " keepdim" : "");
    expect_ok([&](auto& x) { return fh::sum(x[0], dims, keepdim); }, {random_leaf(s, gen)}, "sum " + what);
    expect_ok([&](auto& x) { return fh::mean(x[0], dims, keepdim); }, {random_leaf(s, gen)}, "mean " + what);
    expect_ok([&](auto& x) { return fh::exp(fh::reshape(x[0], {-1})); }, {random_leaf(s, gen)}, "reshape " + s.str());
  }
}

TEST_CASE("gradcheck: parameters in a composite (a one-layer MLP loss)") {
  fh::Generator gen(run_seed());
  Tensor input = fh::rand({4, 3}, gen, -1, 1, DType::F64);  // data, no grad
  Tensor w = random_leaf({3, 5}, gen), bias = random_leaf({5}, gen), target = fh::rand({4, 5}, gen, 0, 1, DType::F64);
  expect_ok(
      [&](auto& p) {
        Tensor h = fh::relu(fh::matmul(input, p[0]) + p[1]);
        Tensor d = h - target;
        return fh::mean(d * d, {1});
      },
      {w, bias}, "mlp");
}

TEST_CASE("gradcheck catches a wrong backward") {
  // An op whose recorded backward is off by a factor of 2: the checker must fail it.
  auto wrong_square = [](const std::vector<Tensor>& x) {
    Tensor out = fh::kernels::binary(fh::kernels::BinaryOp::Mul, x[0], x[0]);
    if (fh::autograd::needs_grad({&x[0]})) {
      fh::autograd::record("WrongSquareBackward", {&x[0]}, {&out}, [xs = x[0].detach()](std::vector<Tensor>& g) {
        return std::vector<Tensor>{fh::kernels::binary(fh::kernels::BinaryOp::Mul, g[0], xs)};  // should be 2·x·g
      });
    }
    return out;
  };
  fh::Generator gen(run_seed());
  const GradcheckResult r = gradcheck(wrong_square, {random_leaf({3}, gen, 0.5, 1.0)});
  CHECK_FALSE(r.ok);
  CHECK(r.worst_fraction > 1000);
}

TEST_CASE("gradcheck: permute") {
  fh::Generator gen(run_seed());
  expect_ok([](auto& x) { return fh::permute(x[0], {2, 0, 1}); }, {random_leaf({3, 1, 4}, gen)}, "permute [3,1,4]");
  expect_ok([](auto& x) { return fh::permute(x[0], {0, 3, 1, 2}); }, {random_leaf({2, 3, 2, 4}, gen)}, "permute NHWC->NCHW");
}
