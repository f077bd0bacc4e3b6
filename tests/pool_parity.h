// PyTorch parity runner for the pool family's tests: cases pair an oracle case with our
// differentiable op; one oracle run serves them all; outputs and every input gradient are
// compared with atol + rtol·|ref| and the worst fraction of the threshold is reported.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "runtime/random.h"
#include "tests/harness/parity.h"

namespace fh::test::pool {

using Op = std::function<Tensor(const std::vector<Tensor>&)>;

using fh::test::ParityCase;
using fh::test::run_parity;

// Which tensors of a case are NHWC images (the oracle hands PyTorch their NCHW
// permutation and permutes results back).
enum class Layout {
  kPlain,        // none: layout-agnostic ops
  kImages,       // every input and the output
  kImagesToFlat  // every input, not the output (e.g. [N, H, W, C] -> [N, C])
};

// Float32 inputs; every input requires grad.
inline ParityCase make_case(Generator& gen, std::string op, std::string args, std::vector<Tensor> inputs, Op ours,
                            Layout layout, Tolerance tol = {1e-6, 1e-5}) {
  ParityCase c = make_parity_case(gen, std::move(op), std::move(args), std::move(inputs), std::move(ours), tol);
  if (layout != Layout::kPlain) c.oracle.nhwc.assign(c.oracle.inputs.size(), true);
  c.oracle.nhwc_output = layout == Layout::kImages;
  return c;
}

}  // namespace fh::test::pool
