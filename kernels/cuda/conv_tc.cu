// Version 2 of freehead's convolution: the same implicit GEMMs with the products on tensor
// cores (mma.sync m16n8k8, TF32 inputs rounded to nearest, float32 accumulation). It exists
// because float32 tensor cores run many times faster than CUDA cores at about 3 decimal
// digits per input, the precision PyTorch and cuDNN use for float32 convolutions when TF32
// is allowed. TF32 keeps float32's exponent range, so no loss scaling is involved.
#include "kernels/cuda/conv_igemm_launch.cuh"
#include "kernels/cuda/conv_own.h"

namespace fh::kernels::cuda::igemm {

template <class P>
void run_tensor_cores(const P& prob, const LaunchShape& shape, Tile tile, const char* op) {
  with_tile<true>(tile, [&](auto cfg) { launch_igemm<decltype(cfg)>(prob, shape, op); });
}

#define FH_IGEMM_INSTANTIATE(P) template void run_tensor_cores<P>(const P&, const LaunchShape&, Tile, const char*);
FH_IGEMM_PROBLEMS(FH_IGEMM_INSTANTIATE, float)
#undef FH_IGEMM_INSTANTIATE

}  // namespace fh::kernels::cuda::igemm
