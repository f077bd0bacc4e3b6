// Device helpers shared by the CUDA kernels of the pointwise, norm, pool and warp families:
// float/double dispatch, 16-byte vector loads and stores, fixed-order (deterministic) sums
// across a warp or a block, and the float/double overloads of the math functions.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "kernels/cuda/launch.cuh"
#include "runtime/error.h"
#include "runtime/tensor.h"

namespace fh::kernels::cuda {

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Runs body(T{}) with T = double for F64 tensors, float otherwise (callers validated F32/F64).
template <class Body>
void dispatch_float(const Tensor& t, Body&& body) {
  if (t.dtype() == DType::F64) {
    body(double{});
  } else {
    body(float{});
  }
}

template <class T>
T* data_or_null(Tensor& t) {
  return t.defined() ? device_ptr<T>(t) : nullptr;
}
template <class T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? device_ptr<T>(t) : nullptr;
}

// True when p is aligned for 16-byte vector accesses (every tensor starts a cudaMalloc
// block, but the check keeps the vector paths safe for any pointer).
inline bool aligned16(const void* p) { return p == nullptr || reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// ---- 16-byte vectors -------------------------------------------------------------------------

// kVec elements of T fill one 16-byte load (4 floats or 2 doubles): one memory instruction
// instead of several, which is what lets a memory-bound kernel approach the bandwidth.
template <class T>
inline constexpr int kVec = 16 / static_cast<int>(sizeof(T));

template <class T>
struct alignas(16) Pack {
  T v[kVec<T>];
};

// Loads W elements from p (W = 1 or kVec<T>; p aligned for the vector case).
template <int W, class T>
__device__ __forceinline__ void load(const T* p, T (&r)[W]) {
  if constexpr (W == 1) {
    r[0] = p[0];
  } else {
    static_assert(W == kVec<T>, "vector loads are 16 bytes");
    const Pack<T> pk = *reinterpret_cast<const Pack<T>*>(p);
#pragma unroll
    for (int k = 0; k < W; ++k) r[k] = pk.v[k];
  }
}

template <int W, class T>
__device__ __forceinline__ void store(T* p, const T (&r)[W]) {
  if constexpr (W == 1) {
    p[0] = r[0];
  } else {
    static_assert(W == kVec<T>, "vector stores are 16 bytes");
    Pack<T> pk;
#pragma unroll
    for (int k = 0; k < W; ++k) pk.v[k] = r[k];
    *reinterpret_cast<Pack<T>*>(p) = pk;
  }
}

// Launch variants of a walk over `elements` elements: launch(Index{}, std::integral_constant<int,
// W>{}, grid) with W = kVec<T> when `vec` (the caller has checked that the vectors are whole
// and aligned), else W = 1; a grid for elements / W items; Index as with_index(largest).
template <class T, class Launch>
void with_vectors(int64_t elements, bool vec, int64_t largest, Launch&& launch) {
  constexpr int V = kVec<T>;
  const unsigned grid = grid_for(vec ? elements / V : elements);
  with_index(largest, [&](auto index) {
    if (vec) {
      launch(index, std::integral_constant<int, V>{}, grid);
    } else {
      launch(index, std::integral_constant<int, 1>{}, grid);
    }
  });
}

// Grid-stride walk over [0, n): body(std::integral_constant<int, W>, i) handles elements
// i .. i + W - 1, with W = kVec<T> over the whole vectors when `vec` (every pointer the
// body touches aligned), then W = 1 for the tail (or everything when !vec).
template <class T, class Body>
__device__ __forceinline__ void vector_walk(int64_t n, bool vec, Body&& body) {
  constexpr int V = kVec<T>;
  int64_t tail = 0;
  if (vec) {
    const int64_t whole = n / V;
    for (int64_t k = grid_start<int64_t>(); k < whole; k += grid_stride<int64_t>())
      body(std::integral_constant<int, V>{}, k * V);
    tail = whole * V;
  }
  for (int64_t i = tail + grid_start<int64_t>(); i < n; i += grid_stride<int64_t>())
    body(std::integral_constant<int, 1>{}, i);
}

// ---- Deterministic sums ------------------------------------------------------------------------
// Float atomics would make a sum depend on timing; these trees add in an order fixed by the
// lane or thread index alone, so the bits are the same on every run.

// Sum of v over `width` consecutive lanes (a power of two <= 32, groups aligned to width);
// the result is meaningful in the group's first lane. All lanes of the warp must call it.
template <class T>
__device__ __forceinline__ T group_sum(T v, int width) {
  for (int offset = width / 2; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset, width);
  return v;
}

// Sum of v over the block (blockDim.x a multiple of 32, at most 1024), meaningful in thread 0.
// `shared` holds at least 32 values. All threads must call it; it synchronises.
template <class T>
__device__ __forceinline__ T block_sum(T v, T* shared) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  v = group_sum(v, 32);
  __syncthreads();  // `shared` may still be read by a previous call
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < warps ? shared[lane] : T(0);
    v = group_sum(v, 32);
  }
  return v;
}

// ---- Math overloads --------------------------------------------------------------------------
// Spelled out per type so that a float kernel never calls the double function by accident.

__device__ __forceinline__ float dev_exp(float x) { return expf(x); }
__device__ __forceinline__ double dev_exp(double x) { return exp(x); }
__device__ __forceinline__ float dev_tanh(float x) { return tanhf(x); }
__device__ __forceinline__ double dev_tanh(double x) { return tanh(x); }
__device__ __forceinline__ float dev_sqrt(float x) { return sqrtf(x); }
__device__ __forceinline__ double dev_sqrt(double x) { return sqrt(x); }
__device__ __forceinline__ float dev_sin(float x) { return sinf(x); }
__device__ __forceinline__ double dev_sin(double x) { return sin(x); }
__device__ __forceinline__ float dev_cos(float x) { return cosf(x); }
__device__ __forceinline__ double dev_cos(double x) { return cos(x); }
__device__ __forceinline__ float dev_acos(float x) { return acosf(x); }
__device__ __forceinline__ double dev_acos(double x) { return acos(x); }

}  // namespace fh::kernels::cuda
