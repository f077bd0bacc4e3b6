#include "tests/ops/op_table_run.h"

#include <doctest/doctest.h>

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

namespace {

// The gradient of every input that requires one (undefined elsewhere), after
// output.backward(grad_output) through the autograd engine.
std::vector<Tensor> input_grads(const Tensor& output, const std::vector<Tensor>& inputs, const Tensor& grad_output) {
  if (output.requires_grad()) output.backward(grad_output);
  std::vector<Tensor> grads;
  for (const Tensor& x : inputs) grads.push_back(x.requires_grad() ? x.grad() : Tensor());
  return grads;
}

void check_agree(const Tensor& got, const Tensor& ref, Device device, bool exact, Tolerance tol, const std::string& name) {
  INFO(name);
  CHECK(got.device() == device);
  if (exact) {
    CHECK(got.shape() == ref.shape());
    CHECK(got.dtype() == ref.dtype());
    CHECK(same_bits(got, ref));
  } else {
    FH_CHECK_CLOSE(got, ref, tol, name);
  }
}

}  // namespace

int compare_devices(const std::string& family, Device device, bool small_only) {
  const std::vector<OpCase>& table = shared_op_table();
  int compared = 0;
  for (size_t i = 0; i < table.size(); ++i) {
    const OpCase& c = table[i];
    if (c.family != family || !c.has(kDevice) || (small_only && (c.purposes & kChecks) == kDevice)) continue;
    Generator gen = case_generator(i);
    for (DType t : c.device_dtypes) {
      const std::string name = c.name() + " " + dtype_name(t);
      const std::vector<Tensor> cpu_in = draw_inputs(c, t, gen);
      std::vector<Tensor> dev_in;
      for (const Tensor& x : cpu_in) {
        Tensor d = x.detach().to(device);
        if (device.is_cpu()) d = d.clone();  // its own leaves, gradients and storage
        dev_in.push_back(x.requires_grad() ? d.requires_grad_() : d);
      }
      const Tensor cpu_out = c.run(cpu_in), dev_out = c.run(dev_in);
      const Tolerance tol = t == DType::F64 ? c.device_tol_f64 : c.device_tol_f32;
      check_agree(dev_out, cpu_out, device, c.device_exact, tol, name);
      ++compared;
      if (!is_floating(t)) continue;  // integers: forward only
      const Tensor grad_output = randn(cpu_out.shape(), gen, 0.0, 1.0, DType::F64).to(t);
      const std::vector<Tensor> cpu_grads = input_grads(cpu_out, cpu_in, grad_output);
      const std::vector<Tensor> dev_grads = input_grads(dev_out, dev_in, grad_output.to(device));
      const std::vector<Tolerance>& grad_tols = t == DType::F64 ? c.device_grad_tol_f64 : c.device_grad_tol_f32;
      for (size_t k = 0; k < cpu_grads.size(); ++k) {
        if (!cpu_grads[k].defined()) continue;
        REQUIRE(dev_grads[k].defined());
        check_agree(dev_grads[k], cpu_grads[k], device, c.device_grads_exact, grad_tols.empty() ? tol : grad_tols[k],
                    name + " grad" + std::to_string(k));
      }
    }
  }
  if (compared > 0) MESSAGE(family << ": " << compared << " case/dtype pairs, " << device.str() << " against the CPU");
  return compared;
}

}  // namespace fh::test::ops
