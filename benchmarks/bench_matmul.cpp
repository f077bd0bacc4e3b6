// matmul: freehead's kernel (Eigen GEMM split over freehead's pool), float32.
// Args: M, N, K, batch. torch_compare.py times torch.matmul on the same shapes.
#include "benchmarks/bench_util.h"
#include "kernels/kernels.h"
#include "runtime/random.h"

namespace {

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

// Square sizes, a conv-like tall-skinny GEMM (im2col of a 64x64 map, 3x3x128 -> 128) and a
// batch of small products.
BENCHMARK(BM_matmul)
    ->Args({256, 256, 256, 1})
    ->Args({512, 512, 512, 1})
    ->Args({1024, 1024, 1024, 1})
    ->Args({4096, 128, 1152, 1})
    ->Args({64, 64, 64, 64})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
