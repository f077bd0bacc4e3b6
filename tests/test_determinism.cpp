// Same seed and thread count: bit-identical outputs and gradients.
#include <doctest/doctest.h>

#include <cstring>

#include "autograd/ops.h"
#include "runtime/random.h"
#include "runtime/thread_pool.h"
#include "tests/harness/tolerance.h"

using fh::test::same_bits;
using fh::Tensor;

namespace {

struct Run {
  std::vector<float> out, grad_w, grad_b;
};

Run run_once(uint64_t seed) {
  fh::Generator gen(seed);
  Tensor x = fh::randn({64, 96}, gen);
  Tensor w = fh::randn({96, 200}, gen).requires_grad_();
  Tensor b = fh::randn({200}, gen).requires_grad_();
  Tensor h = fh::relu(fh::matmul(x, w) + b);
  Tensor loss = fh::mean(fh::log(fh::exp(h * 0.1) + 1.0)) + fh::sum(fh::sum(h, {0}) * 1e-3);
  loss.backward();
  return {h.to_vector<float>(), w.grad().to_vector<float>(), b.grad().to_vector<float>()};
}

}  // namespace

TEST_CASE("same seed and thread count give bit-identical outputs and gradients") {
  const int before = fh::num_threads();
  for (int threads : {1, 2, 3}) {
    fh::set_num_threads(threads);
    const Run a = run_once(99), b = run_once(99);
    CHECK(same_bits(a.out, b.out));
    CHECK(same_bits(a.grad_w, b.grad_w));
    CHECK(same_bits(a.grad_b, b.grad_b));
    CHECK_FALSE(same_bits(a.out, run_once(100).out));
  }
  fh::set_num_threads(before);
}

TEST_CASE("sums are bit-identical whatever the thread count") {
  const int before = fh::num_threads();
  fh::Generator gen(5);
  const Tensor x = fh::randn({123, 4567}, gen);
  std::vector<std::vector<float>> results;
  for (int threads : {1, 2, 4}) {
    fh::set_num_threads(threads);
    const std::vector<float> all = fh::sum(x).to_vector<float>(), rows = fh::sum(x, {1}).to_vector<float>(),
                             cols = fh::sum(x, {0}).to_vector<float>();
    std::vector<float> joined = all;
    joined.insert(joined.end(), rows.begin(), rows.end());
    joined.insert(joined.end(), cols.begin(), cols.end());
    results.push_back(joined);
  }
  CHECK(same_bits(results[0], results[1]));
  CHECK(same_bits(results[0], results[2]));
  fh::set_num_threads(before);
}
