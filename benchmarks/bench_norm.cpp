// Normalisation kernels at the generator's shapes (instance norm and SPADE modulation at
// 512×64², 128×128², 32×256²; batch norm at the same sizes), batch 1 and 8, float32.
// Args: N, H, W, C. Forward benchmarks time the forward kernel; backward benchmarks time the
// backward kernel for every input gradient, from the forward's saved statistics.
// These ops are memory-bound: the rate is the minimum bytes each must move (every input
// read once, every output written once). torch_compare.py times the same work in PyTorch
// (benchmarks/peers_norm.py).
#include "benchmarks/bench_util.h"
#include "benchmarks/twin_shapes.h"
#include "kernels/norm.h"
#include "runtime/random.h"

namespace {

using fh::Tensor;
namespace twin = fh::bench::twin;

Tensor image(benchmark::State& state, fh::Generator& gen) {
  return fh::randn({state.range(0), state.range(1), state.range(2), state.range(3)}, gen);
}

double bytes(const Tensor& x, int tensors) { return static_cast<double>(tensors) * static_cast<double>(x.nbytes()); }

fh::kernels::BatchNormParams training() { return {}; }

// Training mode with running statistics: reads x, writes out (per-channel vectors aside).
void BM_batch_norm_forward(benchmark::State& state) {
  fh::Generator gen(1);
  const Tensor x = image(state, gen), w = fh::randn({x.size(3)}, gen), b = fh::randn({x.size(3)}, gen);
  const Tensor rm = Tensor::zeros({x.size(3)}), rv = Tensor::ones({x.size(3)});
  for (auto _ : state) {
    fh::kernels::NormForward f = fh::kernels::batch_norm2d(x, w, b, rm, rv, training());
    benchmark::DoNotOptimize(f.out.raw_data());
  }
  fh::bench::set_bytes(state, bytes(x, 2));
}

// grad_x, grad_weight, grad_bias: reads grad and x, writes grad_x.
void BM_batch_norm_backward(benchmark::State& state) {
  fh::Generator gen(1);
  const Tensor x = image(state, gen), w = fh::randn({x.size(3)}, gen), b = fh::randn({x.size(3)}, gen);
  const Tensor grad = fh::randn(x.shape(), gen);
  const fh::kernels::NormForward f = fh::kernels::batch_norm2d(x, w, b, Tensor(), Tensor(), training());
  for (auto _ : state) {
    fh::kernels::NormGrads g = fh::kernels::batch_norm2d_backward(grad, x, w, f.mean, f.invstd, true, true, true, true);
    benchmark::DoNotOptimize(g.x.raw_data());
  }
  fh::bench::set_bytes(state, bytes(x, 3));
}

// Affine, as in the generator's encoder: reads x, writes out.
void BM_instance_norm_forward(benchmark::State& state) {
  fh::Generator gen(1);
  const Tensor x = image(state, gen), w = fh::randn({x.size(3)}, gen), b = fh::randn({x.size(3)}, gen);
  for (auto _ : state) {
    fh::kernels::NormForward f = fh::kernels::instance_norm2d(x, w, b, 1e-5);
    benchmark::DoNotOptimize(f.out.raw_data());
  }
  fh::bench::set_bytes(state, bytes(x, 2));
}

// grad_x, grad_weight, grad_bias: reads grad and x, writes grad_x.
void BM_instance_norm_backward(benchmark::State& state) {
  fh::Generator gen(1);
  const Tensor x = image(state, gen), w = fh::randn({x.size(3)}, gen), b = fh::randn({x.size(3)}, gen);
  const Tensor grad = fh::randn(x.shape(), gen);
  const fh::kernels::NormForward f = fh::kernels::instance_norm2d(x, w, b, 1e-5);
  for (auto _ : state) {
    fh::kernels::NormGrads g = fh::kernels::instance_norm2d_backward(grad, x, w, f.mean, f.invstd, true, true, true);
    benchmark::DoNotOptimize(g.x.raw_data());
  }
  fh::bench::set_bytes(state, bytes(x, 3));
}

// Reads x, gamma, beta; writes out.
void BM_spade_modulation_forward(benchmark::State& state) {
  fh::Generator gen(1);
  const Tensor x = image(state, gen), gamma = image(state, gen), beta = image(state, gen);
  for (auto _ : state) {
    fh::kernels::NormForward f = fh::kernels::spade_modulation(x, gamma, beta, 1e-5);
    benchmark::DoNotOptimize(f.out.raw_data());
  }
  fh::bench::set_bytes(state, bytes(x, 4));
}

// grad_x, grad_gamma, grad_beta: reads grad, x, gamma; writes grad_x and grad_gamma
// (grad_beta is grad itself).
void BM_spade_modulation_backward(benchmark::State& state) {
  fh::Generator gen(1);
  const Tensor x = image(state, gen), gamma = image(state, gen), beta = image(state, gen);
  const Tensor grad = image(state, gen);
  const fh::kernels::NormForward f = fh::kernels::spade_modulation(x, gamma, beta, 1e-5);
  for (auto _ : state) {
    fh::kernels::SpadeGrads g =
        fh::kernels::spade_modulation_backward(grad, x, gamma, f.mean, f.invstd, true, true, true);
    benchmark::DoNotOptimize(g.x.raw_data());
  }
  fh::bench::set_bytes(state, bytes(x, 5));
}

BENCHMARK(BM_batch_norm_forward)->Apply(twin::activation_maps)->Apply(fh::bench::real_time_ms);
BENCHMARK(BM_batch_norm_backward)->Apply(twin::activation_maps)->Apply(fh::bench::real_time_ms);
BENCHMARK(BM_instance_norm_forward)->Apply(twin::activation_maps)->Apply(fh::bench::real_time_ms);
BENCHMARK(BM_instance_norm_backward)->Apply(twin::activation_maps)->Apply(fh::bench::real_time_ms);
BENCHMARK(BM_spade_modulation_forward)->Apply(twin::activation_maps)->Apply(fh::bench::real_time_ms);
BENCHMARK(BM_spade_modulation_backward)->Apply(twin::activation_maps)->Apply(fh::bench::real_time_ms);

}  // namespace
