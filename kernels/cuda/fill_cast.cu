// fill, cast and copy on the GPU, for every dtype.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstring>

#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/launch.cuh"

namespace fh::kernels::cuda {

namespace {

// ---- fill ------------------------------------------------------------------------------------

// Fills with a bit pattern: the value is converted to the dtype once, on the host, with the
// same conversion functions as the CPU backend, so both backends store identical bits.
template <class Bits>
__global__ void fill_kernel(Bits* out, int64_t n, Bits value) {
  for (int64_t i = grid_start<int64_t>(); i < n; i += grid_stride<int64_t>()) out[i] = value;
}

template <class Bits>
void fill_bits(Tensor& out, Bits value) {
  const int64_t n = out.numel();
  Bits* p = device_ptr<Bits>(out);
  const Bits zero{};
  if (std::memcmp(&value, &zero, sizeof(Bits)) == 0) {
    // All-zero bytes (zeros() and most fills): the copy engine's memset is the fastest way.
    FH_CUDA_CHECK(cudaMemsetAsync(p, 0, n * sizeof(Bits), current_stream()), "cuda::fill", "on ", out.describe());
    return;
  }
  fill_kernel<<<grid_for(n), kBlockSize, 0, current_stream()>>>(p, n, value);
  FH_CUDA_CHECK_LAUNCH("cuda::fill", out.describe());
}

// ---- cast ------------------------------------------------------------------------------------

// Every conversion goes through double, as on the CPU: exact for every float type, and for
// int64 up to 2^53. F16/BF16 round to nearest even from float, matching fh::float_to_half.
template <class T>
__device__ __forceinline__ double load_as_double(T v) {
  return static_cast<double>(v);
}
template <>
__device__ __forceinline__ double load_as_double<__half>(__half v) {
  return static_cast<double>(__half2float(v));
}
template <>
__device__ __forceinline__ double load_as_double<__nv_bfloat16>(__nv_bfloat16 v) {
  return static_cast<double>(__bfloat162float(v));
}

template <class T>
__device__ __forceinline__ T store_from_double(double v) {
  return static_cast<T>(v);
}
template <>
__device__ __forceinline__ __half store_from_double<__half>(double v) {
  return __float2half_rn(static_cast<float>(v));
}
template <>
__device__ __forceinline__ __nv_bfloat16 store_from_double<__nv_bfloat16>(double v) {
  return __float2bfloat16_rn(static_cast<float>(v));
}

template <class From, class To>
__global__ void cast_kernel(const From* __restrict__ in, To* __restrict__ out, int64_t n) {
  for (int64_t i = grid_start<int64_t>(); i < n; i += grid_stride<int64_t>())
    out[i] = store_from_double<To>(load_as_double<From>(in[i]));
}

template <class From, class To>
void cast_typed(const Tensor& in, Tensor& out) {
  const int64_t n = in.numel();
  cast_kernel<From, To><<<grid_for(n), kBlockSize, 0, current_stream()>>>(device_ptr<From>(in), device_ptr<To>(out), n);
  FH_CUDA_CHECK_LAUNCH("cuda::cast", in.describe(), " -> ", dtype_name(out.dtype()));
}

// Second half of the dispatch: `From` is fixed, pick the device element type of the target.
template <class From>
void cast_from(const Tensor& in, Tensor& out) {
  switch (out.dtype()) {
    case DType::F32: return cast_typed<From, float>(in, out);
    case DType::F64: return cast_typed<From, double>(in, out);
    case DType::F16: return cast_typed<From, __half>(in, out);
    case DType::BF16: return cast_typed<From, __nv_bfloat16>(in, out);
    case DType::I64: return cast_typed<From, int64_t>(in, out);
  }
  FH_FAIL("cuda::cast", "unknown target dtype for ", in.describe());
}

}  // namespace

void fill(Tensor& out, double value) {
  if (out.numel() == 0) return;
  fh::cuda::DeviceGuard guard(out.device().index);
  switch (out.dtype()) {
    case DType::F32: return fill_bits(out, static_cast<float>(value));
    case DType::F64: return fill_bits(out, value);
    case DType::I64: return fill_bits(out, static_cast<int64_t>(value));
    case DType::F16: return fill_bits(out, float_to_half(static_cast<float>(value)));
    case DType::BF16: return fill_bits(out, float_to_bfloat16(static_cast<float>(value)));
  }
  FH_FAIL("cuda::fill", "unknown dtype of ", out.describe());
}

void cast(const Tensor& in, Tensor& out) {
  if (in.dtype() == out.dtype()) return copy(in, out);
  if (in.numel() == 0) return;
  fh::cuda::DeviceGuard guard(in.device().index);
  switch (in.dtype()) {
    case DType::F32: return cast_from<float>(in, out);
    case DType::F64: return cast_from<double>(in, out);
    case DType::F16: return cast_from<__half>(in, out);
    case DType::BF16: return cast_from<__nv_bfloat16>(in, out);
    case DType::I64: return cast_from<int64_t>(in, out);
  }
  FH_FAIL("cuda::cast", "unknown source dtype of ", in.describe());
}

void copy(const Tensor& in, Tensor& out) {
  const size_t nbytes = in.nbytes();
  if (nbytes == 0) return;
  fh::cuda::DeviceGuard guard(in.device().index);
  // Asynchronous on the current stream: ordered with the kernels around it, like a kernel.
  FH_CUDA_CHECK(cudaMemcpyAsync(out.raw_data(), in.raw_data(), nbytes, cudaMemcpyDeviceToDevice, current_stream()),
                "cuda::copy", in.describe(), " (", nbytes, " bytes)");
}

}  // namespace fh::kernels::cuda
