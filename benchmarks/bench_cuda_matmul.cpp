// The dense ops on the GPU (kernels/cuda/matmul.cu: cuBLAS float32 GEMMs, TF32 off, so the
// same arithmetic as the CPU): matmul, the linear layer and the small batched products of the
// key-point geometry. Each BM_cuda_<name> does on the GPU the work of the CPU benchmark
// BM_<name> (bench_matmul.cpp, bench_linear.cpp) with the same arguments; the PyTorch peers
// are the CPU ones on the GPU (peers_cuda.py).
//
// What each rate is counted against:
//   matmul: 2·B·M·N·K FLOPs against the float32 GEMM ceiling (cuBLAS's SGEMM at 8192³,
//     bench_cuda_ceiling.cpp), the rate these shapes can approach;
//   linear, matmul_small: the minimum bytes (every operand read once, every result written
//     once) against the copy ceiling. With 1 or 8 rows a weight read from memory is used
//     at most 8 times: rows/2 FLOPs per byte, far below a current GPU's float32 FLOPs per
//     byte of bandwidth (about 14 on an H200: 67 TFLOP/s over 4.8 TB/s). These ops are
//     weight reads, and the smallest are launch latency.
#include <cstdint>
#include <string>

#include "benchmarks/cuda_bench_util.h"
#include "benchmarks/twin_shapes.h"
#include "kernels/linear.h"
#include "kernels/core.h"

namespace {

using fh::Shape;
using fh::Tensor;
namespace fb = fh::bench::cuda;
using fb::device_values;
namespace k = fh::kernels;
namespace twin = fh::bench::twin;

constexpr double kF32 = sizeof(float);

std::string str(int64_t v) { return std::to_string(v); }

// Args: M, N, K, batch (a [M, K] · [K, N] product; batch > 1: [batch, M, K] · [batch, K, N]).
void BM_cuda_matmul(benchmark::State& state) {
  const int64_t M = state.range(0), N = state.range(1), K = state.range(2), B = state.range(3);
  const Tensor a = device_values(B > 1 ? Shape{B, M, K} : Shape{M, K}, 1);
  const Tensor b = device_values(B > 1 ? Shape{B, K, N} : Shape{K, N}, 2);
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::matmul(a, b).raw_data()); });
  fb::set_flops(state, 2.0 * static_cast<double>(B * M * N * K), fb::Ceiling::GemmF32,
                str(M) + "x" + str(K) + " · " + str(K) + "x" + str(N) + (B > 1 ? " batch " + str(B) : ""));
}

// BM_matmul's shapes and one large enough to approach the ceiling.
BENCHMARK(BM_cuda_matmul)->Apply(twin::matmuls)->Args({4096, 4096, 4096, 1})->Apply(fb::manual_time_us);

// Args: rows, in, out.
std::string linear_shape(int64_t rows, int64_t in, int64_t out) {
  return str(rows) + " rows " + str(in) + "->" + str(out);
}

void BM_cuda_linear_forward(benchmark::State& state) {
  const int64_t rows = state.range(0), in = state.range(1), out = state.range(2);
  const Tensor x = device_values({rows, in}, 1), w = device_values({out, in}, 2), b = device_values({out}, 3);
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::linear(x, w, b).raw_data()); });
  fb::set_bytes(state, kF32 * static_cast<double>(rows * in + out * in + out + rows * out),
                linear_shape(rows, in, out));
}

// The input, weight and bias gradients together (two GEMMs and a column sum).
void BM_cuda_linear_backward(benchmark::State& state) {
  const int64_t rows = state.range(0), in = state.range(1), out = state.range(2);
  const Tensor x = device_values({rows, in}, 1), w = device_values({out, in}, 2), g = device_values({rows, out}, 4);
  fb::time_op(state, [&] {
    benchmark::DoNotOptimize(k::linear_backward_input(g, w, x.shape()).raw_data());
    benchmark::DoNotOptimize(k::linear_backward_weight(g, x).raw_data());
    benchmark::DoNotOptimize(k::linear_backward_bias(g).raw_data());
  });
  // Reads g (by all three), w and x; writes dx, dw and db: g twice as bench_linear.cpp counts it.
  fb::set_bytes(state, kF32 * static_cast<double>(2 * rows * out + 2 * rows * in + 2 * out * in + out),
                linear_shape(rows, in, out));
}

BENCHMARK(BM_cuda_linear_forward)->Apply(twin::linear_heads)->Apply(fb::manual_time_us);
BENCHMARK(BM_cuda_linear_backward)->Apply(twin::linear_heads)->Apply(fb::manual_time_us);

// Args: batch, M, K, N: a [batch, M, K] · b [batch, K, N].
std::string small_shape(int64_t B, int64_t M, int64_t K, int64_t N) {
  return str(B) + " x " + str(M) + "x" + str(K) + " · " + str(K) + "x" + str(N);
}

void BM_cuda_matmul_small(benchmark::State& state) {
  const int64_t B = state.range(0), M = state.range(1), K = state.range(2), N = state.range(3);
  const Tensor a = device_values({B, M, K}, 1), b = device_values({B, K, N}, 2);
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::matmul(a, b).raw_data()); });
  fb::set_bytes(state, kF32 * static_cast<double>(B * (M * K + K * N + M * N)), small_shape(B, M, K, N));
}

// Its gradients: da = dc · bᵀ and db = aᵀ · dc.
void BM_cuda_matmul_small_backward(benchmark::State& state) {
  const int64_t B = state.range(0), M = state.range(1), K = state.range(2), N = state.range(3);
  const Tensor a = device_values({B, M, K}, 1), b = device_values({B, K, N}, 2), dc = device_values({B, M, N}, 3);
  fb::time_op(state, [&] {
    benchmark::DoNotOptimize(k::matmul(dc, b, false, true).raw_data());
    benchmark::DoNotOptimize(k::matmul(a, dc, true, false).raw_data());
  });
  fb::set_bytes(state, kF32 * static_cast<double>(B * 2 * (M * K + K * N + M * N)), small_shape(B, M, K, N));
}

BENCHMARK(BM_cuda_matmul_small)->Apply(twin::small_matmuls)->Apply(fb::manual_time_us);
BENCHMARK(BM_cuda_matmul_small_backward)->Apply(twin::small_matmuls)->Apply(fb::manual_time_us);

}  // namespace
