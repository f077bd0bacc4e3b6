// conv2d forward, input gradient and weight gradient on the GPU at the generator's shapes
// (docs/adding-an-op.md), batch 1 and 8, through each conv backend: own float32 (CUDA
// cores), own TF32 (tensor cores), cuDNN float32 and cuDNN TF32. FLOPs counted by hand:
// 2·N·Ho·Wo·Cout·kh·kw·Cin for each of the three. Args: N, H (= W), Cin, Cout, kernel,
// stride, padding, backend (0 own, 1 own-tc, 2 cudnn, 3 cudnn-tc). torch_compare.py times
// PyTorch's channels-last convolutions on the same shapes (peers_cuda_conv.py).
#include <string>

#include "benchmarks/cuda_bench_util.h"
#include "benchmarks/generator_conv_shapes.h"
#include "kernels/conv.h"
#include "kernels/conv_backend.h"

namespace {

using fh::Shape;
using fh::Tensor;
using fh::kernels::ConvBackend;
namespace fb = fh::bench::cuda;
using fb::device_values;

constexpr ConvBackend kBackends[] = {ConvBackend::Own, ConvBackend::OwnTensorCores, ConvBackend::Cudnn,
                                     ConvBackend::CudnnTensorCores};

struct Case {
  fh::kernels::Conv2dParams p;
  Shape x, w, out;
  ConvBackend backend;
  double flops() const { return 2.0 * p.N * p.Ho * p.Wo * p.Cout * p.kh * p.kw * p.Cin; }
  fb::Ceiling ceiling() const {
    return backend == ConvBackend::Own || backend == ConvBackend::Cudnn ? fb::Ceiling::GemmF32 : fb::Ceiling::GemmTF32;
  }
  std::string shape() const {
    return std::string(fh::kernels::conv_backend_name(backend)) + " N" + std::to_string(p.N) + " " +
           std::to_string(p.H) + "²x" + std::to_string(p.Cin) + "->" + std::to_string(p.Cout) + " k" +
           std::to_string(p.kh) + " s" + std::to_string(p.stride) + " p" + std::to_string(p.pad);
  }
};

Case conv_case(const benchmark::State& state) {
  const int64_t N = state.range(0), H = state.range(1), Cin = state.range(2), Cout = state.range(3),
                k = state.range(4), stride = state.range(5), pad = state.range(6);
  Case c;
  c.x = Shape{N, H, H, Cin};
  c.w = Shape{Cout, k, k, Cin};
  c.p = fh::kernels::conv2d_params("bench", c.x, c.w, stride, pad);
  c.out = Shape{N, c.p.Ho, c.p.Wo, Cout};
  c.backend = kBackends[state.range(7)];
  return c;
}

void BM_cuda_conv2d_forward(benchmark::State& state) {
  const Case c = conv_case(state);
  fh::kernels::ConvBackendScope scope(c.backend);
  const Tensor x = device_values(c.x, 1), w = device_values(c.w, 2), b = device_values({c.p.Cout}, 3);
  fb::time_op(state, [&] { benchmark::DoNotOptimize(fh::kernels::conv2d(x, w, b, c.p.stride, c.p.pad).raw_data()); });
  fb::set_flops(state, c.flops(), c.ceiling(), c.shape());
}

void BM_cuda_conv2d_backward_input(benchmark::State& state) {
  const Case c = conv_case(state);
  fh::kernels::ConvBackendScope scope(c.backend);
  const Tensor g = device_values(c.out, 4), w = device_values(c.w, 2);
  fb::time_op(state, [&] {
    benchmark::DoNotOptimize(fh::kernels::conv2d_backward_input(g, w, c.x, c.p.stride, c.p.pad).raw_data());
  });
  fb::set_flops(state, c.flops(), c.ceiling(), c.shape());
}

void BM_cuda_conv2d_backward_weight(benchmark::State& state) {
  const Case c = conv_case(state);
  fh::kernels::ConvBackendScope scope(c.backend);
  const Tensor g = device_values(c.out, 4), x = device_values(c.x, 1);
  fb::time_op(state, [&] {
    benchmark::DoNotOptimize(fh::kernels::conv2d_backward_weight(g, x, c.w, c.p.stride, c.p.pad).raw_data());
  });
  fb::set_flops(state, c.flops(), c.ceiling(), c.shape());
}

// The generator's convolutions, batch 1 and 8, each through every available backend (the
// backends of one shape run back to back).
void generator_shapes(benchmark::internal::Benchmark* b) {
  for (int64_t n : {1, 8})
    for (const auto& s : fh::bench::kGeneratorConvShapes)
      for (int64_t backend = 0; backend < 4; ++backend)
        if (fh::kernels::conv_backend_available(kBackends[backend]))
          b->Args({n, s[0], s[1], s[2], s[3], s[4], s[5], backend});
}

BENCHMARK(BM_cuda_conv2d_forward)->Apply(generator_shapes)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_cuda_conv2d_backward_input)->Apply(generator_shapes)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_cuda_conv2d_backward_weight)->Apply(generator_shapes)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace
