// The pool family's CUDA kernels at the CPU benchmarks' shapes (bench_pool.cpp): each
// BM_cuda_<name> does the work of BM_<name> with the same arguments and counts the same
// minimum bytes.
#include <algorithm>
#include <vector>

#include "benchmarks/cuda_bench_util.h"
#include "benchmarks/twin_shapes.h"
#include "kernels/pool.h"
#include "kernels/shape_ops.h"
#include "runtime/random.h"

namespace {

using fh::Shape;
using fh::Tensor;
using fh::kernels::PoolWindow;
namespace fb = fh::bench::cuda;
namespace k = fh::kernels;
namespace twin = fh::bench::twin;
using twin::crop_offsets;

constexpr double kF32 = 4, kI64 = 8;

double elements(const Shape& s) { return static_cast<double>(s.numel()); }

Tensor randn_gpu(const Shape& s, fh::Generator& gen) { return fh::randn(s, gen).to(fb::kGpu); }

// Args: N, H, W, C, kernel, stride, padding (square windows).
struct PoolArgs {
  Shape input;
  PoolWindow window;
  explicit PoolArgs(const benchmark::State& state)
      : input{state.range(0), state.range(1), state.range(2), state.range(3)},
        window(PoolWindow::square(state.range(4), state.range(5), state.range(6))) {}
};

// Args: N, H, W, C, kernel, stride, padding, count_include_pad.
void BM_cuda_avg_pool2d(benchmark::State& state) {
  const PoolArgs a(state);
  fh::Generator gen(1);
  const Tensor x = randn_gpu(a.input, gen);
  const bool include_pad = state.range(7) != 0;
  const Shape out = k::avg_pool2d(x, a.window, include_pad).shape();
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::avg_pool2d(x, a.window, include_pad).raw_data()); });
  fb::set_bytes(state, kF32 * (elements(a.input) + elements(out)));
}

void BM_cuda_avg_pool2d_backward(benchmark::State& state) {
  const PoolArgs a(state);
  fh::Generator gen(1);
  const bool include_pad = state.range(7) != 0;
  const Tensor g = randn_gpu(k::avg_pool2d(Tensor::zeros(a.input), a.window, include_pad).shape(), gen);
  fb::time_op(state, [&] {
    benchmark::DoNotOptimize(k::avg_pool2d_backward(g, a.input, a.window, include_pad).raw_data());
  });
  fb::set_bytes(state, kF32 * (elements(g.shape()) + elements(a.input)));
}

void BM_cuda_max_pool2d(benchmark::State& state) {
  const PoolArgs a(state);
  fh::Generator gen(1);
  const Tensor x = randn_gpu(a.input, gen);
  const Shape out = k::max_pool2d(x, a.window).output.shape();
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::max_pool2d(x, a.window).output.raw_data()); });
  fb::set_bytes(state, kF32 * elements(a.input) + (kF32 + kI64) * elements(out));
}

// As training runs it: the indices are max_pool2d's own, so they are not validated (which
// would make the host wait for a flag, kernels/cuda/pool.cu).
void BM_cuda_max_pool2d_backward(benchmark::State& state) {
  const PoolArgs a(state);
  fh::Generator gen(1);
  const k::MaxPoolResult r = k::max_pool2d(randn_gpu(a.input, gen), a.window);
  const Tensor g = randn_gpu(r.output.shape(), gen);
  fb::time_op(state, [&] {
    benchmark::DoNotOptimize(k::max_pool2d_backward(g, r.indices, a.input, a.window, true).raw_data());
  });
  fb::set_bytes(state, (kF32 + kI64) * elements(g.shape()) + kF32 * elements(a.input));
}

// Args: N, H, W, C.
void BM_cuda_global_avg_pool(benchmark::State& state) {
  const Shape in{state.range(0), state.range(1), state.range(2), state.range(3)};
  fh::Generator gen(1);
  const Tensor x = randn_gpu(in, gen);
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::global_avg_pool(x).raw_data()); });
  fb::set_bytes(state, kF32 * (elements(in) + static_cast<double>(in[0] * in[3])));
}

void BM_cuda_global_avg_pool_backward(benchmark::State& state) {
  const Shape in{state.range(0), state.range(1), state.range(2), state.range(3)};
  fh::Generator gen(1);
  const Tensor g = randn_gpu({in[0], in[3]}, gen);
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::global_avg_pool_backward(g, in).raw_data()); });
  fb::set_bytes(state, kF32 * (elements(in) + elements(g.shape())));
}

