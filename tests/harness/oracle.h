// The PyTorch oracle. A test describes cases (op name, arguments, float32 inputs, which
// inputs need gradients, and the gradient flowing into the output); one run of
// tools/oracle/torch_oracle.py under Debian's /usr/bin/python3 computes PyTorch's output
// and input gradients for all of them, exchanged through safetensors files.
#pragma once

#include <string>
#include <vector>

#include "runtime/tensor.h"

namespace fh::test {

struct OracleCase {
  std::string op;          // a name the script's OPS table knows, e.g. "matmul"
  std::string args_json;   // op arguments as a JSON object, e.g. {"dims":[0],"keepdim":true}
  std::vector<Tensor> inputs;
  std::vector<bool> requires_grad;
  Tensor grad_output;      // upstream gradient, the output's shape (freehead's layout)
  // Inputs in freehead's NHWC image layout (or [O,kh,kw,I] conv weights): the script hands
  // PyTorch their NCHW permutation and permutes their gradients back. Empty = none.
  std::vector<bool> nhwc;
  bool nhwc_output = false;  // the output is an NHWC image
};

struct OracleResult {
  Tensor output;
  std::vector<Tensor> grads;  // undefined where !requires_grad
};

// True when the interpreter can import torch; otherwise `why` says what is missing.
bool oracle_available(std::string* why);

// Runs every case in one Python process; throws with the script's stderr on failure.
std::vector<OracleResult> run_oracle(const std::vector<OracleCase>& cases);

// Runs the PyTorch reference model's driver (tools/reference/run.py) with `args` under the
// oracle's interpreter; throws with the script's output when it fails.
void run_reference(const std::vector<std::string>& args);
// Runs the oracle's interpreter with `args`; throws with its output when it fails.
void run_python(const std::vector<std::string>& args);
// The folder of the reference model (tools/reference).
std::string reference_dir();

}  // namespace fh::test
