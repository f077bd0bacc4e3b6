#include "tests/harness/parity.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>

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

bool run_parity(const std::vector<ParityCase>& cases, double* worst, std::map<std::string, double>* worst_by_op) {
  if (skip_without_oracle()) return false;
  std::vector<OracleCase> oracle_cases;
  for (const ParityCase& c : cases) oracle_cases.push_back(c.oracle);
  const std::vector<OracleResult> refs = run_oracle(oracle_cases);
  *worst = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const ParityCase& c = cases[i];
    std::vector<Tensor> inputs;
    for (size_t j = 0; j < c.oracle.inputs.size(); ++j) {
      Tensor t = c.oracle.inputs[j].clone();
      inputs.push_back(c.oracle.requires_grad[j] ? t.requires_grad_() : t);
    }
    const Tensor out = c.ours(inputs);
    if (out.requires_grad()) out.backward(c.oracle.grad_output);
    std::string shapes;
    for (const Tensor& t : inputs) shapes += t.shape().str() + " ";
    const std::string name = "case " + std::to_string(i) + " " + c.oracle.op + " " + c.oracle.args_json + " " + shapes;
    // The output, then each input's gradient.
    for (size_t k = 0; k <= inputs.size(); ++k) {
      Tensor ours = out, ref = refs[i].output;
      Tolerance tol = c.tol;
      std::string what = name + "output";
      if (k > 0) {
        if (!c.oracle.requires_grad[k - 1]) continue;
        const Tensor& x = inputs[k - 1];
        ours = x.grad().defined() ? x.grad() : Tensor::zeros(x.shape());
        ref = refs[i].grads[k - 1];
        if (!c.grad_tol.empty()) tol = c.grad_tol[k - 1];
        what = name + "grad" + std::to_string(k - 1);
      }
      const Comparison cmp = compare(ours, ref, tol);
      INFO(cmp.report(what));
      CHECK(cmp.ok());
      if (c.exact) CHECK_MESSAGE(same_bits(ours, ref), what << " is not bit-identical");
      *worst = std::max(*worst, cmp.worst_fraction);
      if (worst_by_op != nullptr) {
        double& w = (*worst_by_op)[c.oracle.op];
        w = std::max(w, cmp.worst_fraction);
      }
    }
  }
  return true;
}

}  // namespace fh::test
