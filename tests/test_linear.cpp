// linear, transpose and batched small matmuls (the plain-loop path of kernels/cpu/matmul.cpp):
// float64 gradient checks, PyTorch parity on fresh float32 inputs, thread-count
// independence and error messages.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <functional>

#include "autograd/ops.h"
#include "kernels/linear.h"
#include "kernels/core.h"
#include "runtime/thread_pool.h"
#include "tests/harness/gradcheck.h"
#include "tests/harness/parity.h"
#include "tests/harness/random_inputs.h"
#include "tests/harness/tolerance.h"

using fh::DType;
using fh::Shape;
using fh::Tensor;
using namespace fh::test;

namespace {


void expect_gradcheck(const Function& fn, const std::vector<Tensor>& inputs, const std::string& what) {
  check_gradients(fn, inputs, what);
}

// x [..., in] with 0 to 2 leading dims (size 1 drawn often).
Shape linear_input(fh::Generator& gen, int64_t in) {
  Shape s = random_shape(gen, static_cast<int>(rand_int(gen, 0, 2)), 5);
  s.push_back(in);
  return s;
}

}  // namespace

TEST_CASE("gradcheck: linear") {
  fh::Generator gen(run_seed());
  for (int trial = 0; trial < 8; ++trial) {
    const int64_t in = rand_int(gen, 1, 6), out = rand_int(gen, 1, 6);
    const Shape xs = linear_input(gen, in);
    const bool bias = trial % 2 == 0;
    std::vector<Tensor> inputs = {random_leaf(xs, gen), random_leaf({out, in}, gen)};
    if (bias) inputs.push_back(random_leaf({out}, gen));
    expect_gradcheck([bias](auto& x) { return fh::linear(x[0], x[1], bias ? x[2] : Tensor()); }, inputs,
                     "linear x " + xs.str() + " out " + std::to_string(out) + (bias ? " bias" : ""));
  }
}

TEST_CASE("gradcheck: transpose, and small batched matmuls through it") {
  fh::Generator gen(run_seed());
  expect_gradcheck([](auto& x) { return fh::transpose(x[0], 0, 2); }, {random_leaf({3, 1, 4}, gen)}, "transpose 0,2");
  expect_gradcheck([](auto& x) { return fh::transpose(x[0], -1, -2); }, {random_leaf({2, 3, 4}, gen)}, "transpose -1,-2");
  // Rotating key-points: R [B,3,3] · p [B,3,68]; and pᵀ · Rᵀ, whose backward takes the
  // transposed-operand loops.
  expect_gradcheck([](auto& x) { return fh::matmul(x[0], x[1]); }, {random_leaf({4, 3, 3}, gen), random_leaf({4, 3, 68}, gen)},
                   "R · p");
  expect_gradcheck([](auto& x) { return fh::matmul(fh::transpose(x[1], 1, 2), fh::transpose(x[0], 1, 2)); },
                   {random_leaf({4, 3, 3}, gen), random_leaf({4, 3, 17}, gen)}, "pᵀ · Rᵀ");
}

TEST_CASE("PyTorch parity: linear, transpose, small batched matmuls") {
  if (skip_without_oracle()) return;
  fh::Generator gen(run_seed());
  std::vector<ParityCase> cases;
  auto add = [&](std::string op, std::string args, std::vector<Tensor> inputs, DiffOp ours, double terms) {
    // Float32 sums of `terms` unit-variance products err by up to about terms·eps.
    cases.push_back(make_parity_case(gen, std::move(op), std::move(args), std::move(inputs), std::move(ours),
                                     {std::max(1e-6, 2.5e-7 * terms), 1e-5}));
  };
  for (int trial = 0; trial < 8; ++trial) {
    const int64_t in = rand_int(gen, 1, 40), out = rand_int(gen, 1, 30);
    const Shape xs = linear_input(gen, in);
    const double rows = static_cast<double>(xs.numel() / in);
    add(
        "linear", "", {fh::randn(xs, gen), fh::randn({out, in}, gen), fh::randn({out}, gen)},
        [](auto& x) { return fh::linear(x[0], x[1], x[2]); }, std::max<double>({double(in), double(out), rows}));
    add(
        "linear", "", {fh::randn(xs, gen), fh::randn({out, in}, gen)}, [](auto& x) { return fh::linear(x[0], x[1]); },
        std::max<double>({double(in), double(out), rows}));
    const Shape ts = random_shape(gen, 4, 5);
    const int64_t d0 = rand_int(gen, -4, 3), d1 = rand_int(gen, -4, 3);
    add(
        "transpose", "{\"dim0\":" + std::to_string(d0) + ",\"dim1\":" + std::to_string(d1) + "}", {fh::randn(ts, gen)},
        [d0, d1](auto& x) { return fh::transpose(x[0], d0, d1); }, 1);
  }
  // The key-point heads' shape and the gaze head's.
  add(
      "linear", "", {fh::randn({8, 512}, gen), fh::randn({204, 512}, gen), fh::randn({204}, gen)},
      [](auto& x) { return fh::linear(x[0], x[1], x[2]); }, 512);
  // Rotations of key-points, batch 1 to 64, plain and with a broadcast rotation; products on
  // both sides of the plain-loop threshold (M·N·K = 1024).
  for (int64_t B : {1, 5, 64}) {
    add(
        "matmul", "", {fh::randn({B, 3, 3}, gen), fh::randn({B, 3, 68}, gen)},
        [](auto& x) { return fh::matmul(x[0], x[1]); }, 68);
  }
  add(
      "matmul", "", {fh::randn({3, 3}, gen), fh::randn({7, 3, 68}, gen)},
      [](auto& x) { return fh::matmul(x[0], x[1]); }, 68 * 7);
  add(
      "matmul", "", {fh::randn({6, 8, 16}, gen), fh::randn({6, 16, 8}, gen)},
      [](auto& x) { return fh::matmul(x[0], x[1]); }, 16);
  add(
      "matmul", "", {fh::randn({6, 8, 16}, gen), fh::randn({6, 16, 9}, gen)},
      [](auto& x) { return fh::matmul(x[0], x[1]); }, 16);
  add(
      "matmul", "", {fh::randn({2, 1, 37}, gen), fh::randn({2, 37, 1}, gen)},
      [](auto& x) { return fh::matmul(x[0], x[1]); }, 37);

  double worst = 0;
  if (!run_parity(cases, &worst)) return;
  MESSAGE(cases.size() << " linear/transpose/matmul cases against PyTorch; worst error " << worst << " of threshold");
}

