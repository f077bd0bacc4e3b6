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
#include "tests/harness/oracle.h"
#include "tests/harness/tolerance.h"

namespace fh::test::pool {

using Op = std::function<Tensor(const std::vector<Tensor>&)>;

struct ParityCase {
  OracleCase oracle;
  Op ours;
  Tolerance tol;
};

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
  ParityCase c;
  c.oracle.op = std::move(op);
  c.oracle.args_json = std::move(args);
  c.oracle.inputs = std::move(inputs);
  c.oracle.requires_grad.assign(c.oracle.inputs.size(), true);
  if (layout != Layout::kPlain) c.oracle.nhwc.assign(c.oracle.inputs.size(), true);
  c.oracle.nhwc_output = layout == Layout::kImages;
  // The output shape comes from running our op once (no gradients are recorded: the inputs
  // do not require them yet).
  c.oracle.grad_output = randn(ours(c.oracle.inputs).shape(), gen);
  c.ours = std::move(ours);
  c.tol = tol;
  return c;
}

// Runs every case against PyTorch; false (after printing "[fh skip]") when the oracle is
// unavailable. `worst` receives the worst fraction of threshold over all comparisons.
inline bool run_parity(const std::vector<ParityCase>& cases, double* worst) {
  std::string why;
  if (!oracle_available(&why)) {
    MESSAGE("[fh skip] PyTorch oracle unavailable: " << why);
    return false;
  }
  std::vector<OracleCase> oracle_cases;
  for (const ParityCase& c : cases) oracle_cases.push_back(c.oracle);
  const std::vector<OracleResult> refs = run_oracle(oracle_cases);
  *worst = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const ParityCase& c = cases[i];
    std::vector<Tensor> inputs;
    for (const Tensor& t : c.oracle.inputs) inputs.push_back(t.clone().requires_grad_());
    const Tensor out = c.ours(inputs);
    out.backward(c.oracle.grad_output);
    std::string shapes;
    for (const Tensor& t : inputs) shapes += t.shape().str() + " ";
    const std::string name = "case " + std::to_string(i) + " " + c.oracle.op + " " + c.oracle.args_json + " " + shapes;
    const Comparison co = compare(out, refs[i].output, c.tol);
    INFO(co.report(name + "output"));
    CHECK(co.ok());
    *worst = std::max(*worst, co.worst_fraction);
    for (size_t j = 0; j < inputs.size(); ++j) {
      const Tensor g = inputs[j].grad().defined() ? inputs[j].grad() : Tensor::zeros(inputs[j].shape());
      const Comparison cg = compare(g, refs[i].grads[j], c.tol);
      INFO(cg.report(name + "grad" + std::to_string(j)));
      CHECK(cg.ok());
      *worst = std::max(*worst, cg.worst_fraction);
    }
  }
  return true;
}

}  // namespace fh::test::pool
