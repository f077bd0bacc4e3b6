#include "tests/ops/op_table_run.h"

#include "autograd/ops.h"

namespace fh::test::ops {

const std::vector<OpCase>& shared_op_table() {
  static const std::vector<OpCase> table = op_table(run_seed());
  return table;
}

Generator case_generator(size_t index) {
  const OpCase& c = shared_op_table().at(index);
  // A large odd multiplier spreads neighbouring indices over the seed space.
  return Generator(family_seed(run_seed(), c.family) ^
                   (0x9E3779B97F4A7C15ull * (static_cast<uint64_t>(c.index_in_family) + 1)));
}

const char* purpose_name(Purpose p) {
  switch (p) {
    case kGradcheck: return "gradcheck";
    case kTorch: return "torch";
    case kDevice: return "device";
    case kBench: return "bench";
    default: return "checks";
  }
}

ParityCase to_parity_case(const OpCase& c, Generator& gen) {
  ParityCase p;
  p.oracle.op = c.op;
  p.oracle.args_json = c.args;
  for (const Input& in : c.inputs) {
    p.oracle.inputs.push_back(draw_input(in, DType::F32, gen));
    p.oracle.requires_grad.push_back(in.requires_grad);
    // The oracle permutes 4-d images; ops on 5-d stacks of images permute them themselves.
    p.oracle.nhwc.push_back(in.nhwc && in.shape.size() == 4);
  }
  p.oracle.nhwc_output = c.nhwc_output;
  p.oracle.grad_output = randn(c.run(p.oracle.inputs).shape(), gen);
  p.ours = c.run;
  p.tol = c.torch_tol;
  p.grad_tol = c.torch_grad_tol;
  p.exact = c.torch_exact;
  return p;
}

ForwardBackward run_forward_backward(const OpCase& c, const std::vector<Tensor>& inputs, const Tensor& grad_output) {
  ForwardBackward r;
  r.output = c.run(inputs);
  if (r.output.requires_grad()) r.output.backward(grad_output);
  for (const Tensor& x : inputs) r.grads.push_back(x.requires_grad() ? x.grad() : Tensor());
  return r;
}

}  // namespace fh::test::ops
