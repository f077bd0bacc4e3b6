#include "benchmarks/cuda_bench_util.h"

#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "benchmarks/cuda_bench_kernels.h"
#include "benchmarks/op_table_bench.h"
#include "runtime/cuda_runtime.h"
#include "runtime/error.h"

namespace fh::bench::cuda {

namespace {

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) FH_FAIL("fh_cuda_bench", what, " failed: ", cudaGetErrorString(status));
}

cudaStream_t stream() { return static_cast<cudaStream_t>(fh::cuda::current_stream()); }

}  // namespace

const char* ceiling_name(Ceiling c) {
  switch (c) {
    case Ceiling::Copy: return "copy";
    case Ceiling::GemmF32: return "gemm_fp32";
    case Ceiling::GemmTF32: return "gemm_tf32";
    case Ceiling::GemmBF16: return "gemm_bf16";
  }
  return "?";
}

EventTimer::EventTimer() : start_(nullptr), stop_(nullptr) {
  cudaEvent_t a = nullptr, b = nullptr;
  check(cudaEventCreate(&a), "cudaEventCreate");
  check(cudaEventCreate(&b), "cudaEventCreate");
  start_ = a;
  stop_ = b;
}

EventTimer::~EventTimer() {
  cudaEventDestroy(static_cast<cudaEvent_t>(start_));
  cudaEventDestroy(static_cast<cudaEvent_t>(stop_));
}

void EventTimer::start() { check(cudaEventRecord(static_cast<cudaEvent_t>(start_), stream()), "cudaEventRecord"); }

double EventTimer::stop() {
  check(cudaEventRecord(static_cast<cudaEvent_t>(stop_), stream()), "cudaEventRecord");
  check(cudaEventSynchronize(static_cast<cudaEvent_t>(stop_)), "cudaEventSynchronize");
  float ms = 0;
  check(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(start_), static_cast<cudaEvent_t>(stop_)),
        "cudaEventElapsedTime");
  return ms * 1e-3;
}

void synchronize() { fh::cuda::synchronize(); }

Tensor device_values(const Shape& shape, uint32_t seed) {
  Tensor t = Tensor::empty(shape, DType::F32, kGpu);
  fill_hash_f32(static_cast<float*>(t.raw_data()), t.numel(), seed);
  return t;
}

void set_flops(benchmark::State& state, double flops_per_call, Ceiling c, const std::string& shape) {
  state.counters["FLOP/s"] = benchmark::Counter(flops_per_call, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string("ceiling=") + ceiling_name(c) + ";shape=" + shape);
}

void set_bytes(benchmark::State& state, double bytes_per_call, const std::string& shape) {
  state.SetBytesProcessed(static_cast<int64_t>(bytes_per_call * static_cast<double>(state.iterations())));
  state.SetLabel(std::string("ceiling=copy;shape=") + shape);
}

}  // namespace fh::bench::cuda

namespace {

// Without a GPU: one line, and success, so that scripts can run fh_cuda_bench anywhere
// (listing the benchmarks needs no GPU).
bool skip_without_gpu(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]).rfind("--benchmark_list_tests", 0) == 0) return false;
  if (fh::cuda::device_count() > 0) return false;
  std::printf("fh_cuda_bench: SKIPPED — %s\n", fh::cuda::unavailable_reason().c_str());
  return true;
}

}  // namespace

int main(int argc, char** argv) { return fh::bench::benchmark_main(argc, argv, "fh_cuda_bench", skip_without_gpu); }
