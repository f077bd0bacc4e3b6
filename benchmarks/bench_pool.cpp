// Pool family: pooling, nearest resizing, concat and crops at the shapes the model runs
// them, batch 1 and 8, forward and backward kernels. All are memory-bound, so each reports
// the minimum bytes it must move (float32 = 4 bytes, int64 indices = 8): every input
// element it needs read once, every output element written once. peers_pool.py runs the
// same work through PyTorch (NCHW, its natural layout).
#include <algorithm>
#include <vector>

#include "benchmarks/bench_util.h"
#include "benchmarks/twin_shapes.h"
#include "kernels/pool.h"
#include "kernels/shape_ops.h"
#include "runtime/random.h"

namespace {

using fh::Shape;
using fh::Tensor;
using fh::kernels::PoolWindow;
namespace twin = fh::bench::twin;
using twin::crop_offsets;

constexpr double kF32 = 4, kI64 = 8;

double elements(const Shape& s) { return static_cast<double>(s.numel()); }

// Args of the pooling benchmarks: N, H, W, C, kernel, stride, padding (square windows).
struct PoolArgs {
  Shape input;
  PoolWindow window;
  explicit PoolArgs(const benchmark::State& state)
      : input{state.range(0), state.range(1), state.range(2), state.range(3)},
        window(PoolWindow::square(state.range(4), state.range(5), state.range(6))) {}
};

// Args: N, H, W, C, kernel, stride, padding, count_include_pad.
void BM_avg_pool2d(benchmark::State& state) {
  const PoolArgs a(state);
  fh::Generator gen(1);
  const Tensor x = fh::randn(a.input, gen);
  const bool include_pad = state.range(7) != 0;
  Tensor y = fh::kernels::avg_pool2d(x, a.window, include_pad);
  for (auto _ : state) {
    y = fh::kernels::avg_pool2d(x, a.window, include_pad);
    benchmark::DoNotOptimize(y.raw_data());
  }
  fh::bench::set_bytes(state, kF32 * (elements(x.shape()) + elements(y.shape())));
}

void BM_avg_pool2d_backward(benchmark::State& state) {
  const PoolArgs a(state);
  fh::Generator gen(1);
  const bool include_pad = state.range(7) != 0;
  const Tensor g = fh::randn(fh::kernels::avg_pool2d(Tensor::zeros(a.input), a.window, include_pad).shape(), gen);
  for (auto _ : state) {
    Tensor dx = fh::kernels::avg_pool2d_backward(g, a.input, a.window, include_pad);
    benchmark::DoNotOptimize(dx.raw_data());
  }
  fh::bench::set_bytes(state, kF32 * (elements(g.shape()) + elements(a.input)));
}

// Args: N, H, W, C, kernel, stride, padding. Writes the maxima and their int64 positions.
void BM_max_pool2d(benchmark::State& state) {
  const PoolArgs a(state);
  fh::Generator gen(1);
  const Tensor x = fh::randn(a.input, gen);
  fh::kernels::MaxPoolResult r = fh::kernels::max_pool2d(x, a.window);
  for (auto _ : state) {
    r = fh::kernels::max_pool2d(x, a.window);
    benchmark::DoNotOptimize(r.output.raw_data());
  }
  fh::bench::set_bytes(state, kF32 * elements(a.input) + (kF32 + kI64) * elements(r.output.shape()));
}

void BM_max_pool2d_backward(benchmark::State& state) {
  const PoolArgs a(state);
  fh::Generator gen(1);
  const fh::kernels::MaxPoolResult r = fh::kernels::max_pool2d(fh::randn(a.input, gen), a.window);
  const Tensor g = fh::randn(r.output.shape(), gen);
  for (auto _ : state) {
    Tensor dx = fh::kernels::max_pool2d_backward(g, r.indices, a.input, a.window, true);
    benchmark::DoNotOptimize(dx.raw_data());
  }
  fh::bench::set_bytes(state, (kF32 + kI64) * elements(g.shape()) + kF32 * elements(a.input));
}

// Args: N, H, W, C.
void BM_global_avg_pool(benchmark::State& state) {
  const Shape in{state.range(0), state.range(1), state.range(2), state.range(3)};
  fh::Generator gen(1);
  const Tensor x = fh::randn(in, gen);
  for (auto _ : state) {
    Tensor y = fh::kernels::global_avg_pool(x);
    benchmark::DoNotOptimize(y.raw_data());
  }
  fh::bench::set_bytes(state, kF32 * (elements(in) + static_cast<double>(in[0] * in[3])));
}

void BM_global_avg_pool_backward(benchmark::State& state) {
  const Shape in{state.range(0), state.range(1), state.range(2), state.range(3)};
  fh::Generator gen(1);
  const Tensor g = fh::randn({in[0], in[3]}, gen);
  for (auto _ : state) {
    Tensor dx = fh::kernels::global_avg_pool_backward(g, in);
    benchmark::DoNotOptimize(dx.raw_data());
  }
  fh::bench::set_bytes(state, kF32 * (elements(in) + elements(g.shape())));
}

// Args: N, H, W, C, out_h, out_w. A downsample reads only the pixels it keeps.
void BM_resize_nearest(benchmark::State& state) {
  const Shape in{state.range(0), state.range(1), state.range(2), state.range(3)};
  const int64_t oh = state.range(4), ow = state.range(5);
  fh::Generator gen(1);
  const Tensor x = fh::randn(in, gen);
  for (auto _ : state) {
    Tensor y = fh::kernels::resize_nearest(x, oh, ow);
    benchmark::DoNotOptimize(y.raw_data());
  }
  const double read = static_cast<double>(in[0] * std::min(in[1], oh) * std::min(in[2], ow) * in[3]);
  fh::bench::set_bytes(state, kF32 * (read + static_cast<double>(in[0] * oh * ow * in[3])));
}

void BM_resize_nearest_backward(benchmark::State& state) {
  const Shape in{state.range(0), state.range(1), state.range(2), state.range(3)};
  const int64_t oh = state.range(4), ow = state.range(5);
  fh::Generator gen(1);
  const Tensor g = fh::randn({in[0], oh, ow, in[3]}, gen);
  for (auto _ : state) {
    Tensor dx = fh::kernels::resize_nearest_backward(g, in);
    benchmark::DoNotOptimize(dx.raw_data());
  }
  fh::bench::set_bytes(state, kF32 * (elements(g.shape()) + elements(in)));
}

// Args: N, H, W, C. Two NHWC images joined on channels (the discriminator's and the flow
// network's 6-channel inputs).
void BM_concat(benchmark::State& state) {
  const Shape in{state.range(0), state.range(1), state.range(2), state.range(3)};
  fh::Generator gen(1);
  const std::vector<Tensor> xs = {fh::randn(in, gen), fh::randn(in, gen)};
  for (auto _ : state) {
    Tensor y = fh::kernels::concat(xs, 3);
    benchmark::DoNotOptimize(y.raw_data());
  }
  fh::bench::set_bytes(state, kF32 * 4 * elements(in));
}

// The gradient of each input: its channels of the output gradient (ConcatBackward).
void BM_concat_backward(benchmark::State& state) {
  const Shape in{state.range(0), state.range(1), state.range(2), state.range(3)};
  fh::Generator gen(1);
  const Tensor g = fh::randn({in[0], in[1], in[2], 2 * in[3]}, gen);
  for (auto _ : state) {
    std::vector<Tensor> grads = fh::kernels::split(g, 3, {in[3], in[3]});
    benchmark::DoNotOptimize(grads[0].raw_data());
  }
  fh::bench::set_bytes(state, kF32 * 4 * elements(in));
}

// Args: N, H, W, C, crop size; offsets twin::crop_offsets.
void BM_crop2d(benchmark::State& state) {
  const Shape in{state.range(0), state.range(1), state.range(2), state.range(3)};
  const int64_t crop = state.range(4);
  fh::Generator gen(1);
  const Tensor x = fh::randn(in, gen);
  const std::vector<int64_t> tops = crop_offsets(in[0], in[1], crop, 1), lefts = crop_offsets(in[0], in[2], crop, -1);
  for (auto _ : state) {
    Tensor y = fh::kernels::crop2d(x, tops, lefts, crop, crop);
    benchmark::DoNotOptimize(y.raw_data());
  }
  fh::bench::set_bytes(state, kF32 * 2 * static_cast<double>(in[0] * crop * crop * in[3]));
}

// Zeros everywhere but the crops, which receive the gradient.
void BM_crop2d_backward(benchmark::State& state) {
  const Shape in{state.range(0), state.range(1), state.range(2), state.range(3)};
  const int64_t crop = state.range(4);
  fh::Generator gen(1);
  const Tensor g = fh::randn({in[0], crop, crop, in[3]}, gen);
  const std::vector<int64_t> tops = crop_offsets(in[0], in[1], crop, 1), lefts = crop_offsets(in[0], in[2], crop, -1);
  for (auto _ : state) {
    Tensor dx = fh::kernels::crop2d_backward(g, in, tops, lefts);
    benchmark::DoNotOptimize(dx.raw_data());
  }
  fh::bench::set_bytes(state, kF32 * (elements(g.shape()) + elements(in)));
}

#define FH_POOL_BENCHMARK(fn, shapes) BENCHMARK(fn)->Apply(shapes)->Unit(benchmark::kMicrosecond)->UseRealTime()
FH_POOL_BENCHMARK(BM_avg_pool2d, twin::avg_pools);
FH_POOL_BENCHMARK(BM_avg_pool2d_backward, twin::avg_pools);
FH_POOL_BENCHMARK(BM_max_pool2d, twin::max_pools);
FH_POOL_BENCHMARK(BM_max_pool2d_backward, twin::max_pools);
FH_POOL_BENCHMARK(BM_global_avg_pool, twin::global_pools);
FH_POOL_BENCHMARK(BM_global_avg_pool_backward, twin::global_pools);
FH_POOL_BENCHMARK(BM_resize_nearest, twin::resizes);
FH_POOL_BENCHMARK(BM_resize_nearest_backward, twin::resizes);
FH_POOL_BENCHMARK(BM_concat, twin::images);
FH_POOL_BENCHMARK(BM_concat_backward, twin::images);
FH_POOL_BENCHMARK(BM_crop2d, twin::crops);
FH_POOL_BENCHMARK(BM_crop2d_backward, twin::crops);

}  // namespace
