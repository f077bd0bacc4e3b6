// The arguments of the benchmarks that run on both devices: the CPU benchmark BM_<name>
// (fh_bench) and its CUDA twin BM_cuda_<name> (fh_cuda_bench) apply the same function here,
// so that the two, and their PyTorch peers (peers_cuda.py runs the CPU peers on the GPU),
// do the same work. Each function only adds arguments, `paper` shapes at batch 1 and 8
// unless said otherwise; the time unit and the timing mode are set where the benchmarks are
// registered. The conv family's shapes are generator_conv_shapes.h.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "kernels/pointwise.h"

namespace fh::bench::twin {

using Benchmark = benchmark::internal::Benchmark;

// ---- Elementwise, pointwise and norm: the generator's activation maps ----------------------

// 32×256², 128×128², 512×64². Args: N, H, W, C.
inline void activation_maps(Benchmark* b) {
  for (int64_t n : {1, 8}) b->Args({n, 256, 256, 32})->Args({n, 128, 128, 128})->Args({n, 64, 64, 512});
}

// The same with a leading op selector 0 .. kOps - 1. Args: op, N, H, W, C.
template <int kOps>
void op_activation_maps(Benchmark* b) {
  for (int64_t op = 0; op < kOps; ++op)
    for (int64_t n : {1, 8}) b->Args({op, n, 256, 256, 32})->Args({op, n, 128, 128, 128})->Args({op, n, 64, 64, 512});
}




// ---- Dense ops --------------------------------------------------------------------------------

// Square sizes, the im2col GEMM of a 3x3x128 -> 128 conv on a 64² map, a batch of small
// products. Args: M, N, K, batch.
inline void matmuls(Benchmark* b) {
  b->Args({256, 256, 256, 1})->Args({512, 512, 512, 1})->Args({1024, 1024, 1024, 1})->Args({4096, 128, 1152, 1});
  b->Args({64, 64, 64, 64});
}

// E_can's heads on the 512-d pooled feature (66 angle bins; 204 key-point values) and
// E_gaze's head (512·2² -> 3·482 vertices). Args: rows, in, out.
inline void linear_heads(Benchmark* b) {
  for (int64_t rows : {1, 8}) b->Args({rows, 512, 66})->Args({rows, 512, 204})->Args({rows, 2048, 1446});
}

// Rotations R [B, 3, 3] of key-points [B, 3, 68], B up to 64; and a 3x3 · 3x3 chain.
// Args: batch, M, K, N.
inline void small_matmuls(Benchmark* b) {
  for (int64_t batch : {1, 8, 64}) b->Args({batch, 3, 3, 68});
  b->Args({64, 3, 3, 3});
}

// Key-points [B, 68, 3] to [B, 3, 68]; the gaze head's weight [1446, 2048]; a feature map's
// H and W. Args: a 4-d shape and the two dims swapped.
inline void transposes(Benchmark* b) {
  b->Args({1, 64, 68, 3, 1, 2})->Args({1, 1, 1446, 2048, 2, 3})->Args({8, 128, 128, 128, 1, 2});
}

}  // namespace fh::bench::twin
