// linear, transpose and batched small matmuls (the plain-loop path of kernels/cpu/matmul.cpp):
// every transpose combination against direct loops, thread-count independence and error
// messages. Gradient checks, PyTorch parity and the CPU/CUDA comparison are the op table's
// (tests/ops/core_cases.cpp).
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
