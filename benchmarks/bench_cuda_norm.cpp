// The normalisation kernels on the GPU at the CPU benchmarks' shapes (bench_norm.cpp): each
// BM_cuda_<name> does the work of BM_<name> with the same arguments (N, H, W, C) and counts
// the same minimum bytes (the ideal is one read of every input and one write of every
// output; the kernels read x, and in backward grad and gamma, twice: the stats pass and the
// apply pass).
#include "benchmarks/cuda_bench_util.h"
#include "benchmarks/twin_shapes.h"
#include "kernels/norm.h"
#include "runtime/random.h"

namespace {

using fh::Tensor;
namespace fb = fh::bench::cuda;
namespace k = fh::kernels;
namespace twin = fh::bench::twin;

Tensor on_gpu(const Tensor& t) { return t.to(fb::kGpu); }

Tensor image(benchmark::State& state, fh::Generator& gen) {
  return on_gpu(fh::randn({state.range(0), state.range(1), state.range(2), state.range(3)}, gen));
}

Tensor channel(const Tensor& x, fh::Generator& gen) { return on_gpu(fh::randn({x.size(3)}, gen)); }

double bytes(const Tensor& x, int tensors) { return static_cast<double>(tensors) * static_cast<double>(x.nbytes()); }

void BM_cuda_batch_norm_forward(benchmark::State& state) {
  fh::Generator gen(1);
  const Tensor x = image(state, gen), w = channel(x, gen), b = channel(x, gen);
  const Tensor rm = Tensor::zeros({x.size(3)}, fh::DType::F32, fb::kGpu);
  const Tensor rv = Tensor::ones({x.size(3)}, fh::DType::F32, fb::kGpu);
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::batch_norm2d(x, w, b, rm, rv, {}).out.raw_data()); });
  fb::set_bytes(state, bytes(x, 2));
}

void BM_cuda_batch_norm_backward(benchmark::State& state) {
  fh::Generator gen(1);
  const Tensor x = image(state, gen), w = channel(x, gen), b = channel(x, gen), grad = image(state, gen);
  const k::NormForward f = k::batch_norm2d(x, w, b, Tensor(), Tensor(), {});
  fb::time_op(state, [&] {
    benchmark::DoNotOptimize(k::batch_norm2d_backward(grad, x, w, f.mean, f.invstd, true, true, true, true).x.raw_data());
  });
  fb::set_bytes(state, bytes(x, 3));
}

void BM_cuda_instance_norm_forward(benchmark::State& state) {
  fh::Generator gen(1);
  const Tensor x = image(state, gen), w = channel(x, gen), b = channel(x, gen);
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::instance_norm2d(x, w, b, 1e-5).out.raw_data()); });
  fb::set_bytes(state, bytes(x, 2));
}

void BM_cuda_instance_norm_backward(benchmark::State& state) {
  fh::Generator gen(1);
  const Tensor x = image(state, gen), w = channel(x, gen), b = channel(x, gen), grad = image(state, gen);
  const k::NormForward f = k::instance_norm2d(x, w, b, 1e-5);
  fb::time_op(state, [&] {
    benchmark::DoNotOptimize(k::instance_norm2d_backward(grad, x, w, f.mean, f.invstd, true, true, true).x.raw_data());
  });
  fb::set_bytes(state, bytes(x, 3));
}

void BM_cuda_spade_modulation_forward(benchmark::State& state) {
  fh::Generator gen(1);
  const Tensor x = image(state, gen), gamma = image(state, gen), beta = image(state, gen);
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::spade_modulation(x, gamma, beta, 1e-5).out.raw_data()); });
  fb::set_bytes(state, bytes(x, 4));
}

void BM_cuda_spade_modulation_backward(benchmark::State& state) {
  fh::Generator gen(1);
  const Tensor x = image(state, gen), gamma = image(state, gen), beta = image(state, gen), grad = image(state, gen);
  const k::NormForward f = k::spade_modulation(x, gamma, beta, 1e-5);
  fb::time_op(state, [&] {
    benchmark::DoNotOptimize(
        k::spade_modulation_backward(grad, x, gamma, f.mean, f.invstd, true, true, true).x.raw_data());
  });
  fb::set_bytes(state, bytes(x, 5));
}

BENCHMARK(BM_cuda_batch_norm_forward)->Apply(twin::activation_maps)->Apply(fb::manual_time_us);
BENCHMARK(BM_cuda_batch_norm_backward)->Apply(twin::activation_maps)->Apply(fb::manual_time_us);
BENCHMARK(BM_cuda_instance_norm_forward)->Apply(twin::activation_maps)->Apply(fb::manual_time_us);
BENCHMARK(BM_cuda_instance_norm_backward)->Apply(twin::activation_maps)->Apply(fb::manual_time_us);
BENCHMARK(BM_cuda_spade_modulation_forward)->Apply(twin::activation_maps)->Apply(fb::manual_time_us);
BENCHMARK(BM_cuda_spade_modulation_backward)->Apply(twin::activation_maps)->Apply(fb::manual_time_us);

}  // namespace
