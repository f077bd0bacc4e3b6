// The core family's CUDA kernels that have no CPU benchmark twin: fill, cast and copy
// (fill_cast.cu), broadcast_to and sums (reduce.cu) at the GPU's own sizes. (The ops that
// run on both devices are the op table's benchmarks, benchmarks/op_table_bench.cpp.) Their
// peers are in peers_cuda_core.py. Every rate is the minimum bytes the op must move (each
// input read once, each output written once) against the copy ceiling.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "benchmarks/cuda_bench_util.h"
#include "kernels/core.h"

namespace {

using fh::DType;
using fh::Shape;
using fh::Tensor;
namespace fb = fh::bench::cuda;
namespace k = fh::kernels;

constexpr double kF32 = sizeof(float);

double elements(const Shape& s) { return static_cast<double>(s.numel()); }

// float32 values in [lo, hi) filled on the device, a different pattern per seed.
Tensor device_uniform(const Shape& shape, uint32_t seed, double lo = -1.0, double hi = 1.0) {
  const Tensor t = fb::device_values(shape, seed);  // [-1, 1)
  if (lo == -1.0 && hi == 1.0) return t;
  return k::unary(k::UnaryOp::AddScalar, k::unary(k::UnaryOp::Scale, t, (hi - lo) / 2), (hi + lo) / 2);
}

// Args from `first` on: N, H, W, C.
Shape nhwc(const benchmark::State& state, int first = 0) {
  return {state.range(first), state.range(first + 1), state.range(first + 2), state.range(first + 3)};
}

// ---- GPU only: fill, copy, cast, broadcast_to, sums ------------------------------------------

// Args: value (0: all-zero bytes, a memset; 1: the fill kernel), N, H, W, C. In place: the
// bytes are the tensor written once.
void BM_cuda_fill(benchmark::State& state) {
  const double value = static_cast<double>(state.range(0));
  const Shape s = nhwc(state, 1);
  Tensor x = Tensor::empty(s, DType::F32, fb::kGpu);
  fb::time_op(state, [&] { k::fill(x, value); });
  fb::set_bytes(state, static_cast<double>(x.nbytes()), (value == 0 ? "zeros " : "ones ") + s.str());
}

// Args: N, H, W, C. A device-to-device copy into a new tensor (kernels::copy, Tensor::clone).
void BM_cuda_copy(benchmark::State& state) {
  const Shape s = nhwc(state);
  const Tensor x = device_uniform(s, 1);
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::copy(x).raw_data()); });
  fb::set_bytes(state, 2.0 * static_cast<double>(x.nbytes()), s.str());
}

// Args: from, to (DType's values: 0 float32, 1 float64, 2 float16, 3 bfloat16), N, H, W, C.
void BM_cuda_cast(benchmark::State& state) {
  const auto from = static_cast<DType>(state.range(0)), to = static_cast<DType>(state.range(1));
  const Shape s = nhwc(state, 2);
  const Tensor x = k::cast(device_uniform(s, 1), from);
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::cast(x, to).raw_data()); });
  fb::set_bytes(state, elements(s) * static_cast<double>(fh::dtype_size(from) + fh::dtype_size(to)),
                std::string(fh::dtype_name(from)) + "->" + fh::dtype_name(to) + " " + s.str());
}

// Args: N, H, W, C. [N, 1, 1, C] (per-image channel values) expanded to [N, H, W, C].
void BM_cuda_broadcast_to(benchmark::State& state) {
  const Shape s = nhwc(state);
  const Tensor x = device_uniform({s[0], 1, 1, s[3]}, 1);
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::broadcast_to(x, s).raw_data()); });
  fb::set_bytes(state, kF32 * (elements(s) + static_cast<double>(s[0] * s[3])), s.str());
}

// Args: dims (0 all: a loss's sum; 1 the last: per-pixel sums over channels; 2 H and W:
// per-image channel sums), N, H, W, C. Together with BM_cuda_sum_to_channels (N, H and W)
// these cover both strategies of kernels/cuda/reduce.cu with one and several pieces.
void BM_cuda_sum(benchmark::State& state) {
  static const std::vector<int64_t> kDims[] = {{}, {3}, {1, 2}};
  static const char* const kNames[] = {"all", "C", "HW"};
  const int64_t mode = state.range(0);
  const Shape s = nhwc(state, 1);
  const Tensor x = device_uniform(s, 1);
  const double outputs = static_cast<double>(k::sum(x, kDims[mode], false).numel());
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::sum(x, kDims[mode], false).raw_data()); });
  fb::set_bytes(state, static_cast<double>(x.nbytes()) + kF32 * outputs,
                std::string("over ") + kNames[mode] + " " + s.str());
}

void copy_shapes(benchmark::internal::Benchmark* b) {
  for (int64_t n : {1, 8}) b->Args({n, 128, 128, 128})->Args({n, 64, 64, 512});
  b->Unit(benchmark::kMicrosecond)->UseManualTime();
}

void fill_shapes(benchmark::internal::Benchmark* b) {
  for (int64_t value : {0, 1})
    for (int64_t n : {1, 8}) b->Args({value, n, 128, 128, 128});
  b->Unit(benchmark::kMicrosecond)->UseManualTime();
}

// float32 to and from the GPU's storage types, and to float64 (gradient checks).
void cast_shapes(benchmark::internal::Benchmark* b) {
  constexpr int64_t f32 = 0, f64 = 1, f16 = 2, bf16 = 3;
  for (const auto& [from, to] : {std::pair{f32, bf16}, std::pair{bf16, f32}, std::pair{f32, f16}, std::pair{f16, f32},
                                 std::pair{f32, f64}})
    for (int64_t n : {1, 8}) b->Args({from, to, n, 128, 128, 128});
  b->Unit(benchmark::kMicrosecond)->UseManualTime();
}

void sum_shapes(benchmark::internal::Benchmark* b) {
  for (int64_t mode : {0, 1, 2})
    for (int64_t n : {1, 8}) b->Args({mode, n, 128, 128, 128})->Args({mode, n, 64, 64, 512});
  b->Unit(benchmark::kMicrosecond)->UseManualTime();
}

BENCHMARK(BM_cuda_fill)->Apply(fill_shapes);
BENCHMARK(BM_cuda_copy)->Apply(copy_shapes);
BENCHMARK(BM_cuda_cast)->Apply(cast_shapes);
BENCHMARK(BM_cuda_broadcast_to)->Apply(copy_shapes);
BENCHMARK(BM_cuda_sum)->Apply(sum_shapes);

}  // namespace
