// The core family's CPU/GPU tolerances, shared by its table rows (tests/ops/core_cases.cpp)
// and its own CUDA tests (tests/cuda/test_cuda_ops.cpp): elementwise results differ by a few
// ulps at most (exp/log are not correctly rounded on either side); sums by one final
// rounding (both sides sum in double); matmuls by their summation order over K.
#pragma once

#include "tests/harness/tolerance.h"

namespace fh::test::ops {

inline constexpr Tolerance kElementwiseF32{1e-6, 1e-6}, kElementwiseF64{1e-14, 1e-14};
inline constexpr Tolerance kSumF32{1e-6, 1e-6}, kSumF64{1e-12, 1e-12};
inline constexpr Tolerance kMatmulF32{1e-4, 1e-4}, kMatmulF64{1e-11, 1e-11};

}  // namespace fh::test::ops
