// freehead's own convolution kernels (implicit GEMM, conv_igemm.h), behind the CUDA conv
// backend (conv.cu). Each runner picks the tile for the GEMM's shape and launches on the
// current stream; the instantiations live in conv_simt.cu and conv_tc.cu so that they
// compile in parallel.
#pragma once

#include "kernels/cuda/conv_igemm.h"

namespace fh::kernels::cuda::igemm {

// CUDA cores: float32 (tile from the shape) or float64 (SimtF64 whatever `tile` says).
template <class P>
void run_cuda_cores(const P& prob, const LaunchShape& shape, Tile tile, const char* op);
// Tensor cores, float32 tensors with TF32 products.
template <class P>
void run_tensor_cores(const P& prob, const LaunchShape& shape, Tile tile, const char* op);

#define FH_IGEMM_PROBLEMS(X, T) \
  X(ForwardProblem<T>)          \
  X(BackwardInputProblem<T>)    \
  X(BackwardWeightProblem<T>)

#define FH_IGEMM_DECLARE_CUDA_CORES(P) \
  extern template void run_cuda_cores<P>(const P&, const LaunchShape&, Tile, const char*);
#define FH_IGEMM_DECLARE_TENSOR_CORES(P) \
  extern template void run_tensor_cores<P>(const P&, const LaunchShape&, Tile, const char*);
FH_IGEMM_PROBLEMS(FH_IGEMM_DECLARE_CUDA_CORES, float)
FH_IGEMM_PROBLEMS(FH_IGEMM_DECLARE_CUDA_CORES, double)
FH_IGEMM_PROBLEMS(FH_IGEMM_DECLARE_TENSOR_CORES, float)
#undef FH_IGEMM_DECLARE_CUDA_CORES
#undef FH_IGEMM_DECLARE_TENSOR_CORES

}  // namespace fh::kernels::cuda::igemm