// Args: N, H, W, C, out_h, out_w.
void BM_cuda_resize_nearest(benchmark::State& state) {
  const Shape in{state.range(0), state.range(1), state.range(2), state.range(3)};
  const int64_t oh = state.range(4), ow = state.range(5);
  fh::Generator gen(1);
  const Tensor x = randn_gpu(in, gen);
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::resize_nearest(x, oh, ow).raw_data()); });
  const double read = static_cast<double>(in[0] * std::min(in[1], oh) * std::min(in[2], ow) * in[3]);
  fb::set_bytes(state, kF32 * (read + static_cast<double>(in[0] * oh * ow * in[3])));
}

void BM_cuda_resize_nearest_backward(benchmark::State& state) {
  const Shape in{state.range(0), state.range(1), state.range(2), state.range(3)};
  const int64_t oh = state.range(4), ow = state.range(5);
  fh::Generator gen(1);
  const Tensor g = randn_gpu({in[0], oh, ow, in[3]}, gen);
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::resize_nearest_backward(g, in).raw_data()); });
  fb::set_bytes(state, kF32 * (elements(g.shape()) + elements(in)));
}

// Args: N, H, W, C: two images joined on channels.
void BM_cuda_concat(benchmark::State& state) {
  const Shape in{state.range(0), state.range(1), state.range(2), state.range(3)};
  fh::Generator gen(1);
  const std::vector<Tensor> xs = {randn_gpu(in, gen), randn_gpu(in, gen)};
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::concat(xs, 3).raw_data()); });
  fb::set_bytes(state, kF32 * 4 * elements(in));
}

void BM_cuda_concat_backward(benchmark::State& state) {
  const Shape in{state.range(0), state.range(1), state.range(2), state.range(3)};
  fh::Generator gen(1);
  const Tensor g = randn_gpu({in[0], in[1], in[2], 2 * in[3]}, gen);
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::split(g, 3, {in[3], in[3]})[0].raw_data()); });
  fb::set_bytes(state, kF32 * 4 * elements(in));
}

// Args: N, H, W, C, crop size; offsets twin::crop_offsets.
void BM_cuda_crop2d(benchmark::State& state) {
  const Shape in{state.range(0), state.range(1), state.range(2), state.range(3)};
  const int64_t crop = state.range(4);
  fh::Generator gen(1);
  const Tensor x = randn_gpu(in, gen);
  const std::vector<int64_t> tops = crop_offsets(in[0], in[1], crop, 1), lefts = crop_offsets(in[0], in[2], crop, -1);
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::crop2d(x, tops, lefts, crop, crop).raw_data()); });
  fb::set_bytes(state, kF32 * 2 * static_cast<double>(in[0] * crop * crop * in[3]));
}

void BM_cuda_crop2d_backward(benchmark::State& state) {
  const Shape in{state.range(0), state.range(1), state.range(2), state.range(3)};
  const int64_t crop = state.range(4);
  fh::Generator gen(1);
  const Tensor g = randn_gpu({in[0], crop, crop, in[3]}, gen);
  const std::vector<int64_t> tops = crop_offsets(in[0], in[1], crop, 1), lefts = crop_offsets(in[0], in[2], crop, -1);
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::crop2d_backward(g, in, tops, lefts).raw_data()); });
  fb::set_bytes(state, kF32 * (elements(g.shape()) + elements(in)));
}

#define FH_CUDA_POOL_BENCHMARK(fn, shapes) BENCHMARK(fn)->Apply(shapes)->Apply(fb::manual_time_us)
FH_CUDA_POOL_BENCHMARK(BM_cuda_avg_pool2d, twin::avg_pools);
FH_CUDA_POOL_BENCHMARK(BM_cuda_avg_pool2d_backward, twin::avg_pools);
FH_CUDA_POOL_BENCHMARK(BM_cuda_max_pool2d, twin::max_pools);
FH_CUDA_POOL_BENCHMARK(BM_cuda_max_pool2d_backward, twin::max_pools);
FH_CUDA_POOL_BENCHMARK(BM_cuda_global_avg_pool, twin::global_pools);
FH_CUDA_POOL_BENCHMARK(BM_cuda_global_avg_pool_backward, twin::global_pools);
FH_CUDA_POOL_BENCHMARK(BM_cuda_resize_nearest, twin::resizes);
FH_CUDA_POOL_BENCHMARK(BM_cuda_resize_nearest_backward, twin::resizes);
FH_CUDA_POOL_BENCHMARK(BM_cuda_concat, twin::images);
FH_CUDA_POOL_BENCHMARK(BM_cuda_concat_backward, twin::images);
FH_CUDA_POOL_BENCHMARK(BM_cuda_crop2d, twin::crops);
FH_CUDA_POOL_BENCHMARK(BM_cuda_crop2d_backward, twin::crops);

}  // namespace
