// The core family's memory-bound CUDA kernels: broadcasting binary ops, unary ops and relu's
// backward (kernels/cuda/elementwise.cu), strided copies (transpose, broadcast_to), fill,
// cast and copy (fill_cast.cu) and sums (reduce.cu).
//
// BM_cuda_add_bias, _sum_to_channels, _binary_full and _core_unary do on the GPU the work of
// the CPU benchmarks of the same name (bench_elementwise.cpp), BM_cuda_transpose that of
// BM_transpose (bench_linear.cpp), with the same arguments and the same minimum bytes; their
// PyTorch peers are the CPU ones on the GPU (peers_cuda.py). The others have no CPU twin;
// their peers are in peers_cuda_core.py. Every rate is the minimum bytes the op must move
// (each input read once, each output written once) against the copy ceiling.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "benchmarks/cuda_bench_util.h"
#include "benchmarks/twin_shapes.h"
#include "kernels/core.h"

namespace {

using fh::DType;
using fh::Shape;
using fh::Tensor;
namespace fb = fh::bench::cuda;
namespace k = fh::kernels;
namespace twin = fh::bench::twin;

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

// ---- Twins of bench_elementwise.cpp -------------------------------------------------------

// Args: N, H, W, C. out[n,h,w,c] = x[n,h,w,c] + bias[c].
void BM_cuda_add_bias(benchmark::State& state) {
  const Shape s = nhwc(state);
  const Tensor x = device_uniform(s, 1), bias = device_uniform({s[3]}, 2);
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::binary(k::BinaryOp::Add, x, bias).raw_data()); });
  fb::set_bytes(state, 2.0 * static_cast<double>(x.nbytes()) + static_cast<double>(bias.nbytes()), s.str());
}

// Args: N, H, W, C. out[c] = Σ_{n,h,w} x[n,h,w,c] (a bias gradient).
void BM_cuda_sum_to_channels(benchmark::State& state) {
  const Shape s = nhwc(state);
  const Tensor x = device_uniform(s, 1);
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::sum(x, {0, 1, 2}, false).raw_data()); });
  fb::set_bytes(state, static_cast<double>(x.nbytes()) + kF32 * static_cast<double>(s[3]), s.str());
}

// Args: op (0 mul, 1 div), N, H, W, C: two full NHWC tensors.
void BM_cuda_binary_full(benchmark::State& state) {
  const auto op = state.range(0) == 0 ? k::BinaryOp::Mul : k::BinaryOp::Div;
  const Shape s = nhwc(state, 1);
  const Tensor a = device_uniform(s, 1), b = device_uniform(s, 2, 0.5, 2.0);
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::binary(op, a, b).raw_data()); });
  fb::set_bytes(state, 3.0 * static_cast<double>(a.nbytes()), std::string(k::op_name(op)) + " " + s.str());
}

// Args: op (0 relu, 1 exp, 2 log, 3 relu backward), N, H, W, C.
void BM_cuda_core_unary(benchmark::State& state) {
  const int64_t op = state.range(0);
  const Shape s = nhwc(state, 1);
  const Tensor x = op == 2 ? device_uniform(s, 1, 0.1, 4.0) : device_uniform(s, 1);
  const Tensor g = device_uniform(s, 2);
  const k::UnaryOp ops[] = {k::UnaryOp::Relu, k::UnaryOp::Exp, k::UnaryOp::Log};
  fb::time_op(state, [&] {
    benchmark::DoNotOptimize((op == 3 ? k::relu_backward(g, x) : k::unary(ops[op], x)).raw_data());
  });
  fb::set_bytes(state, (op == 3 ? 3.0 : 2.0) * static_cast<double>(x.nbytes()),
                std::string(op == 3 ? "relu_backward" : k::op_name(ops[op])) + " " + s.str());
}

BENCHMARK(BM_cuda_add_bias)->Apply(twin::activation_maps)->Apply(fb::manual_time_us);
BENCHMARK(BM_cuda_sum_to_channels)->Apply(twin::activation_maps)->Apply(fb::manual_time_us);
BENCHMARK(BM_cuda_binary_full)->Apply(twin::op_activation_maps<2>)->Apply(fb::manual_time_us);
BENCHMARK(BM_cuda_core_unary)->Apply(twin::op_activation_maps<4>)->Apply(fb::manual_time_us);

// ---- Twin of bench_linear.cpp's BM_transpose ------------------------------------------------

// Args: a 4-d shape and the two dims swapped (a strided copy into new storage).
void BM_cuda_transpose(benchmark::State& state) {
  const Shape s = nhwc(state);
  std::vector<int64_t> dims{0, 1, 2, 3};
  std::swap(dims[state.range(4)], dims[state.range(5)]);
  const Tensor x = device_uniform(s, 1);
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::permute(x, dims).raw_data()); });
  fb::set_bytes(state, 2 * kF32 * elements(s),
                s.str() + " dims " + std::to_string(state.range(4)) + "<->" + std::to_string(state.range(5)));
}

BENCHMARK(BM_cuda_transpose)->Apply(twin::transposes)->Apply(fb::manual_time_us);

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
