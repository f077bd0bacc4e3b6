// The pattern every CUDA benchmark follows (benchmarks/bench_cuda_<family>.cpp, all linked
// into fh_cuda_bench):
//   1. time the op on the GPU with CUDA events: call time_op(state, fn) instead of writing the
//      `for (auto _ : state)` loop; it warms up, then times samples of several calls each so
//      that launch latency is amortised, and reports the event time as the benchmark's time;
//   2. count the work by hand (the op's FLOPs, or the minimum bytes it must move) and report
//      it with set_flops (naming the GEMM ceiling of the precision it runs at) or set_bytes
//      (memory-bound ops: the device copy ceiling);
//   3. register with ->UseManualTime() (->Apply(manual_time_us) sets it with microseconds).
// An op that runs on both devices is benchmarked from the op table instead
// (benchmarks/op_table_bench.cpp), which does all three from the table's cases.
// The benchmark's label carries "ceiling=<name>;shape=<text>": benchmarks/gpu_table.py puts
// each result next to the ceiling of that name measured in the same run (bench_cuda_ceiling.cpp)
// and next to its PyTorch peer (benchmarks/peers_cuda_*.py, run by torch_compare.py).
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "runtime/tensor.h"

namespace fh::bench::cuda {

// The GPU every benchmark runs on. fh_cuda_bench's main runs no benchmark without one.
inline const Device kGpu = Device::cuda(0);

// float32 values in [-1, 1) filled on the GPU (values made on the host would dominate the
// set-up at batch 8), a different pattern per seed.
Tensor device_values(const Shape& shape, uint32_t seed);

enum class Ceiling { Copy, GemmF32, GemmTF32, GemmBF16 };
// "copy", "gemm_fp32", "gemm_tf32", "gemm_bf16".
const char* ceiling_name(Ceiling c);

// Seconds of GPU time between two events around fn() on the current stream.
class EventTimer {
 public:
  EventTimer();
  ~EventTimer();
  EventTimer(const EventTimer&) = delete;
  EventTimer& operator=(const EventTimer&) = delete;
  void start();
  double stop();  // waits for the work enqueued since start()

 private:
  void* start_;
  void* stop_;
};

void synchronize();

// Times fn() (which enqueues work on the current stream) as the benchmark's iterations.
template <class Fn>
void time_op(benchmark::State& state, Fn&& fn) {
  EventTimer timer;
  fn();  // warm-up: allocations, library handles, algorithm choices
  synchronize();
  timer.start();
  fn();
  const double once = timer.stop();
  // Calls per sample: a sample of at least ~200 us hides the launch latency of short ops.
  const int inner = static_cast<int>(std::clamp(std::ceil(2e-4 / std::max(once, 1e-7)), 1.0, 256.0));
  for (auto _ : state) {
    timer.start();
    for (int i = 0; i < inner; ++i) fn();
    state.SetIterationTime(timer.stop() / inner);
  }
  state.counters["calls_per_sample"] = inner;
}

// Counter "FLOP/s" and the label "ceiling=<c>;shape=<shape>".
void set_flops(benchmark::State& state, double flops_per_call, Ceiling c, const std::string& shape);
// Google Benchmark's bytes_per_second and the label "ceiling=copy;shape=<shape>" (an empty
// shape: the table shows the benchmark's arguments).
void set_bytes(benchmark::State& state, double bytes_per_call, const std::string& shape = "");

// Registration (->Apply(manual_time_us)): the times time_op reports, in microseconds.
inline void manual_time_us(benchmark::internal::Benchmark* b) { b->Unit(benchmark::kMicrosecond)->UseManualTime(); }

}  // namespace fh::bench::cuda
