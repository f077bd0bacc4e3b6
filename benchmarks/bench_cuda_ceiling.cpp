// The GPU's ceilings, measured in the same run as the kernels they bound: device-to-device
// copy bandwidth by a copy kernel (not cudaMemcpy), and large cuBLAS GEMM rates in float32,
// TF32 and BF16. benchmarks/gpu_table.py divides each kernel's rate by the matching one.
// Labels: "measures=<ceiling name>" (cuda_bench_util.h names them).
#include <cublas_v2.h>

#include <string>

#include "benchmarks/cuda_bench_kernels.h"
#include "benchmarks/cuda_bench_util.h"
#include "runtime/cuda_runtime.h"
#include "runtime/error.h"
#include "runtime/tensor.h"

namespace {

using fh::DType;
using fh::Tensor;
namespace fb = fh::bench::cuda;

// Arg: MiB copied (each way). 1 GiB is far beyond any cache.
void BM_cuda_ceiling_copy(benchmark::State& state) {
  const size_t bytes = static_cast<size_t>(state.range(0)) << 20;
  const int64_t floats = static_cast<int64_t>(bytes / 4);
  const Tensor src = fb::device_values({floats}, 1);
  Tensor dst = Tensor::empty({floats}, DType::F32, fb::kGpu);
  fb::time_op(state, [&] { fb::device_copy(dst.raw_data(), src.raw_data(), bytes); });
  state.SetBytesProcessed(static_cast<int64_t>(2.0 * static_cast<double>(bytes) * static_cast<double>(state.iterations())));
  state.SetLabel(std::string("measures=") + fb::ceiling_name(fb::Ceiling::Copy) + ";shape=" +
                std::to_string(state.range(0)) + " MiB read + written");
}

void check_cublas(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) FH_FAIL("bench_cuda_ceiling", what, " failed: ", cublasGetStatusString(s));
}

// Args: precision (0 float32, 1 TF32, 2 BF16), n of an n x n x n product.
void BM_cuda_ceiling_gemm(benchmark::State& state) {
  const int precision = static_cast<int>(state.range(0));
  const int n = static_cast<int>(state.range(1));
  const DType dtype = precision == 2 ? DType::BF16 : DType::F32;
  Tensor ta = Tensor::empty({n, n}, dtype, fb::kGpu), tb = Tensor::empty({n, n}, dtype, fb::kGpu);
  Tensor tc = Tensor::empty({n, n}, dtype, fb::kGpu);
  void *a = ta.raw_data(), *b = tb.raw_data(), *c = tc.raw_data();
  if (precision == 2) {
    fb::fill_hash_bf16(a, ta.numel(), 1);
    fb::fill_hash_bf16(b, tb.numel(), 2);
  } else {
    fb::fill_hash_f32(static_cast<float*>(a), ta.numel(), 1);
    fb::fill_hash_f32(static_cast<float*>(b), tb.numel(), 2);
  }
  cublasHandle_t h = nullptr;
  check_cublas(cublasCreate(&h), "cublasCreate");
  check_cublas(cublasSetStream(h, static_cast<cudaStream_t>(fh::cuda::current_stream())), "cublasSetStream");
  const float one = 1.0f, zero = 0.0f;
  const auto gemm = [&] {
    switch (precision) {
      case 0:  // cuBLAS's default math mode never uses TF32 for sgemm
        check_cublas(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, static_cast<const float*>(a), n,
                                 static_cast<const float*>(b), n, &zero, static_cast<float*>(c), n),
                     "cublasSgemm");
        break;
      case 1:
        check_cublas(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a, CUDA_R_32F, n, b, CUDA_R_32F, n, &zero,
                                  c, CUDA_R_32F, n, CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_GEMM_DEFAULT),
                     "cublasGemmEx (TF32)");
        break;
      default:
        check_cublas(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a, CUDA_R_16BF, n, b, CUDA_R_16BF, n,
                                  &zero, c, CUDA_R_16BF, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                     "cublasGemmEx (BF16)");
    }
  };
  fb::time_op(state, gemm);
  cublasDestroy(h);
  constexpr fb::Ceiling kMeasures[] = {fb::Ceiling::GemmF32, fb::Ceiling::GemmTF32, fb::Ceiling::GemmBF16};
  state.counters["FLOP/s"] =
      benchmark::Counter(2.0 * n * static_cast<double>(n) * n, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string("measures=") + fb::ceiling_name(kMeasures[precision]) + ";shape=" + std::to_string(n) +
                 "^3");
}

BENCHMARK(BM_cuda_ceiling_copy)->Arg(1024)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_cuda_ceiling_gemm)
    ->Args({0, 8192})
    ->Args({1, 8192})
    ->Args({2, 8192})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
