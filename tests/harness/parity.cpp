#include "tests/harness/parity.h"

#include <doctest/doctest.h>

#include <algorithm>

namespace fh::test {

ParityCase make_parity_case(Generator& gen, std::string op, std::string args, std::vector<Tensor> inputs, DiffOp ours,
                            Tolerance tol) {
  ParityCase c;
  c.oracle.op = std::move(op);
  c.oracle.args_json = std::move(args);
  c.oracle.inputs = std::move(inputs);
  c.oracle.requires_grad.assign(c.oracle.inputs.size(), true);
  // The output shape comes from running our op once (the inputs do not require grad yet).
  c.oracle.grad_output = randn(ours(c.oracle.inputs).shape(), gen);
  c.ours = std::move(ours);
  c.tol = tol;
  return c;
}

bool skip_without_oracle() {
  std::string why;
  if (oracle_available(&why)) return false;
  MESSAGE("[fh skip] PyTorch oracle unavailable: " << why);
  return true;
}

bool run_parity(const std::vector<ParityCase>& cases, double* worst) {
  if (skip_without_oracle()) return false;
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

}  // namespace fh::test
