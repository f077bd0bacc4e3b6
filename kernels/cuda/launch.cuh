// Helpers shared by the CUDA kernel files: launch geometry, the current stream, typed device
// pointers, and the index arithmetic that walks an ElementwiseLayout on the device.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <limits>

#include "kernels/layout.h"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda_runtime.h"
#include "runtime/tensor.h"

namespace fh::kernels::cuda {

// 256 threads is a good default on every architecture since Volta: enough warps per block to
// hide latency, small enough that several blocks share an SM.
constexpr int kBlockSize = 256;
// Grid-stride loops let a bounded grid cover any size; 8192 blocks of 256 threads keep even
// the largest GPUs busy, and a bounded grid never hits the grid-size limit.
constexpr int64_t kMaxGridBlocks = 8192;

inline unsigned grid_for(int64_t n) {
  return static_cast<unsigned>(std::clamp<int64_t>((n + kBlockSize - 1) / kBlockSize, 1, kMaxGridBlocks));
}

inline cudaStream_t current_stream() { return static_cast<cudaStream_t>(fh::cuda::current_stream()); }

// Device memory of a tensor as T (T may differ from the storage type, e.g. __half for F16).
template <class T>
T* device_ptr(Tensor& t) {
  return static_cast<T*>(t.raw_data());
}
template <class T>
const T* device_ptr(const Tensor& t) {
  return static_cast<const T*>(t.raw_data());
}

// Scratch device memory from the caching allocator, returned when the scope ends. Freeing
// right after enqueuing the kernels that use it is safe: the block is only handed out again
// to work on the same stream, which runs after them.
class ScratchBuffer {
 public:
  ScratchBuffer(size_t nbytes, int device) : ptr_(fh::cuda::allocate(nbytes, device)) {}
  ~ScratchBuffer() { fh::cuda::deallocate(ptr_); }
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
  template <class T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }

 private:
  void* ptr_;
};

// Index arithmetic in 32 bits where it fits: 64-bit division is emulated on GPUs and costs
// several times more than 32-bit. Every offset into a tensor is below its numel, so when the
// largest tensor involved has fewer than 2^31 elements, unsigned 32-bit cannot overflow (the
// grid stride adds at most 2^21 to an index below 2^31).
inline bool fits_32bit(int64_t numel) { return numel <= std::numeric_limits<int32_t>::max(); }

// Runs body(Index{}): Index = uint32_t when the largest tensor involved fits_32bit, else int64_t.
template <class Body>
void with_index(int64_t largest, Body&& body) {
  if (fits_32bit(largest)) {
    body(uint32_t{});
  } else {
    body(int64_t{});
  }
}

// Per-operand offsets of output element i of an elementwise walk (row-major over L.sizes).
// The outermost dim needs no modulo: what is left of i after the inner dims is its coordinate.
template <class Index, int kOperands>
__device__ __forceinline__ void element_offsets(const ElementwiseLayout& L, Index i, Index (&off)[kOperands]) {
#pragma unroll
  for (int k = 0; k < kOperands; ++k) off[k] = 0;
  for (int d = L.ndim - 1; d > 0; --d) {
    const Index size = static_cast<Index>(L.sizes[d]);
    const Index coord = i % size;
    i /= size;
#pragma unroll
    for (int k = 0; k < kOperands; ++k) off[k] += coord * static_cast<Index>(L.strides[k][d]);
  }
  if (L.ndim > 0) {
#pragma unroll
    for (int k = 0; k < kOperands; ++k) off[k] += i * static_cast<Index>(L.strides[k][0]);
  }
}

// Offset of flat index i over n row-major dims with the given strides (same trick as above).
template <class Index>
__device__ __forceinline__ Index strided_offset(Index i, int n, const int64_t* sizes, const int64_t* strides) {
  Index off = 0;
  for (int d = n - 1; d > 0; --d) {
    const Index size = static_cast<Index>(sizes[d]);
    off += (i % size) * static_cast<Index>(strides[d]);
    i /= size;
  }
  if (n > 0) off += i * static_cast<Index>(strides[0]);
  return off;
}

// First index and stride of a grid-stride loop, in the loop's index type.
template <class Index>
__device__ __forceinline__ Index grid_start() {
  return static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x;
}
template <class Index>
__device__ __forceinline__ Index grid_stride() {
  return static_cast<Index>(gridDim.x) * blockDim.x;
}

}  // namespace fh::kernels::cuda
