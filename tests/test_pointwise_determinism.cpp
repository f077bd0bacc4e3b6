// The pointwise family gives the same bits for the same inputs whatever the thread count:
// each output is written by one chunk, and every sum (softmax rows and columns, the losses'
// means) runs in an order fixed by the shape alone.
#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "autograd/ops.h"
#include "runtime/random.h"
#include "runtime/thread_pool.h"
#include "tests/harness/tolerance.h"

using fh::test::same_bits;
using fh::Tensor;

namespace {

std::vector<float> bits_of(const Tensor& t) { return t.to_vector<float>(); }

// Forward values and input gradients of every op family member, concatenated.
std::vector<float> run_all() {
  fh::Generator gen(7);
  std::vector<float> all;
  auto append = [&](const Tensor& t) {
    const std::vector<float> v = bits_of(t);
    all.insert(all.end(), v.begin(), v.end());
  };
  auto through = [&](const Tensor& x, auto op) {
    Tensor leaf = x.clone().requires_grad_();
    Tensor y = op(leaf);
    y.backward(fh::randn(y.shape(), gen));
    append(y);
    append(leaf.grad());
  };
  const Tensor image = fh::randn({2, 67, 45, 33}, gen);  // ~200k elements: several chunks
  through(image, [](const Tensor& x) { return fh::leaky_relu(x, 0.2); });
  through(image, [](const Tensor& x) { return fh::tanh(x); });
  through(image, [](const Tensor& x) { return fh::sigmoid(x); });
  through(image, [](const Tensor& x) { return fh::softmax(x, -1); });  // rows of 33
  through(image, [](const Tensor& x) { return fh::softmax(x, 1); });   // columns over 67
  through(fh::randn({40000, 5}, gen), [](const Tensor& x) { return fh::softmax(x, -1); });  // short rows
  through(fh::randn({3, 2000}, gen), [](const Tensor& x) { return fh::softmax(x, -1); });   // long rows
  const Tensor target = fh::randn(image.shape(), gen);
  through(image, [&](const Tensor& x) { return fh::l1_loss(x, target); });
  through(image, [&](const Tensor& x) { return fh::mse_loss(x, target); });
  through(image, [](const Tensor& x) { return fh::hinge_real(x); });
  through(image, [](const Tensor& x) { return fh::hinge_fake(x); });
  through(image, [](const Tensor& x) { return fh::hinge_generator(x); });
  return all;
}

}  // namespace

TEST_CASE("pointwise ops are bit-identical across runs and thread counts") {
  const int before = fh::num_threads();
  std::vector<std::vector<float>> results;
  for (int threads : {1, 2, 3, 4}) {
    fh::set_num_threads(threads);
    results.push_back(run_all());
    CHECK(same_bits(results.back(), run_all()));
  }
  fh::set_num_threads(before);
  for (size_t i = 1; i < results.size(); ++i) CHECK(same_bits(results[0], results[i]));
}
