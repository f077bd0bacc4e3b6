// conv2d forward, input gradient and weight gradient (float32, NHWC) at the generator's
// shapes, batch 1 and 8, and the Eigen GEMM that each convolution amounts to.
// Args: N, H (= W), Cin, Cout, kernel, stride, padding. torch_compare.py times PyTorch's
// NCHW convolution on the same shapes (peers_conv.py).
#include <algorithm>
#include <iterator>
#include <memory>

#include "benchmarks/bench_util.h"
#include "benchmarks/generator_conv_shapes.h"
#include "kernels/conv.h"
#include "kernels/cpu/conv_gemm.h"
#include "kernels/cpu/conv_winograd.h"
#include "runtime/random.h"

namespace {

using fh::Shape;
using fh::Tensor;

constexpr double kFloat = sizeof(float);

struct ConvCase {
  fh::kernels::Conv2dParams p;
  Shape x, w, out;
  double flops() const { return 2.0 * p.N * p.Ho * p.Wo * p.Cout * p.kh * p.kw * p.Cin; }
};

ConvCase conv_case(const benchmark::State& state) {
  const int64_t N = state.range(0), H = state.range(1), Cin = state.range(2), Cout = state.range(3), k = state.range(4),
                stride = state.range(5), pad = state.range(6);
  ConvCase c;
  c.x = Shape{N, H, H, Cin};
  c.w = Shape{Cout, k, k, Cin};
  c.p = fh::kernels::conv2d_params("bench", c.x, c.w, stride, pad);
  c.out = Shape{N, c.p.Ho, c.p.Wo, Cout};
  return c;
}

void BM_conv2d_forward(benchmark::State& state) {
  const ConvCase c = conv_case(state);
  fh::Generator gen(1);
  const Tensor x = fh::randn(c.x, gen), w = fh::randn(c.w, gen), b = fh::randn({c.p.Cout}, gen);
  for (auto _ : state) {
    Tensor out = fh::kernels::conv2d(x, w, b, c.p.stride, c.p.pad);
    benchmark::DoNotOptimize(out.raw_data());
  }
  fh::bench::set_flops(state, c.flops());
  fh::bench::set_bytes(state, kFloat * (c.x.numel() + c.w.numel() + c.p.Cout + c.out.numel()));
}

// The forward by one algorithm, whatever conv2d would pick: range(7) = 0 for the direct
// GEMM path, 2 or 4 for Winograd F(2x2, 3x3) or F(4x4, 3x3). FLOP/s count the direct
// product's multiply-adds, so the rates of the three compare as speeds. These runs are what
// winograd_tile's choices rest on.
void BM_conv2d_algorithm(benchmark::State& state) {
  const ConvCase c = conv_case(state);
  const int tile = static_cast<int>(state.range(7));
  fh::Generator gen(1);
  const Tensor x = fh::randn(c.x, gen), w = fh::randn(c.w, gen), b = fh::randn({c.p.Cout}, gen);
  Tensor out = Tensor::empty(c.out);
  for (auto _ : state) {
    if (tile == 0)
      fh::kernels::cpu::conv2d_direct(x, w, b, c.p, out);
    else
      fh::kernels::cpu::conv2d_winograd(x.data<float>(), w.data<float>(), b.data<float>(), c.p, tile,
                                        out.data<float>());
    benchmark::DoNotOptimize(out.raw_data());
  }
  fh::bench::set_flops(state, c.flops());
  fh::bench::set_bytes(state, kFloat * (c.x.numel() + c.w.numel() + c.p.Cout + c.out.numel()));
}

// The Winograd F(4x4) forward by each version: range(7) = 0 for the first (the whole
// weight transformed up front, one Eigen GEMM per position), 1 for the fused one conv2d runs
// (weight blocks transformed in the tasks, register-blocked products, kernels/cpu/conv_winograd.cpp).
void BM_conv2d_winograd_product(benchmark::State& state) {
  const ConvCase c = conv_case(state);
  const bool fused = state.range(7) == 1;
  fh::Generator gen(1);
  const Tensor x = fh::randn(c.x, gen), w = fh::randn(c.w, gen), b = fh::randn({c.p.Cout}, gen);
  Tensor out = Tensor::empty(c.out);
  for (auto _ : state) {
    (fused ? fh::kernels::cpu::conv2d_winograd : fh::kernels::cpu::conv2d_winograd_eigen)(
        x.data<float>(), w.data<float>(), b.data<float>(), c.p, 4, out.data<float>());
    benchmark::DoNotOptimize(out.raw_data());
  }
  fh::bench::set_flops(state, c.flops());
  fh::bench::set_bytes(state, kFloat * (c.x.numel() + c.w.numel() + c.p.Cout + c.out.numel()));
}

// The weight gradient by one algorithm (range(7) as in BM_conv2d_algorithm).
void BM_conv2d_weight_algorithm(benchmark::State& state) {
  const ConvCase c = conv_case(state);
  const int tile = static_cast<int>(state.range(7));
  fh::Generator gen(1);
  const Tensor grad_out = fh::randn(c.out, gen), x = fh::randn(c.x, gen);
  Tensor grad_w = Tensor::empty(c.w);
  for (auto _ : state) {
    if (tile == 0)
      fh::kernels::cpu::conv2d_backward_weight_direct(grad_out, x, c.p, grad_w);
    else
      fh::kernels::cpu::conv2d_backward_weight_winograd(grad_out.data<float>(), x.data<float>(), c.p, tile,
                                                        grad_w.data<float>());
    benchmark::DoNotOptimize(grad_w.raw_data());
  }
  fh::bench::set_flops(state, c.flops());
  fh::bench::set_bytes(state, kFloat * (c.out.numel() + c.x.numel() + c.w.numel()));
}

void BM_conv2d_backward_input(benchmark::State& state) {
  const ConvCase c = conv_case(state);
  fh::Generator gen(1);
  const Tensor grad_out = fh::randn(c.out, gen), w = fh::randn(c.w, gen);
  for (auto _ : state) {
    Tensor grad_in = fh::kernels::conv2d_backward_input(grad_out, w, c.x, c.p.stride, c.p.pad);
    benchmark::DoNotOptimize(grad_in.raw_data());
  }
  fh::bench::set_flops(state, c.flops());
  fh::bench::set_bytes(state, kFloat * (c.out.numel() + c.w.numel() + c.x.numel()));
}

// The weight and bias gradients (what a layer with a bias needs besides grad_in).
void BM_conv2d_backward_weight(benchmark::State& state) {
  const ConvCase c = conv_case(state);
  fh::Generator gen(1);
  const Tensor grad_out = fh::randn(c.out, gen), x = fh::randn(c.x, gen);
  for (auto _ : state) {
    Tensor grad_w = fh::kernels::conv2d_backward_weight(grad_out, x, c.w, c.p.stride, c.p.pad);
    Tensor grad_b = fh::kernels::conv2d_backward_bias(grad_out);
    benchmark::DoNotOptimize(grad_w.raw_data());
    benchmark::DoNotOptimize(grad_b.raw_data());
  }
  fh::bench::set_flops(state, c.flops() + static_cast<double>(c.out.numel()));
  fh::bench::set_bytes(state, kFloat * (c.out.numel() + c.x.numel() + c.w.numel() + c.p.Cout));
}

// The GEMM a convolution forward amounts to, out [M, Cout] = columns [M, K] · weightᵀ with
// M = N·Ho·Wo and K = kh·kw·Cin, done by Eigen in exactly the conv's tiles and tasks over
// the same threads, but on a column tile that is already there (per-thread, reused) instead
// of gathered: conv2d_forward's time over this one is the cost of the gather. (With at
// most 8 outputs the convolution skips the GEMM; this stays the GEMM it would have been.)
void BM_conv_gemm_reference(benchmark::State& state) {
  namespace conv = fh::kernels::cpu::conv;
  const ConvCase c = conv_case(state);
  const int64_t M = c.p.N * c.p.Ho * c.p.Wo, K = c.p.kh * c.p.kw * c.p.Cin, Cout = c.p.Cout;
  const conv::TilePlan plan = conv::plan_tiles(M, K, Cout);
  fh::Generator gen(1);
  const Tensor w = fh::randn({Cout, K}, gen), b = fh::randn({Cout}, gen);
  const Tensor tile = fh::randn({plan.rows, K}, gen);
  Tensor out = Tensor::empty({M, Cout});
  const float* wp = w.data<float>();
  const float* bp = b.data<float>();
  const float* tp = tile.data<float>();
  float* op = out.data<float>();
  // Each thread's own copy of the column tile, as the convolution gathers into its own scratch.
  const auto make_scratch = [&] {
    std::unique_ptr<float[]> col(new float[plan.rows * K]);
    std::copy(tp, tp + plan.rows * K, col.get());
    return col;
  };
  for (auto _ : state) {
    conv::for_each_task(plan.tiles * plan.out_blocks, make_scratch, [&](std::unique_ptr<float[]>& col, int64_t task) {
      const int64_t tile = task / plan.out_blocks, block = task % plan.out_blocks;
      const int64_t r0 = tile * plan.rows, rows = std::min(plan.rows, M - r0);
      const int64_t c0 = Cout * block / plan.out_blocks, c1 = Cout * (block + 1) / plan.out_blocks;
      conv::tile_product(col.get(), K, rows, K, wp, c0, c1, bp, op + r0 * Cout, Cout);
    });
    benchmark::DoNotOptimize(op);
  }
  fh::bench::set_flops(state, c.flops());
  fh::bench::set_bytes(state, kFloat * (static_cast<double>(M) * K + w.numel() + Cout + out.numel()));
}

// The generator's convolutions (docs/adding-an-op.md), batch 1 and 8.
void generator_shapes(benchmark::internal::Benchmark* b) {
  for (int64_t n : {1, 8})
    for (const auto& s : fh::bench::kGeneratorConvShapes) b->Args({n, s[0], s[1], s[2], s[3], s[4], s[5]});
}

// The 3x3 stride-1 layers E_gaze and E_can run under 16 pixels in training, {side, channels}
// (in = out): E_gaze's four stages at `small` (64² eye crops) and at `tiny` (32²), E_can's
// bottleneck convolutions at `tiny` and `small`, and 2² × 128 between the 2² layers. Their
// training batches hold 32 images (32 eye crops; 16 pairs), so the weight transform is shared
// by many more tiles than at inference's batch of 1 or 2.
inline constexpr int64_t kTrainingConvShapes[][2] = {
    {16, 32}, {8, 64}, {4, 128}, {2, 256},  // E_gaze `small`
    {8, 16},  {4, 32}, {2, 64},  {1, 128},  // E_gaze `tiny`
    {4, 16},  {2, 32}, {8, 32},  {4, 64},   // E_can `tiny`, then `small`
    {2, 128},
};

// The generator's 3x3 stride-1 convolutions by each algorithm, batch 1; the small-image
// layers at batch 1 and 2 (inference); the training layers above at batch 32, and E_gaze
// `small`'s also at 8, where the tile count (batch × tiles per image) sets the choice.
void algorithm_shapes(benchmark::internal::Benchmark* b) {
  for (const auto& s : fh::bench::kGeneratorConvShapes)
    if (s[3] == 3 && s[4] == 1)
      for (int64_t tile : {0, 2, 4}) b->Args({1, s[0], s[1], s[2], s[3], s[4], s[5], tile});
  for (int64_t n : {1, 2})
    for (const auto& s : fh::bench::kSmallImageConvShapes)
      for (int64_t tile : {0, 2, 4}) b->Args({n, s[0], s[1], s[2], s[3], s[4], s[5], tile});
  for (size_t i = 0; i < std::size(kTrainingConvShapes); ++i)
    for (int64_t n : {8, 32})
      if (n == 32 || i < 4)
        for (int64_t tile : {0, 2, 4})
          b->Args({n, kTrainingConvShapes[i][0], kTrainingConvShapes[i][1], kTrainingConvShapes[i][1], 3, 1, 1, tile});
}

BENCHMARK(BM_conv2d_forward)->Apply(generator_shapes)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_conv2d_algorithm)->Apply(algorithm_shapes)->Unit(benchmark::kMillisecond)->UseRealTime();
// Both Winograd versions on the layers F(4x4) computes: the generator's at batch 1 and 8, the
// small-image ones at batch 1 and 2.
void winograd_product_shapes(benchmark::internal::Benchmark* b) {
  for (int64_t n : {1, 8})
    for (const auto& s : fh::bench::kGeneratorConvShapes)
      if (s[3] == 3 && s[4] == 1 && s[1] >= 16)
        for (int64_t version : {0, 1}) b->Args({n, s[0], s[1], s[2], s[3], s[4], s[5], version});
  for (int64_t n : {1, 2})
    for (const auto& s : fh::bench::kSmallImageConvShapes)
      if (s[0] >= 16)
        for (int64_t version : {0, 1}) b->Args({n, s[0], s[1], s[2], s[3], s[4], s[5], version});
}

