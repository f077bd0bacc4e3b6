// Small CUDA kernels of the benchmarks themselves: the copy ceiling and input fills (cuda_bench_kernels.cu).
#pragma once

#include <cstddef>
#include <cstdint>

namespace fh::bench::cuda {

// dst = src, `bytes` a multiple of 16, both 16-byte aligned: a grid-stride loop of 16-byte
// loads and stores, the simplest kernel that reaches the device's copy bandwidth.
void device_copy(void* dst, const void* src, size_t bytes);
// Fills n float32 or bfloat16 values with a hash of their index in [-1, 1) (random-looking
// data: tensor cores draw less power, and may run faster, on zeros).
void fill_hash_f32(float* dst, int64_t n, uint32_t seed);
void fill_hash_bf16(void* dst, int64_t n, uint32_t seed);

}  // namespace fh::bench::cuda
