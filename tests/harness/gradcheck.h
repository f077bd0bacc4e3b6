// Gradient checking: autograd's gradients against central differences in float64.
// Checks every input that requires grad, whether data or parameter (parameters are just
// inputs the function closes over or receives). For each checked element j:
//   numeric_j = (L(x + eps·e_j) - L(x - eps·e_j)) / (2·eps),   L = Σ fn(x) · w,
// with w a fixed random weighting so that every output element matters.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "runtime/random.h"
#include "tests/harness/tolerance.h"

namespace fh::test {

struct GradcheckOptions {
  double eps = 1e-6;
  Tolerance tol{1e-6, 1e-5};
  // Larger inputs are checked on a random subset of this many elements.
  int64_t max_elements = 200;
  uint64_t seed = 0;
};

struct GradcheckResult {
  bool ok = true;
  double worst_fraction = 0;
  std::string report;  // one line per input
};

using Function = std::function<Tensor(const std::vector<Tensor>&)>;

// Inputs must be float64 CPU tensors; those with requires_grad are checked.
GradcheckResult gradcheck(const Function& fn, const std::vector<Tensor>& inputs, const GradcheckOptions& opts = {});

// gradcheck inside a doctest case: CHECKs the result (the report names `what` and every
// input's worst element on failure) and returns the worst fraction of the threshold.
// opts.seed = 0 means the run's seed (run_seed()).
double check_gradients(const Function& fn, const std::vector<Tensor>& inputs, const std::string& what,
                       GradcheckOptions opts = {});

}  // namespace fh::test