// E_can's layers as its training step runs them (16 pairs: a batch of 32 images), `tiny` and
// then `small`: {N, H, Cin, Cout, k, stride, pad}. Most have 4-16 channels, where the weight
// gradient's choice between the register product and Eigen was made
// (kernels/cpu/conv_weight_grad.cpp).
void keypoint_shapes(benchmark::internal::Benchmark* b) {
  const int64_t shapes[][7] = {
      {32, 64, 3, 8, 7, 2, 3},   {32, 32, 8, 4, 1, 1, 0}, {32, 32, 4, 4, 3, 2, 1},  {32, 16, 16, 4, 1, 1, 0},
      {32, 16, 4, 4, 3, 1, 1},   {32, 16, 4, 16, 1, 1, 0}, {32, 16, 16, 8, 1, 1, 0}, {32, 16, 8, 8, 3, 2, 1},
      {32, 8, 8, 8, 3, 1, 1},    {32, 8, 8, 32, 1, 1, 0},  {32, 128, 3, 16, 7, 2, 3}, {32, 64, 16, 8, 1, 1, 0},
      {32, 64, 8, 8, 3, 2, 1},   {32, 32, 8, 32, 1, 1, 0}, {32, 32, 16, 16, 3, 2, 1}, {32, 16, 16, 16, 3, 1, 1},
  };
  for (const auto& s : shapes) b->Args({s[0], s[1], s[2], s[3], s[4], s[5], s[6]});
}

BENCHMARK(BM_conv2d_winograd_product)->Apply(winograd_product_shapes)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_conv2d_weight_algorithm)->Apply(algorithm_shapes)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_conv_gemm_reference)->Apply(generator_shapes)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_conv2d_backward_input)->Apply(generator_shapes)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_conv2d_backward_weight)->Apply(generator_shapes)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_conv2d_backward_weight)->Apply(keypoint_shapes)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_conv2d_forward)->Apply(keypoint_shapes)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_conv2d_backward_input)->Apply(keypoint_shapes)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
