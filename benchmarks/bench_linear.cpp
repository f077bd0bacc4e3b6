// The dense ops, float32: the linear layer (forward, and backward to
// input, weight and bias) at the shapes of the key-point and gaze heads, batched small
// matmuls (rotations of 68 key-points) and transposes. torch_compare.py times the same work
// in PyTorch (peers_conv.py).
#include "autograd/linear.h"
#include "autograd/shape_ops.h"
#include "benchmarks/bench_util.h"
#include "benchmarks/twin_shapes.h"
#include "kernels/core.h"
#include "kernels/linear.h"
#include "runtime/random.h"

namespace {

using fh::Tensor;
namespace twin = fh::bench::twin;

constexpr double kFloat = sizeof(float);

// Args: rows, in, out.
void BM_linear_forward(benchmark::State& state) {
  const int64_t rows = state.range(0), in = state.range(1), out = state.range(2);
  fh::Generator gen(1);
  const Tensor x = fh::randn({rows, in}, gen), w = fh::randn({out, in}, gen), b = fh::randn({out}, gen);
  for (auto _ : state) {
    Tensor y = fh::kernels::linear(x, w, b);
    benchmark::DoNotOptimize(y.raw_data());
  }
  fh::bench::set_flops(state, 2.0 * rows * in * out + rows * out);
  fh::bench::set_bytes(state, kFloat * (rows * in + out * in + out + rows * out));
}

// The input, weight and bias gradients together.
void BM_linear_backward(benchmark::State& state) {
  const int64_t rows = state.range(0), in = state.range(1), out = state.range(2);
  fh::Generator gen(1);
  const Tensor x = fh::randn({rows, in}, gen), w = fh::randn({out, in}, gen), g = fh::randn({rows, out}, gen);
  for (auto _ : state) {
    Tensor dx = fh::kernels::linear_backward_input(g, w, x.shape());
    Tensor dw = fh::kernels::linear_backward_weight(g, x);
    Tensor db = fh::kernels::linear_backward_bias(g);
    benchmark::DoNotOptimize(dx.raw_data());
    benchmark::DoNotOptimize(dw.raw_data());
    benchmark::DoNotOptimize(db.raw_data());
  }
  fh::bench::set_flops(state, 4.0 * rows * in * out + rows * out);
  fh::bench::set_bytes(state, kFloat * (2 * rows * out + 2 * rows * in + 2 * out * in + out));
}

BENCHMARK(BM_linear_forward)->Apply(twin::linear_heads)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_linear_backward)->Apply(twin::linear_heads)->Unit(benchmark::kMicrosecond)->UseRealTime();

// Args: batch, M, K, N: a [batch, M, K] · b [batch, K, N].
void BM_matmul_small(benchmark::State& state) {
  const int64_t B = state.range(0), M = state.range(1), K = state.range(2), N = state.range(3);
  fh::Generator gen(1);
  const Tensor a = fh::randn({B, M, K}, gen), b = fh::randn({B, K, N}, gen);
  for (auto _ : state) {
    Tensor c = fh::kernels::matmul(a, b);
    benchmark::DoNotOptimize(c.raw_data());
  }
  fh::bench::set_flops(state, 2.0 * B * M * N * K);
  fh::bench::set_bytes(state, kFloat * B * (M * K + K * N + M * N));
}

// Its gradients: da = dc · bᵀ and db = aᵀ · dc.
void BM_matmul_small_backward(benchmark::State& state) {
  const int64_t B = state.range(0), M = state.range(1), K = state.range(2), N = state.range(3);
  fh::Generator gen(1);
  const Tensor a = fh::randn({B, M, K}, gen), b = fh::randn({B, K, N}, gen), dc = fh::randn({B, M, N}, gen);
  for (auto _ : state) {
    Tensor da = fh::kernels::matmul(dc, b, false, true);
    Tensor db = fh::kernels::matmul(a, dc, true, false);
    benchmark::DoNotOptimize(da.raw_data());
    benchmark::DoNotOptimize(db.raw_data());
  }
  fh::bench::set_flops(state, 4.0 * B * M * N * K);
  fh::bench::set_bytes(state, kFloat * B * 2 * (M * K + K * N + M * N));
}

BENCHMARK(BM_matmul_small)->Apply(twin::small_matmuls)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_matmul_small_backward)->Apply(twin::small_matmuls)->Unit(benchmark::kMicrosecond)->UseRealTime();

// Args: a 4-d shape and the two dims swapped. Its backward is the same transpose.
void BM_transpose(benchmark::State& state) {
  const fh::Shape shape{state.range(0), state.range(1), state.range(2), state.range(3)};
  fh::Generator gen(1);
  const Tensor x = fh::randn(shape, gen);
  for (auto _ : state) {
    Tensor y = fh::transpose(x, state.range(4), state.range(5));
    benchmark::DoNotOptimize(y.raw_data());
  }
  fh::bench::set_bytes(state, 2 * kFloat * static_cast<double>(shape.numel()));
}

BENCHMARK(BM_transpose)->Apply(twin::transposes)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
