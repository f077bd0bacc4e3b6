// FH_HOST_DEVICE marks small inline functions that both the CPU kernels and the CUDA kernels
// call, so that one definition serves both and they compute the same bits.
#pragma once

#if defined(__CUDACC__)
#define FH_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define FH_HOST_DEVICE inline
#endif
