// Every network on CUDA against the same network on the CPU, at the `tiny` configuration:
// the eval-mode forward in float32 the way `freehead run --device cuda` runs it (weights
// loaded from the CPU network's state dict, the module moved to the GPU, NCHW inputs moved
// there), and one train-mode forward and backward in float64 (outputs, the gradient of every
// input and parameter, and the buffers the step updated). Float64 because train-mode batch
// norm over a few values and the warps' flow gradients amplify float32 rounding far beyond
// any useful tolerance (tests/test_network_parity.cpp); the float32 backward kernels are
// compared one by one in the other test_cuda_*.cpp files.
#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <string>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "kernels/conv_backend.h"
#include "nets/registry.h"
#include "runtime/random.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/harness/tolerance.h"

using fh::Device;
using fh::DType;
using fh::Tensor;
namespace nn = fh::nn;
namespace nets = fh::nets;
using namespace fh::cuda_test;

namespace {

// Float32 through tens of layers, summed in other orders (the CPU's Winograd and blocked
// GEMMs, the GPU's implicit GEMM): the tolerance of the PyTorch parity test, whose two
// sides differ in the same ways.
constexpr fh::test::Tolerance kForwardF32{5e-5, 5e-4};
// Float64 on both sides: rounding differences of ~1e-16 relative, amplified by depth and by
// the cancellations of batch norm over few values; this leaves three orders of magnitude
// above what they reach, and is still far below any indexing or formula error.
constexpr fh::test::Tolerance kTrainF64{1e-9, 1e-7};

struct NetCase {
  std::string net;
  int64_t batch, sources;
};

// The parity test's cases: batch 2 (the smallest batch norm trains on), the N-shot generator
// with three sources, VGG at batch 1.
const NetCase kCases[] = {{"kp", 2, 1},         {"gaze", 2, 1},       {"gen", 2, 1}, {"gen-nshot", 1, 3},
                          {"disc_image", 2, 1}, {"disc_mouth", 2, 1}, {"vgg", 1, 1}};

// The worst comparison of a test, reported once at its end.
struct Worst {
  double fraction = 0;
  std::string where;
  void update(const fh::test::Comparison& c, const std::string& name) {
    if (c.worst_fraction > fraction) {
      fraction = c.worst_fraction;
      where = name;
    }
  }
};

void check_close(const Tensor& gpu, const Tensor& cpu, fh::test::Tolerance tol, const std::string& name,
                 Worst& worst) {
  INFO(name);
  REQUIRE(gpu.defined());
  CHECK(gpu.device() == kGpu);
  const fh::test::Comparison c = fh::test::compare(gpu, cpu, tol);
  INFO(c.report(name));
  CHECK(c.ok());
  worst.update(c, name);
}

// Fresh inputs in PyTorch layout, on the CPU, as the parity tests draw them.
nn::TensorMap as_map(const nn::NamedTensors& named) {
  nn::TensorMap m;
  for (const auto& [k, v] : named) m[k] = v;
  return m;
}

// A network with fresh random weights on the CPU, and its twin loaded from the CPU one's
// state dict (the file `freehead run` would read) and moved to the GPU.
struct Twins {
  std::unique_ptr<nets::Network> cpu, gpu;
};

Twins make_twins(const std::string& name) {
  Twins t;
  t.cpu = nets::make_network(name, nets::config("tiny"));
  fh::Generator weights_gen(static_cast<uint64_t>(fh::rand({1}, gen(), 0.0, 1e9, DType::F64).item()));
  t.cpu->module().reset_parameters(weights_gen);
  t.gpu = nets::make_network(name, nets::config("tiny"));
  nn::load_weights(t.gpu->module(), as_map(t.cpu->module().state_dict(t.cpu->prefix())), t.gpu->prefix(),
                   "the CPU network's state dict");
  t.gpu->module().to(kGpu);
  return t;
}

// E_gaze's angles are evaluation outputs computed without a gradient.
bool differentiable_output(const std::string& net, const std::string& output) {
  return !(net == "gaze" && (output == "theta" || output == "phi"));
}

}  // namespace

