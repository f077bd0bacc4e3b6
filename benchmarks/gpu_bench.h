// What the CUDA benchmarks (bench_cuda_*.cpp) share: skipping without a GPU, timing GPU work,
// and the device's copy bandwidth as the memory ceiling.
//
// Timing: kernels are launched asynchronously, so a benchmark iteration runs a batch of
// back-to-back calls of the op and then waits for the device; the iteration's time (manual
// time) is the batch's wall time divided by its size. The batch is sized from one
// synchronised call to last about a millisecond, so the wait's latency is spread thin and
// small ops are timed at the rate a stream of launches sustains, as a network runs them.
// The PyTorch peers (peers_cuda.py) are timed the same way.
//
// Ceiling: a device-to-device copy of 512 MiB (read + write bytes), the best of a few:
// what the memory system delivers to a plain copy on this GPU, measured in the same run.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <string>

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

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Times `op` (which enqueues GPU work on the current stream) as described above. Register
// the benchmark with ->UseManualTime().
template <class Op>
void time_op(benchmark::State& state, Op&& op) {
  op();  // warm-up: module loading, the allocator's cache
  fh::cuda::synchronize();
  auto t0 = std::chrono::steady_clock::now();
  op();
  fh::cuda::synchronize();
  const double once = std::max(seconds_since(t0), 1e-7);
  const int batch = static_cast<int>(std::clamp(1e-3 / once, 1.0, 1000.0));
  for (auto _ : state) {
    t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < batch; ++i) op();
    fh::cuda::synchronize();
    state.SetIterationTime(seconds_since(t0) / batch);
  }
  state.counters["batch"] = batch;
}

// Device-to-device copy bandwidth, bytes (read + written) per second.
inline double copy_ceiling_bytes() {
  static const double ceiling = [] {
    const int64_t n = int64_t{128} << 20;  // floats: 512 MiB each way
    const Tensor src = Tensor::zeros({n}, DType::F32, device());
    Tensor dst = Tensor::empty({n}, DType::F32, device());
    const size_t bytes = static_cast<size_t>(n) * sizeof(float);
    double best = 0;
    for (int r = 0; r < 5; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      fh::cuda::copy_device_to_device(dst.raw_data(), src.raw_data(), bytes, 0);  // waits for the copy
      best = std::max(best, 2.0 * static_cast<double>(bytes) / seconds_since(t0));
    }
    return best;
  }();
  return ceiling;
}

// Counters "bytes_per_second" (the achieved rate, from the minimum bytes the op must move)
// and "peak_bytes/s" (the copy ceiling), as the CPU benchmarks report them.
inline void set_bytes(benchmark::State& state, double bytes_per_iteration) {
  state.SetBytesProcessed(static_cast<int64_t>(bytes_per_iteration * static_cast<double>(state.iterations())));
  state.counters["peak_bytes/s"] = benchmark::Counter(copy_ceiling_bytes());
}

}  // namespace fh::bench::gpu
