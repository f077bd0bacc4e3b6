// The engine's contract: reverse topological order, += accumulation, shared parameters,
// no-grad, graph release and retention.
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops.h"

using fh::Tensor;

namespace {
std::vector<float> values(const Tensor& t) { return t.to_vector<float>(); }
}  // namespace

TEST_CASE("gradients of a small expression match the hand-derived ones") {
  // f = sum(relu(a·b) + exp(a) / b), a = [1, -2], b = [3, 4]
  Tensor a = Tensor::from_vector<float>({1, -2}, {2}).requires_grad_();
  Tensor b = Tensor::from_vector<float>({3, 4}, {2}).requires_grad_();
  Tensor f = fh::sum(fh::relu(a * b) + fh::exp(a) / b);
  f.backward();
  // df/da = b·[ab>0] + exp(a)/b ; df/db = a·[ab>0] - exp(a)/b²
  const float e1 = std::exp(1.0f), e2 = std::exp(-2.0f);
  const std::vector<float> ga = values(a.grad()), gb = values(b.grad());
  CHECK(ga[0] == doctest::Approx(3 + e1 / 3));
  CHECK(ga[1] == doctest::Approx(0 + e2 / 4));
  CHECK(gb[0] == doctest::Approx(1 - e1 / 9));
  CHECK(gb[1] == doctest::Approx(0 - e2 / 16));
  CHECK(f.item() == doctest::Approx(3 + e1 / 3 + e2 / 4));
}

TEST_CASE("gradients accumulate across backward calls and shared uses") {
  Tensor w = Tensor::from_vector<float>({2}, {1}).requires_grad_();
  // w used twice in one graph: d(w·w)/dw = 2w.
  fh::sum(w * w).backward();
  CHECK(values(w.grad()) == std::vector<float>{4});
  // A second backward adds (+=) rather than overwrites.
  fh::sum(w * 3.0).backward();
  CHECK(values(w.grad()) == std::vector<float>{7});
  w.zero_grad();
  CHECK_FALSE(w.grad().defined());
}

TEST_CASE("broadcast gradients are summed back to each input's shape") {
  Tensor a = Tensor::ones({2, 3}).requires_grad_();
  Tensor bias = Tensor::ones({3}).requires_grad_();
  Tensor col = Tensor::ones({2, 1}).requires_grad_();
  fh::sum((a + bias) * col).backward();
  CHECK(bias.grad().shape() == fh::Shape{3});
  CHECK(values(bias.grad()) == std::vector<float>{2, 2, 2});
  CHECK(col.grad().shape() == fh::Shape{2, 1});
  CHECK(values(col.grad()) == std::vector<float>{6, 6});
}

TEST_CASE("no-grad guard records nothing") {
  Tensor x = Tensor::ones({2}).requires_grad_();
  {
    fh::NoGradGuard guard;
    Tensor y = fh::exp(x);
    CHECK_FALSE(y.requires_grad());
    CHECK(y.is_leaf());
  }
  CHECK(fh::grad_enabled());
  Tensor z = fh::exp(x);
  CHECK(z.requires_grad());
  CHECK(z.grad_fn()->name() == "ExpBackward");
}

TEST_CASE("the graph is freed after backward unless retained") {
  Tensor x = Tensor::from_vector<float>({1, 2}, {2}).requires_grad_();
  Tensor y = fh::sum(fh::exp(x));
  y.backward({}, /*retain_graph=*/true);
  y.backward();
  CHECK(values(x.grad())[0] == doctest::Approx(2 * std::exp(1.0f)));
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("freed by an earlier backward()"), fh::Error);
  // The leaf itself is still usable in a new graph.
  fh::sum(x).backward();
  CHECK(values(x.grad())[1] == doctest::Approx(2 * std::exp(2.0f) + 1));
}

TEST_CASE("detach cuts the graph, and only inputs that need grads get them") {
  Tensor x = Tensor::from_vector<float>({3}, {1}).requires_grad_();
  Tensor c = Tensor::from_vector<float>({5}, {1});
  Tensor y = fh::sum(x * x.detach() + c);
  y.backward();
  CHECK(values(x.grad()) == std::vector<float>{3});  // only the non-detached factor
  CHECK_FALSE(c.grad().defined());
}

TEST_CASE("a diamond runs each node once, after all its consumers") {
  // x -> a = 2x, b = 3x -> c = a·b = 6x² ; dc/dx = 12x
  Tensor x = Tensor::from_vector<double>({1.5}, {1}).requires_grad_();
  Tensor a = x * 2.0, b = x * 3.0;
  Tensor c = fh::sum(a * b);
  c.backward();
  CHECK(x.grad().item() == doctest::Approx(18.0));
}

TEST_CASE("a long chain does not overflow the stack") {
  Tensor x = Tensor::ones({1}).requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 20000; ++i) y = y + 1.0;
  fh::sum(y).backward();
  CHECK(x.grad().item() == 1.0);
}
