// matmul: freehead's kernel (Eigen GEMM split over freehead's pool), float32.
// Args: M, N, K, batch. torch_compare.py times torch.matmul on the same shapes.
#include "benchmarks/bench_util.h"
#include "benchmarks/twin_shapes.h"
#include "kernels/core.h"
#include "runtime/random.h"

namespace {

namespace twin = fh::bench::twin;

void BM_matmul(benchmark::State& state) {
  const int64_t M = state.range(0), N = state.range(1), K = state.range(2), B = state.range(3);
  fh::Generator gen(1);
  const fh::Tensor a = fh::randn(B > 1 ? fh::Shape{B, M, K} : fh::Shape{M, K}, gen);
  const fh::Tensor b = fh::randn(B > 1 ? fh::Shape{B, K, N} : fh::Shape{K, N}, gen);
  for (auto _ : state) {
    fh::Tensor c = fh::kernels::matmul(a, b);
    benchmark::DoNotOptimize(c.raw_data());
  }
  fh::bench::set_flops(state, 2.0 * static_cast<double>(B * M * N * K));
}

BENCHMARK(BM_matmul)->Apply(twin::matmuls)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
