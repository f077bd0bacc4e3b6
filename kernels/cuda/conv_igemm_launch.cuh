// The implicit-GEMM convolution kernels (conv_igemm.h) as CUDA kernels: the device context
// the block functions run with, the kernel, and its launch for a chosen tile.
#pragma once

#include <climits>
#include <cstdint>

#include "kernels/cuda/conv_igemm.h"
#include "kernels/cuda/launch.cuh"

namespace fh::kernels::cuda::igemm {

// What the block functions need from CUDA: indices, the block barrier and the TF32 mma.
struct DeviceCtx {
  __device__ int thread() const { return static_cast<int>(threadIdx.x); }
  __device__ int64_t block_x() const { return static_cast<int64_t>(blockIdx.x); }
  __device__ int block_y() const { return static_cast<int>(blockIdx.y); }
  __device__ int block_z() const { return static_cast<int>(blockIdx.z); }
  __device__ void sync() const { __syncthreads(); }
  // d += a · b for one m16n8k8 tile, TF32 inputs, float32 accumulators (sm_80 and later).
  __device__ void mma_tf32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) const {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile(
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
    __trap();  // the host refuses tensor-core launches below compute capability 8.0
#endif
  }
};

// One kernel template for every problem, tile and arithmetic, so that what runs on the GPU is
// exactly the block code the CPU emulation checks. One block per BM x BN output tile
// (x: rows, y: columns, z: stride phase or reduction slice).
template <class Cfg, class P>
__global__ void __launch_bounds__(Cfg::kThreads, Cfg::kMinBlocks) igemm_kernel(P prob) {
  using T = typename P::value_type;
  __shared__ __align__(16) T smem[2 * Cfg::kStageElems];
  __shared__ typename P::template Tables<Cfg> tables;
  DeviceCtx ctx;
  if constexpr (Cfg::kTensorCores) {
    mma_block<Cfg>(ctx, prob, smem, tables);
  } else {
    simt_block<Cfg>(ctx, prob, smem, tables);
  }
}

template <class Cfg, class P>
void launch_igemm(const P& prob, const LaunchShape& shape, const char* op) {
  const int64_t gx = (shape.rows + Cfg::BM - 1) / Cfg::BM, gy = (shape.cols + Cfg::BN - 1) / Cfg::BN;
  FH_CHECK(gx >= 1 && gx <= INT_MAX && gy >= 1 && gy <= 65535 && shape.z >= 1 && shape.z <= 65535, op, "grid ", gx,
           " x ", gy, " x ", shape.z, " for a ", shape.rows, " x ", shape.cols, " GEMM exceeds CUDA's grid limits");
  const dim3 grid(static_cast<unsigned>(gx), static_cast<unsigned>(gy), static_cast<unsigned>(shape.z));
  igemm_kernel<Cfg, P><<<grid, Cfg::kThreads, 0, current_stream()>>>(prob);
  FH_CUDA_CHECK_LAUNCH(op, "implicit GEMM ", Cfg::BM, "x", Cfg::BN, (Cfg::kTensorCores ? " (TF32 mma)" : ""), " on a ",
                       shape.rows, " x ", shape.cols, " x ", shape.z, " grid");
}

}  // namespace fh::kernels::cuda::igemm
