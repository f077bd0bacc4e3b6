// Internal to kernels/*.cpp: the dispatch macros and operand checks shared by every op
// family's device-agnostic entry points.
#pragma once

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/layout.h"
#include "runtime/tensor.h"
#if FH_WITH_CUDA
#include "kernels/cuda/cuda_kernels.h"
#endif

namespace fh::kernels::detail {

[[noreturn]] void no_cuda_build(const char* op);

// float32 or float64.
void check_float(const char* op, const Tensor& t);
// Same device and dtype.
void check_same(const char* op, const Tensor& a, const Tensor& b);

}  // namespace fh::kernels::detail

// FH_BACKEND(device, fn, args...): calls cpu::fn or cuda::fn for the operands' device.
#if FH_WITH_CUDA
#define FH_BACKEND(device, fn, ...) ((device).is_cpu() ? cpu::fn(__VA_ARGS__) : cuda::fn(__VA_ARGS__))
#else
#define FH_BACKEND(device, fn, ...) ((device).is_cpu() ? cpu::fn(__VA_ARGS__) : ::fh::kernels::detail::no_cuda_build(#fn))
#endif
