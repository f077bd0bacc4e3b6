// PyTorch parity runner shared by the op families' tests: a case pairs an oracle case with
// freehead's differentiable op; one oracle run serves every case; the output and every
// input gradient are compared with atol + rtol·|ref|, and the worst fraction of the
// threshold is reported.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "runtime/random.h"
#include "tests/harness/oracle.h"
#include "tests/harness/tolerance.h"

namespace fh::test {

using DiffOp = std::function<Tensor(const std::vector<Tensor>&)>;

struct ParityCase {
  OracleCase oracle;
  DiffOp ours;
  Tolerance tol{1e-6, 1e-5};       // the output's, and every gradient's unless grad_tol is set
  std::vector<Tolerance> grad_tol;  // per input, when gradients need their own
  bool exact = false;               // pure data movement: also require identical bits
};

// Float32 inputs, all requiring grad; the upstream gradient is random, shaped like our output.
ParityCase make_parity_case(Generator& gen, std::string op, std::string args, std::vector<Tensor> inputs, DiffOp ours,
                            Tolerance tol = {1e-6, 1e-5});

// True (after printing "[fh skip]" and the reason, which CTest reports as skipped) when the
// oracle cannot run.
bool skip_without_oracle();

// Runs every case against PyTorch and CHECKs the output and the gradient of every input
// flagged in oracle.requires_grad; false (skipped) when the
// oracle is unavailable. `worst` receives the worst fraction of threshold seen, and
// `worst_by_op`, if given, the worst per oracle op.
bool run_parity(const std::vector<ParityCase>& cases, double* worst,
                std::map<std::string, double>* worst_by_op = nullptr);

}  // namespace fh::test
