// Version 1 of freehead's convolution: implicit GEMM on CUDA cores, float32 and float64.
// It exists as the exact-arithmetic path (float32 products and sums, like the CPU
// reference) and as the baseline the tensor-core version is measured against.
#include <type_traits>

#include "kernels/cuda/conv_igemm_launch.cuh"
#include "kernels/cuda/conv_own.h"

namespace fh::kernels::cuda::igemm {

template <class P>
void run_cuda_cores(const P& prob, const LaunchShape& shape, Tile tile, const char* op) {
  if constexpr (std::is_same_v<typename P::value_type, double>) {
    launch_igemm<SimtF64>(prob, shape, op);
  } else {
    with_tile<false>(tile, [&](auto cfg) { launch_igemm<decltype(cfg)>(prob, shape, op); });
  }
}

#define FH_IGEMM_INSTANTIATE(P) template void run_cuda_cores<P>(const P&, const LaunchShape&, Tile, const char*);
FH_IGEMM_PROBLEMS(FH_IGEMM_INSTANTIATE, float)
FH_IGEMM_PROBLEMS(FH_IGEMM_INSTANTIATE, double)
#undef FH_IGEMM_INSTANTIATE

}  // namespace fh::kernels::cuda::igemm