TEST_CASE("every network's eval forward at tiny matches the CPU (float32, the `freehead run` path)") {
  fh::kernels::ConvBackendScope scope(fh::kernels::ConvBackend::Own);  // float32 arithmetic, whatever FH_CONV says
  Worst worst;
  for (const NetCase& c : kCases) {
    CAPTURE(c.net);
    Twins t = make_twins(c.net);
    t.cpu->module().eval();
    t.gpu->module().eval();
    const nn::TensorMap inputs = nets::random_inputs(*t.cpu, c.batch, c.sources, gen());
    nn::TensorMap gpu_inputs;
    for (const auto& [name, x] : inputs) gpu_inputs[name] = x.to(DType::F32).to(kGpu);
    fh::NoGradGuard no_grad;
    const nn::TensorMap cpu_out = t.cpu->forward(inputs);
    const nn::TensorMap gpu_out = t.gpu->forward(gpu_inputs);
    REQUIRE(gpu_out.size() == cpu_out.size());
    for (const auto& [name, ref] : cpu_out) {
      REQUIRE_MESSAGE(gpu_out.count(name), "the GPU network did not produce ", name);
      check_close(gpu_out.at(name), ref, kForwardF32, c.net + " eval forward " + name, worst);
    }
  }
  MESSAGE("worst fraction of threshold: ", worst.fraction, " (", worst.where, ")");
}

TEST_CASE("every network's train-mode forward and backward at tiny match the CPU (float64)") {
  Worst worst;
  for (const NetCase& c : kCases) {
    CAPTURE(c.net);
    Twins t = make_twins(c.net);
    const nn::TensorMap inputs = nets::random_inputs(*t.cpu, c.batch, c.sources, gen());
    struct Step {
      nn::TensorMap outputs, input_grads;
      nn::NamedTensors param_grads, buffers;
    };
    // One training step's forward and backward of Σ <output, cotangent> on `device`.
    nn::TensorMap cotangents;
    const auto step = [&](nets::Network& net, const Device& device) {
      net.module().to(DType::F64);
      net.module().train();
      nn::TensorMap in;
      for (const auto& [name, x] : inputs) in[name] = x.to(DType::F64).to(device).requires_grad_(true);
      Step s;
      s.outputs = net.forward(in);
      Tensor loss;
      for (const auto& [name, y] : s.outputs) {
        if (!differentiable_output(c.net, name)) continue;
        if (!cotangents.count(name)) cotangents[name] = random(y.shape(), DType::F64);
        const Tensor term = fh::sum(fh::mul(y, cotangents.at(name).to(device)));
        loss = loss.defined() ? fh::add(loss, term) : term;
      }
      loss.backward();
      for (const auto& [name, x] : in) s.input_grads[name] = x.grad();
      for (const auto& [name, p] : net.module().named_parameters(net.prefix()))
        s.param_grads.emplace_back(name, p.grad());
      s.buffers = net.module().named_buffers(net.prefix());
      return s;
    };
    const Step cpu = step(*t.cpu, Device::cpu());
    const Step gpu = step(*t.gpu, kGpu);

    for (const auto& [name, ref] : cpu.outputs)
      check_close(gpu.outputs.at(name).detach(), ref.detach(), kTrainF64, c.net + " train output " + name, worst);
    for (const auto& [name, ref] : cpu.input_grads)
      check_close(gpu.input_grads.at(name), ref, kTrainF64, c.net + " gradient of input " + name, worst);
    REQUIRE(gpu.param_grads.size() == cpu.param_grads.size());
    for (size_t i = 0; i < cpu.param_grads.size(); ++i) {
      const auto& [name, ref] = cpu.param_grads[i];
      REQUIRE(gpu.param_grads[i].first == name);
      REQUIRE_MESSAGE(ref.defined(), name, " received no gradient on the CPU");
      check_close(gpu.param_grads[i].second, ref, kTrainF64, c.net + " gradient of " + name, worst);
    }
    REQUIRE(gpu.buffers.size() == cpu.buffers.size());
    for (size_t i = 0; i < cpu.buffers.size(); ++i) {
      REQUIRE(gpu.buffers[i].first == cpu.buffers[i].first);
      check_close(gpu.buffers[i].second, cpu.buffers[i].second, kTrainF64, c.net + " buffer " + cpu.buffers[i].first,
                  worst);
    }
  }
  MESSAGE("worst fraction of threshold: ", worst.fraction, " (", worst.where, ")");
}
