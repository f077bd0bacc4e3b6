// What the memory-bound CUDA benchmarks (bench_cuda_{pointwise,norm,pool,warp}.cpp) share on
// top of cuda_bench_util.h: the device their inputs are made on, skipping without a GPU, and
// the byte count reported against the copy ceiling.
//
// Timing and labels are cuda_bench_util.h's, so that every row of the GPU table is measured
// the same way (CUDA events, samples of enough calls to hide launch latency, as
// torch_compare.py times the PyTorch peers) and carries "ceiling=copy": gpu_table.py divides
// the rate by the copy kernel's bandwidth measured in the same run (BM_cuda_ceiling_copy).
#pragma once

#include <benchmark/benchmark.h>

#include <string>
#include <utility>

#include "benchmarks/cuda_bench_util.h"
#include "runtime/cuda_runtime.h"
#include "runtime/tensor.h"

namespace fh::bench::gpu {

inline Device device() { return Device::cuda(0); }

// True when a GPU is usable; otherwise the benchmark is skipped with the reason.
inline bool ready(benchmark::State& state) {
  if (fh::cuda::device_count() > 0) return true;
  static const std::string reason = "no usable GPU: " + (fh::cuda::compiled() ? fh::cuda::unavailable_reason()
                                                                              : std::string("built without CUDA"));
  state.SkipWithError(reason.c_str());
  return false;
}

// Times `op` (which enqueues GPU work on the current stream). Register the benchmark with
// ->UseManualTime().
template <class Op>
void time_op(benchmark::State& state, Op&& op) {
  fh::bench::cuda::time_op(state, std::forward<Op>(op));
}

// The minimum bytes one call must move (Google Benchmark's bytes_per_second) and the label
// "ceiling=copy;shape=<shape>" (an empty shape: the table shows the arguments).
inline void set_bytes(benchmark::State& state, double bytes_per_call, const std::string& shape = "") {
  fh::bench::cuda::set_bytes(state, bytes_per_call, shape);
}

}  // namespace fh::bench::gpu
