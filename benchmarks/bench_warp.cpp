// The warp family at the generator's shapes (`paper` config, NHWC): the flow warp of the
// image and of the encoder features, N-shot fusion of M = 4 warped sources, and the
// decoder's pixel shuffles. Bytes are the minimum each op must move: every input read once
// and every output written once. peers_warp.py times the same work in PyTorch.
#include "benchmarks/bench_util.h"
#include "benchmarks/twin_shapes.h"
#include "kernels/warp.h"
#include "runtime/random.h"

namespace {

namespace twin = fh::bench::twin;

// Flows of a few pixels, like a head's motion between frames (uniform in [-3, 3]).
fh::Tensor motion_flow(int64_t N, int64_t H, int64_t W, fh::Generator& gen) {
  return fh::rand({N, H, W, 2}, gen, -3.0, 3.0);
}

constexpr double kF32 = sizeof(float);

// Args: N, H, W, C. out = warp(src [N,H,W,C], flow [N,H,W,2]).
void BM_warp_forward(benchmark::State& state) {
  const int64_t N = state.range(0), H = state.range(1), W = state.range(2), C = state.range(3);
  fh::Generator gen(1);
  const fh::Tensor src = fh::randn({N, H, W, C}, gen), flow = motion_flow(N, H, W, gen);
  for (auto _ : state) {
    fh::Tensor out = fh::kernels::warp(src, flow);
    benchmark::DoNotOptimize(out.raw_data());
  }
  const double elements = static_cast<double>(N * H * W * C), pixels = static_cast<double>(N * H * W);
  fh::bench::set_flops(state, 7.0 * elements);  // 4 products, 3 sums per element
  fh::bench::set_bytes(state, kF32 * (2.0 * elements + 2.0 * pixels));
}

// Args: N, H, W, C. Both gradients, grad_src (scatter) and grad_flow (gather), as one
// backward step needs them.
void BM_warp_backward(benchmark::State& state) {
  const int64_t N = state.range(0), H = state.range(1), W = state.range(2), C = state.range(3);
  fh::Generator gen(1);
  const fh::Tensor src = fh::randn({N, H, W, C}, gen), flow = motion_flow(N, H, W, gen);
  const fh::Tensor grad_out = fh::randn({N, H, W, C}, gen);
  for (auto _ : state) {
    fh::Tensor grad_src = fh::kernels::warp_backward_src(flow, grad_out);
    fh::Tensor grad_flow = fh::kernels::warp_backward_flow(src, flow, grad_out);
    benchmark::DoNotOptimize(grad_src.raw_data());
    benchmark::DoNotOptimize(grad_flow.raw_data());
  }
  const double elements = static_cast<double>(N * H * W * C), pixels = static_cast<double>(N * H * W);
  // grad_src: 4 multiply-adds per element; grad_flow: two corner-difference dot products, 14 per element.
  fh::bench::set_flops(state, 22.0 * elements);
  // Read src, grad_out, flow; write grad_src, grad_flow.
  fh::bench::set_bytes(state, kF32 * (3.0 * elements + 4.0 * pixels));
}

// Args: N, M, H, W, C. out = Σ_j softmax_j(m) · x_j, m [N,M,H,W,1], x [N,M,H,W,C].
void BM_nshot_fusion_forward(benchmark::State& state) {
  const int64_t N = state.range(0), M = state.range(1), H = state.range(2), W = state.range(3), C = state.range(4);
  fh::Generator gen(1);
  const fh::Tensor m = fh::randn({N, M, H, W, 1}, gen), x = fh::randn({N, M, H, W, C}, gen);
  for (auto _ : state) {
    fh::Tensor out = fh::kernels::nshot_fusion(m, x);
    benchmark::DoNotOptimize(out.raw_data());
  }
  const double pixels = static_cast<double>(N * H * W), mc = static_cast<double>(M * C);
  fh::bench::set_flops(state, 2.0 * mc * pixels);
  fh::bench::set_bytes(state, kF32 * pixels * (mc + static_cast<double>(M) + static_cast<double>(C)));
}

// Args: N, M, H, W, C. Gradients to every x_j and to m.
void BM_nshot_fusion_backward(benchmark::State& state) {
  const int64_t N = state.range(0), M = state.range(1), H = state.range(2), W = state.range(3), C = state.range(4);
  fh::Generator gen(1);
  const fh::Tensor m = fh::randn({N, M, H, W, 1}, gen), x = fh::randn({N, M, H, W, C}, gen);
  const fh::Tensor grad_out = fh::randn({N, H, W, C}, gen);
  for (auto _ : state) {
    fh::Tensor grad_x = fh::kernels::nshot_fusion_backward_x(m, grad_out);
    fh::Tensor grad_m = fh::kernels::nshot_fusion_backward_m(m, x, grad_out);
    benchmark::DoNotOptimize(grad_x.raw_data());
    benchmark::DoNotOptimize(grad_m.raw_data());
  }
  const double pixels = static_cast<double>(N * H * W), mc = static_cast<double>(M * C);
  fh::bench::set_flops(state, 3.0 * mc * pixels);  // grad_x: a product; grad_m: a dot product
  // Read m, x, grad_out; write grad_x, grad_m.
  fh::bench::set_bytes(state, kF32 * pixels * (2.0 * mc + static_cast<double>(C) + 2.0 * static_cast<double>(M)));
}

// Args: N, H, W, C, r with [N,H,W,C] the low-resolution side (C = the channels before the
// shuffle). Forward: pixel_shuffle of it; backward: pixel_unshuffle of the high-resolution
// gradient back to it.
void BM_pixel_shuffle_forward(benchmark::State& state) {
  const int64_t N = state.range(0), H = state.range(1), W = state.range(2), C = state.range(3), r = state.range(4);
  fh::Generator gen(1);
  const fh::Tensor x = fh::randn({N, H, W, C}, gen);
  for (auto _ : state) {
    fh::Tensor out = fh::kernels::pixel_shuffle(x, r);
    benchmark::DoNotOptimize(out.raw_data());
  }
  fh::bench::set_bytes(state, 2.0 * static_cast<double>(x.nbytes()));
}

void BM_pixel_shuffle_backward(benchmark::State& state) {
  const int64_t N = state.range(0), H = state.range(1), W = state.range(2), C = state.range(3), r = state.range(4);
  fh::Generator gen(1);
  const fh::Tensor grad_out = fh::randn({N, H * r, W * r, C / (r * r)}, gen);
  for (auto _ : state) {
    fh::Tensor grad_in = fh::kernels::pixel_unshuffle(grad_out, r);
    benchmark::DoNotOptimize(grad_in.raw_data());
  }
  fh::bench::set_bytes(state, 2.0 * static_cast<double>(grad_out.nbytes()));
}

BENCHMARK(BM_warp_forward)->Apply(twin::warps)->Apply(fh::bench::real_time_ms);
BENCHMARK(BM_warp_backward)->Apply(twin::warps)->Apply(fh::bench::real_time_ms);
BENCHMARK(BM_nshot_fusion_forward)->Apply(twin::fusions)->Apply(fh::bench::real_time_ms);
BENCHMARK(BM_nshot_fusion_backward)->Apply(twin::fusions)->Apply(fh::bench::real_time_ms);
BENCHMARK(BM_pixel_shuffle_forward)->Apply(twin::shuffles)->Apply(fh::bench::real_time_ms);
BENCHMARK(BM_pixel_shuffle_backward)->Apply(twin::shuffles)->Apply(fh::bench::real_time_ms);

}  // namespace
