// Memory-bound kernels: a broadcasting add (bias over channels, NHWC) and a sum over all
// but the channel dim. Rates are the minimum bytes each must move (read inputs once, write
// the output once); torch_compare.py times the same work in PyTorch.
#include "benchmarks/bench_util.h"
#include "kernels/kernels.h"
#include "runtime/random.h"

namespace {

// Args: N, H, W, C. out[n,h,w,c] = x[n,h,w,c] + bias[c].
void BM_add_bias(benchmark::State& state) {
  const int64_t N = state.range(0), H = state.range(1), W = state.range(2), C = state.range(3);
  fh::Generator gen(1);
  const fh::Tensor x = fh::randn({N, H, W, C}, gen), bias = fh::randn({C}, gen);
  for (auto _ : state) {
    fh::Tensor y = fh::kernels::binary(fh::kernels::BinaryOp::Add, x, bias);
    benchmark::DoNotOptimize(y.raw_data());
  }
  fh::bench::set_bytes(state, 2.0 * static_cast<double>(x.nbytes()) + static_cast<double>(bias.nbytes()));
}

// Args: N, H, W, C. out[c] = Σ_{n,h,w} x[n,h,w,c] (a bias gradient).
void BM_sum_to_channels(benchmark::State& state) {
  const int64_t N = state.range(0), H = state.range(1), W = state.range(2), C = state.range(3);
  fh::Generator gen(1);
  const fh::Tensor x = fh::randn({N, H, W, C}, gen);
  for (auto _ : state) {
    fh::Tensor y = fh::kernels::sum(x, {0, 1, 2}, false);
    benchmark::DoNotOptimize(y.raw_data());
  }
  fh::bench::set_bytes(state, static_cast<double>(x.nbytes() + C * sizeof(float)));
}

// Generator activation shapes of the `paper` config: 32×256², 128×128², 512×64², batch 1.
BENCHMARK(BM_add_bias)
    ->Args({1, 256, 256, 32})
    ->Args({1, 128, 128, 128})
    ->Args({1, 64, 64, 512})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_sum_to_channels)
    ->Args({1, 256, 256, 32})
    ->Args({1, 128, 128, 128})
    ->Args({1, 64, 64, 512})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
