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

namespace {

namespace fb = fh::bench::cuda;

// Device memory for the benchmark's lifetime.
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t bytes) : ptr_(fh::cuda::allocate(bytes, 0)) {}
  ~DeviceBuffer() { fh::cuda::deallocate(ptr_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  template <class T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }

 private:
  void* ptr_;
};

// Arg: MiB copied (each way). 1 GiB is far beyond any cache.
void BM_cuda_ceiling_copy(benchmark::State& state) {
  const size_t bytes = static_cast<size_t>(state.range(0)) << 20;
  DeviceBuffer src(bytes), dst(bytes);
  fb::fill_hash_f32(src.as<float>(), static_cast<int64_t>(bytes / 4), 1);
  fb::time_op(state, [&] { fb::device_copy(dst.as<void>(), src.as<void>(), bytes); });
  state.SetBytesProcessed(static_cast<int64_t>(2.0 * static_cast<double>(bytes) * static_cast<double>(state.iterations())));
  state.SetLabel("measures=copy;shape=" + std::to_string(state.range(0)) + " MiB read + written");
}

void check_cublas(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) FH_FAIL("bench_cuda_ceiling", what, " failed: ", cublasGetStatusString(s));
}

// Args: precision (0 float32, 1 TF32, 2 BF16), n of an n x n x n product.
void BM_cuda_ceiling_gemm(benchmark::State& state) {
  const int precision = static_cast<int>(state.range(0));
  const int n = static_cast<int>(state.range(1));
  const size_t count = static_cast<size_t>(n) * n;
  const size_t elem = precision == 2 ? 2 : 4;
  DeviceBuffer a(count * elem), b(count * elem), c(count * elem);
  if (precision == 2) {
    fb::fill_hash_bf16(a.as<void>(), static_cast<int64_t>(count), 1);
    fb::fill_hash_bf16(b.as<void>(), static_cast<int64_t>(count), 2);
  } else {
    fb::fill_hash_f32(a.as<float>(), static_cast<int64_t>(count), 1);
    fb::fill_hash_f32(b.as<float>(), static_cast<int64_t>(count), 2);
  }
  cublasHandle_t h = nullptr;
  check_cublas(cublasCreate(&h), "cublasCreate");
  check_cublas(cublasSetStream(h, static_cast<cudaStream_t>(fh::cuda::current_stream())), "cublasSetStream");
  const float one = 1.0f, zero = 0.0f;
  const auto gemm = [&] {
    switch (precision) {
      case 0:  // cuBLAS's default math mode never uses TF32 for sgemm
        check_cublas(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a.as<float>(), n, b.as<float>(), n, &zero,
                                 c.as<float>(), n),
                     "cublasSgemm");
        break;
      case 1:
        check_cublas(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a.as<void>(), CUDA_R_32F, n, b.as<void>(),
                                  CUDA_R_32F, n, &zero, c.as<void>(), CUDA_R_32F, n, CUBLAS_COMPUTE_32F_FAST_TF32,
                                  CUBLAS_GEMM_DEFAULT),
                     "cublasGemmEx (TF32)");
        break;
      default:
        check_cublas(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a.as<void>(), CUDA_R_16BF, n,
                                  b.as<void>(), CUDA_R_16BF, n, &zero, c.as<void>(), CUDA_R_16BF, n,
                                  CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                     "cublasGemmEx (BF16)");
    }
  };
  fb::time_op(state, gemm);
  cublasDestroy(h);
  static const char* const kNames[] = {"gemm_fp32", "gemm_tf32", "gemm_bf16"};
  state.counters["FLOP/s"] =
      benchmark::Counter(2.0 * n * static_cast<double>(n) * n, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string("measures=") + kNames[precision] + ";shape=" + std::to_string(n) + "^3");
}

BENCHMARK(BM_cuda_ceiling_copy)->Arg(1024)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_cuda_ceiling_gemm)
    ->Args({0, 8192})
    ->Args({1, 8192})
    ->Args({2, 8192})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
