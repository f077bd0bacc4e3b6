// The op table's device driver (tests/ops/op_case.h): every case marked kDevice runs
// forward and backward through autograd on the CPU and on the GPU, from the same inputs and
// upstream gradient, at each of the case's dtypes; the output and every input gradient must
// agree bit for bit, or within the case's tolerance where the two devices sum in different
// orders. Integer dtypes run forward only.
#include <doctest/doctest.h>

#include "autograd/grad_mode.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/ops/op_case.h"
#include "tests/ops/op_table_run.h"

using fh::DType;
using fh::Tensor;
using namespace fh::cuda_test;
using namespace fh::test::ops;

namespace {

bool is_float(DType t) { return t == DType::F32 || t == DType::F64 || t == DType::F16 || t == DType::BF16; }

void compare(const Tensor& gpu, const Tensor& cpu, bool exact, fh::test::Tolerance tol, const std::string& name) {
  if (exact) {
    check_same_bits(gpu, cpu, name);
  } else {
    CHECK(gpu.device() == kGpu);
    FH_CHECK_CLOSE(gpu, cpu, tol, name);
  }
}

void device_family(const std::string& family) {
  const std::vector<OpCase>& table = shared_op_table();
  int compared = 0;
  for (size_t i = 0; i < table.size(); ++i) {
    const OpCase& c = table[i];
    if (c.family != family || !c.has(kDevice)) continue;
    fh::Generator gen = case_generator(i);
    for (DType t : c.device_dtypes) {
      const std::string name = c.name() + " " + fh::dtype_name(t);
      const std::vector<Tensor> cpu_in = draw_inputs(c, t, gen);
      std::vector<Tensor> gpu_in;
      for (const Tensor& x : cpu_in) {
        Tensor g = x.detach().to(kGpu);
        gpu_in.push_back(x.requires_grad() ? g.requires_grad_() : g);
      }
      const bool backward = is_float(t) && c.run(cpu_in).requires_grad();
      Tensor grad_output;
      if (backward) {
        fh::NoGradGuard no_grad;
        grad_output = fh::randn(c.run(cpu_in).shape(), gen, 0.0, 1.0, DType::F64).to(t);
      }
      const ForwardBackward cpu = run_forward_backward(c, cpu_in, grad_output);
      const ForwardBackward gpu =
          run_forward_backward(c, gpu_in, grad_output.defined() ? grad_output.to(kGpu) : Tensor());
      const fh::test::Tolerance tol = t == DType::F64 ? c.device_tol_f64 : c.device_tol_f32;
      compare(gpu.output, cpu.output, c.device_exact, tol, name);
      for (size_t k = 0; k < cpu.grads.size(); ++k) {
        if (!cpu.grads[k].defined()) continue;
        REQUIRE(gpu.grads[k].defined());
        const std::vector<fh::test::Tolerance>& grad_tols = t == DType::F64 ? c.device_grad_tol_f64 : c.device_grad_tol_f32;
        compare(gpu.grads[k], cpu.grads[k], c.device_grads_exact, grad_tols.empty() ? tol : grad_tols[k],
                name + " grad" + std::to_string(k));
      }
      ++compared;
    }
  }
  CHECK(compared > 0);
  MESSAGE(family << ": " << compared << " case/dtype pairs compared with the CPU");
}

}  // namespace

TEST_CASE("op table: pool: the CUDA kernels match their CPU twins, forward and backward") { device_family("pool"); }
TEST_CASE("op table: shape: the CUDA copies match their CPU twins, every dtype") { device_family("shape"); }
TEST_CASE("op table: warp: warp, N-shot fusion and pixel shuffle match the CPU, forward and backward") { device_family("warp"); }
TEST_CASE("op table: norm: batch, instance norm and SPADE match the CPU, running statistics included") { device_family("norm"); }
TEST_CASE("op table: pointwise: activations, softmax and losses match the CPU, forward and backward") { device_family("pointwise"); }
TEST_CASE("op table: core: elementwise, sums, permutes, matmul and linear match the CPU, forward and backward") { device_family("core"); }
