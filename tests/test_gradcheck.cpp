// The gradient checker itself: it must fail an op whose recorded backward is wrong. Every
// op's own float64 gradient check is the op table's (tests/ops/*_cases.cpp).
#include <doctest/doctest.h>

#include "autograd/node.h"
#include "autograd/ops.h"
#include "kernels/core.h"
#include "tests/harness/gradcheck.h"
#include "tests/harness/random_inputs.h"

using fh::Tensor;
using namespace fh::test;

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