TEST_CASE("small matmuls: every transpose combination matches direct loops") {
  fh::Generator gen(run_seed());
  for (int trial = 0; trial < 12; ++trial) {
    // Sizes on both sides of the plain-loop threshold (M·N·K = 1024).
    const int64_t B = rand_int(gen, 1, 3), M = rand_int(gen, 1, 9), K = rand_int(gen, 1, 40), N = rand_int(gen, 1, 20);
    for (int flags = 0; flags < 4; ++flags) {
      const bool ta = flags & 1, tb = flags & 2;
      const Tensor a = fh::randn(ta ? Shape{B, K, M} : Shape{B, M, K}, gen, 0, 1, DType::F64);
      const Tensor b = fh::randn(tb ? Shape{B, N, K} : Shape{B, K, N}, gen, 0, 1, DType::F64);
      const std::vector<double> av = a.to_vector<double>(), bv = b.to_vector<double>();
      std::vector<double> ref(B * M * N, 0.0);
      for (int64_t i = 0; i < B; ++i)
        for (int64_t m = 0; m < M; ++m)
          for (int64_t n = 0; n < N; ++n)
            for (int64_t k = 0; k < K; ++k)
              ref[(i * M + m) * N + n] +=
                  av[i * M * K + (ta ? k * M + m : m * K + k)] * bv[i * K * N + (tb ? n * K + k : k * N + n)];
      const std::string what = "a " + a.shape().str() + (ta ? "ᵀ" : "") + " b " + b.shape().str() + (tb ? "ᵀ" : "");
      FH_CHECK_CLOSE(fh::kernels::matmul(a, b, ta, tb), Tensor::from_vector(ref, {B, M, N}), Tolerance({1e-12, 1e-12}),
                     what);
    }
  }
}

TEST_CASE("small batched matmuls: bit-identical whatever the thread count") {
  const int before = fh::num_threads();
  fh::Generator gen(3);
  const Tensor r = fh::randn({64, 3, 3}, gen), p = fh::randn({64, 3, 68}, gen), g = fh::randn({64, 3, 68}, gen);
  std::vector<std::vector<float>> results;
  for (int threads : {1, 2, 3}) {
    fh::set_num_threads(threads);
    std::vector<float> bits;
    for (const Tensor& t :
         {fh::kernels::matmul(r, p), fh::kernels::matmul(g, p, false, true), fh::kernels::matmul(r, g, true, false)}) {
      const std::vector<float> v = t.to_vector<float>();
      bits.insert(bits.end(), v.begin(), v.end());
    }
    results.push_back(bits);
  }
  fh::set_num_threads(before);
  for (size_t i = 1; i < results.size(); ++i)
    CHECK(std::memcmp(results[i].data(), results[0].data(), results[0].size() * sizeof(float)) == 0);
}

TEST_CASE("linear and transpose errors name the op and every shape") {
  CHECK_THROWS_WITH_AS(fh::linear(Tensor::zeros({4, 5}), Tensor::zeros({3, 6})),
                       doctest::Contains("linear: input [4, 5] has in=5 but weight [3, 6] expects in=6"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::linear(Tensor::zeros({4, 5}), Tensor::zeros({3, 5}), Tensor::zeros({4})),
                       doctest::Contains("linear: bias [4] does not match weight [3, 5] (expected [3])"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::linear(Tensor::zeros({4, 5}), Tensor::zeros({5})),
                       doctest::Contains("linear: needs input [..., in] and weight [out, in], got input [4, 5] and "
                                         "weight [5]"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::kernels::linear_backward_input(Tensor::zeros({4, 2}), Tensor::zeros({3, 5}), {4, 5}),
                       doctest::Contains("linear_backward_input: gradient [4, 2] does not match input [4, 5] and "
                                         "weight [3, 5]"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(fh::transpose(Tensor::zeros({2, 3}), 0, 2),
                       doctest::Contains("transpose: dim 2 is out of range for shape [2, 3]"), fh::Error);
}

TEST_CASE("linear: 1-d input, empty batch and zero input features") {
  const Tensor w = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3}),
               b = Tensor::from_vector<float>({10, 20}, {2});
  CHECK(fh::linear(Tensor::from_vector<float>({1, 1, 1}, {3}), w, b).to_vector<float>() == std::vector<float>{16, 35});
  CHECK(fh::linear(Tensor::zeros({0, 3}), w, b).shape() == Shape{0, 2});
  CHECK(fh::linear(Tensor::zeros({2, 0}), Tensor::zeros({2, 0}), b).to_vector<float>() ==
        std::vector<float>{10, 20, 10, 20});
}
