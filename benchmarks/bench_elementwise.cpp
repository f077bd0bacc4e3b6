// Memory-bound core kernels: a broadcasting add (bias over channels, NHWC), a sum over all
// but the channel dim (a bias gradient), full-size mul/div, relu/exp/log and relu backward. Rates are the minimum bytes each must move (read inputs once, write
// the output once); torch_compare.py times the same work in PyTorch.
#include "benchmarks/bench_util.h"
#include "benchmarks/twin_shapes.h"
#include "kernels/core.h"
#include "runtime/random.h"

namespace {

namespace twin = fh::bench::twin;

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

// Args: op (0 mul, 1 div), N, H, W, C: two full NHWC tensors.
void BM_binary_full(benchmark::State& state) {
  const auto op = state.range(0) == 0 ? fh::kernels::BinaryOp::Mul : fh::kernels::BinaryOp::Div;
  const int64_t N = state.range(1), H = state.range(2), W = state.range(3), C = state.range(4);
  fh::Generator gen(1);
  const fh::Tensor a = fh::randn({N, H, W, C}, gen), b = fh::rand({N, H, W, C}, gen, 0.5, 2.0);
  for (auto _ : state) {
    fh::Tensor y = fh::kernels::binary(op, a, b);
    benchmark::DoNotOptimize(y.raw_data());
  }
  fh::bench::set_bytes(state, 3.0 * static_cast<double>(a.nbytes()));
}

// Args: op (0 relu, 1 exp, 2 log, 3 relu backward), N, H, W, C.
void BM_core_unary(benchmark::State& state) {
  const int64_t op = state.range(0), N = state.range(1), H = state.range(2), W = state.range(3), C = state.range(4);
  fh::Generator gen(1);
  const fh::Tensor x = op == 2 ? fh::rand({N, H, W, C}, gen, 0.1, 4.0) : fh::randn({N, H, W, C}, gen);
  const fh::Tensor g = fh::randn({N, H, W, C}, gen);
  const fh::kernels::UnaryOp ops[] = {fh::kernels::UnaryOp::Relu, fh::kernels::UnaryOp::Exp, fh::kernels::UnaryOp::Log};
  for (auto _ : state) {
    fh::Tensor y = op == 3 ? fh::kernels::relu_backward(g, x) : fh::kernels::unary(ops[op], x);
    benchmark::DoNotOptimize(y.raw_data());
  }
  fh::bench::set_bytes(state, (op == 3 ? 3.0 : 2.0) * static_cast<double>(x.nbytes()));
}

BENCHMARK(BM_add_bias)->Apply(twin::activation_maps)->Apply(fh::bench::real_time_ms);
BENCHMARK(BM_sum_to_channels)->Apply(twin::activation_maps)->Apply(fh::bench::real_time_ms);
BENCHMARK(BM_binary_full)->Apply(twin::op_activation_maps<2>)->Apply(fh::bench::real_time_ms);
BENCHMARK(BM_core_unary)->Apply(twin::op_activation_maps<4>)->Apply(fh::bench::real_time_ms);

}  // namespace
