#include "tests/harness/gradcheck.h"

#include <doctest/doctest.h>

#include <cmath>
#include <sstream>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"

namespace fh::test {

namespace {

double weighted_loss(const Function& fn, const std::vector<Tensor>& inputs, const Tensor& w) {
  NoGradGuard no_grad;
  const Tensor out = fn(inputs);
  const std::vector<double> o = out.to_vector<double>(), ws = w.to_vector<double>();
  double s = 0;
  for (size_t i = 0; i < o.size(); ++i) s += o[i] * ws[i];
  return s;
}

}  // namespace

GradcheckResult gradcheck(const Function& fn, const std::vector<Tensor>& inputs, const GradcheckOptions& opts) {
  for (const Tensor& t : inputs) {
    FH_CHECK(t.dtype() == DType::F64 && t.device().is_cpu(), "gradcheck", "inputs must be float64 CPU tensors, got ",
             t.describe());
    if (t.requires_grad()) const_cast<Tensor&>(t).zero_grad();
  }
  Generator gen(opts.seed);
  // Analytic gradients of L = Σ out · w.
  const Tensor out = fn(inputs);
  const Tensor w = randn(out.shape(), gen, 0.0, 1.0, DType::F64);
  sum(mul(out, w)).backward();

  GradcheckResult result;
  std::ostringstream report;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Tensor x = inputs[i];
    if (!x.requires_grad()) continue;
    const Tensor analytic = x.grad().defined() ? x.grad() : Tensor::zeros(x.shape(), DType::F64);
    const double* ana = analytic.data<double>();
    double* data = x.data<double>();
    const int64_t n = x.numel();
    // Which elements to check: all of them, or a random subset of a large input.
    std::vector<int64_t> picks;
    if (n <= opts.max_elements) {
      for (int64_t j = 0; j < n; ++j) picks.push_back(j);
    } else {
      const std::vector<double> u = rand(Shape{opts.max_elements}, gen, 0.0, 1.0, DType::F64).to_vector<double>();
      for (double v : u) picks.push_back(std::min<int64_t>(n - 1, static_cast<int64_t>(v * static_cast<double>(n))));
    }
    double worst = 0;
    int64_t worst_j = -1, failures = 0;
    double worst_num = 0, worst_ana = 0;
    for (int64_t j : picks) {
      const double saved = data[j];
      data[j] = saved + opts.eps;
      const double plus = weighted_loss(fn, inputs, w);
      data[j] = saved - opts.eps;
      const double minus = weighted_loss(fn, inputs, w);
      data[j] = saved;
      const double numeric = (plus - minus) / (2 * opts.eps);
      const double fraction = std::abs(numeric - ana[j]) / (opts.tol.atol + opts.tol.rtol * std::abs(numeric));
      if (!(fraction <= 1.0)) ++failures;
      if (!(fraction <= worst)) {
        worst = fraction;
        worst_j = j;
        worst_num = numeric;
        worst_ana = ana[j];
      }
    }
    report << "input " << i << " " << x.shape() << ": " << picks.size() << " elements, worst " << worst
           << " of threshold";
    if (worst_j >= 0) report << " at " << worst_j << " (numeric " << worst_num << ", autograd " << worst_ana << ")";
    report << (failures ? " FAIL" : "") << "\n";
    result.ok = result.ok && failures == 0;
    result.worst_fraction = std::max(result.worst_fraction, worst);
  }
  result.report = report.str();
  return result;
}

double check_gradients(const Function& fn, const std::vector<Tensor>& inputs, const std::string& what,
                       GradcheckOptions opts) {
  if (opts.seed == 0) opts.seed = run_seed();
  const GradcheckResult r = gradcheck(fn, inputs, opts);
  record_fraction(r.worst_fraction);
  INFO(what << "\n" << r.report);
  CHECK(r.ok);
  return r.worst_fraction;
}

}  // namespace fh::test
