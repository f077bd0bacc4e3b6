#include "benchmarks/cuda_bench_kernels.h"

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda_runtime.h"

namespace fh::bench::cuda {

namespace {

cudaStream_t stream() { return static_cast<cudaStream_t>(fh::cuda::current_stream()); }

// Enough blocks for every SM of the largest GPUs several times over.
constexpr int kThreads = 256;
constexpr int kBlocks = 4096;

__global__ void copy_kernel(const uint4* __restrict__ src, uint4* __restrict__ dst, int64_t n) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    dst[i] = src[i];
}

__device__ float hash_value(int64_t i, uint32_t seed) {
  uint32_t h = static_cast<uint32_t>(i) * 0x9e3779b1u ^ static_cast<uint32_t>(i >> 32) ^ seed;
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return static_cast<float>(h) * (2.0f / 4294967296.0f) - 1.0f;
}

__global__ void fill_f32_kernel(float* dst, int64_t n, uint32_t seed) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    dst[i] = hash_value(i, seed);
}

__global__ void fill_bf16_kernel(__nv_bfloat16* dst, int64_t n, uint32_t seed) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    dst[i] = __float2bfloat16(hash_value(i, seed));
}

}  // namespace

void device_copy(void* dst, const void* src, size_t bytes) {
  copy_kernel<<<kBlocks, kThreads, 0, stream()>>>(static_cast<const uint4*>(src), static_cast<uint4*>(dst),
                                                  static_cast<int64_t>(bytes / 16));
  FH_CUDA_CHECK_LAUNCH("device_copy");
}

void fill_hash_f32(float* dst, int64_t n, uint32_t seed) {
  fill_f32_kernel<<<kBlocks, kThreads, 0, stream()>>>(dst, n, seed);
  FH_CUDA_CHECK_LAUNCH("fill_hash_f32");
}

void fill_hash_bf16(void* dst, int64_t n, uint32_t seed) {
  fill_bf16_kernel<<<kBlocks, kThreads, 0, stream()>>>(static_cast<__nv_bfloat16*>(dst), n, seed);
  FH_CUDA_CHECK_LAUNCH("fill_hash_bf16");
}

}  // namespace fh::bench::cuda
