// The warp family's CUDA kernels at the CPU benchmarks' shapes (bench_warp.cpp): each
// BM_cuda_<name> does the work of BM_<name> with the same arguments and counts the same
// minimum bytes. warp_backward includes the deterministic gather of grad_src (a per-pixel
// sort before it: kernels/cuda/warp.cu).
#include "benchmarks/cuda_bench_util.h"
#include "benchmarks/twin_shapes.h"
#include "kernels/warp.h"
#include "runtime/random.h"

namespace {

namespace fb = fh::bench::cuda;
namespace k = fh::kernels;
namespace twin = fh::bench::twin;

constexpr double kF32 = sizeof(float);

fh::Tensor randn_gpu(const fh::Shape& s, fh::Generator& gen) { return fh::randn(s, gen).to(fb::kGpu); }

// Flows of a few pixels (uniform in [-3, 3]), as bench_warp.cpp.
fh::Tensor motion_flow(int64_t N, int64_t H, int64_t W, fh::Generator& gen) {
  return fh::rand({N, H, W, 2}, gen, -3.0, 3.0).to(fb::kGpu);
}

// Args: N, H, W, C.
void BM_cuda_warp_forward(benchmark::State& state) {
  const int64_t N = state.range(0), H = state.range(1), W = state.range(2), C = state.range(3);
  fh::Generator gen(1);
  const fh::Tensor src = randn_gpu({N, H, W, C}, gen), flow = motion_flow(N, H, W, gen);
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::warp(src, flow).raw_data()); });
  fb::set_bytes(state, kF32 * (2.0 * static_cast<double>(N * H * W * C) + 2.0 * static_cast<double>(N * H * W)));
}

void BM_cuda_warp_backward(benchmark::State& state) {
  const int64_t N = state.range(0), H = state.range(1), W = state.range(2), C = state.range(3);
  fh::Generator gen(1);
  const fh::Tensor src = randn_gpu({N, H, W, C}, gen), flow = motion_flow(N, H, W, gen);
  const fh::Tensor grad_out = randn_gpu({N, H, W, C}, gen);
  fb::time_op(state, [&] {
    benchmark::DoNotOptimize(k::warp_backward_src(flow, grad_out).raw_data());
    benchmark::DoNotOptimize(k::warp_backward_flow(src, flow, grad_out).raw_data());
  });
  fb::set_bytes(state, kF32 * (3.0 * static_cast<double>(N * H * W * C) + 4.0 * static_cast<double>(N * H * W)));
}

// Args: N, M, H, W, C.
void BM_cuda_nshot_fusion_forward(benchmark::State& state) {
  const int64_t N = state.range(0), M = state.range(1), H = state.range(2), W = state.range(3), C = state.range(4);
  fh::Generator gen(1);
  const fh::Tensor m = randn_gpu({N, M, H, W, 1}, gen), x = randn_gpu({N, M, H, W, C}, gen);
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::nshot_fusion(m, x).raw_data()); });
  const double pixels = static_cast<double>(N * H * W), mc = static_cast<double>(M * C);
  fb::set_bytes(state, kF32 * pixels * (mc + static_cast<double>(M) + static_cast<double>(C)));
}

void BM_cuda_nshot_fusion_backward(benchmark::State& state) {
  const int64_t N = state.range(0), M = state.range(1), H = state.range(2), W = state.range(3), C = state.range(4);
  fh::Generator gen(1);
  const fh::Tensor m = randn_gpu({N, M, H, W, 1}, gen), x = randn_gpu({N, M, H, W, C}, gen);
  const fh::Tensor grad_out = randn_gpu({N, H, W, C}, gen);
  fb::time_op(state, [&] {
    benchmark::DoNotOptimize(k::nshot_fusion_backward_x(m, grad_out).raw_data());
    benchmark::DoNotOptimize(k::nshot_fusion_backward_m(m, x, grad_out).raw_data());
  });
  const double pixels = static_cast<double>(N * H * W), mc = static_cast<double>(M * C);
  fb::set_bytes(state, kF32 * pixels * (2.0 * mc + static_cast<double>(C) + 2.0 * static_cast<double>(M)));
}

// Args: N, H, W, C, r with [N, H, W, C] the low-resolution side.
void BM_cuda_pixel_shuffle_forward(benchmark::State& state) {
  const int64_t N = state.range(0), H = state.range(1), W = state.range(2), C = state.range(3), r = state.range(4);
  fh::Generator gen(1);
  const fh::Tensor x = randn_gpu({N, H, W, C}, gen);
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::pixel_shuffle(x, r).raw_data()); });
  fb::set_bytes(state, 2.0 * static_cast<double>(x.nbytes()));
}

void BM_cuda_pixel_shuffle_backward(benchmark::State& state) {
  const int64_t N = state.range(0), H = state.range(1), W = state.range(2), C = state.range(3), r = state.range(4);
  fh::Generator gen(1);
  const fh::Tensor grad_out = randn_gpu({N, H * r, W * r, C / (r * r)}, gen);
  fb::time_op(state, [&] { benchmark::DoNotOptimize(k::pixel_unshuffle(grad_out, r).raw_data()); });
  fb::set_bytes(state, 2.0 * static_cast<double>(grad_out.nbytes()));
}

BENCHMARK(BM_cuda_warp_forward)->Apply(twin::warps)->Apply(fb::manual_time_us);
BENCHMARK(BM_cuda_warp_backward)->Apply(twin::warps)->Apply(fb::manual_time_us);
BENCHMARK(BM_cuda_nshot_fusion_forward)->Apply(twin::fusions)->Apply(fb::manual_time_us);
BENCHMARK(BM_cuda_nshot_fusion_backward)->Apply(twin::fusions)->Apply(fb::manual_time_us);
BENCHMARK(BM_cuda_pixel_shuffle_forward)->Apply(twin::shuffles)->Apply(fb::manual_time_us);
BENCHMARK(BM_cuda_pixel_shuffle_backward)->Apply(twin::shuffles)->Apply(fb::manual_time_us);

}  // namespace
