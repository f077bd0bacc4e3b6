#include "benchmarks/bench_util.h"

#include <Eigen/Core>
#include <chrono>
#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "runtime/host_allocator.h"
#include "runtime/thread_pool.h"

namespace fh::bench {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Best of a few repetitions of `fn`, which does `work` units; returns units per second.
template <class Fn>
double best_rate(double work, int repeats, Fn fn) {
  double best = 0;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    best = std::max(best, work / seconds_since(t0));
  }
  return best;
}

}  // namespace

double gemm_ceiling_flops() {
  static const double ceiling = [] {
    constexpr int n = 1024;  // large enough for Eigen to reach its peak
    using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const int threads = num_threads();
    std::vector<Mat> a(threads, Mat::Random(n, n)), b(threads, Mat::Random(n, n)), c(threads, Mat(n, n));
    const double flops = 2.0 * n * n * n * threads;
    return best_rate(flops, 3, [&] {
      parallel_for(threads, 1, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t)
          c[t].noalias() = a[t] * b[t];
      });
    });
  }();
  return ceiling;
}

double copy_ceiling_bytes(double bytes_moved) {
  static std::mutex mutex;
  static std::map<size_t, double> measured;
  // Half the bytes are read, half written; at least 64 KiB each way.
  const size_t n = std::max<size_t>(size_t{64} << 10, static_cast<size_t>(bytes_moved / 2));
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = measured.find(n); it != measured.end()) return it->second;
  char* src = static_cast<char*>(host::allocate(n));
  char* dst = static_cast<char*>(host::allocate(n));
  std::memset(src, 1, n);
  std::memset(dst, 0, n);
  const int repeats = static_cast<int>(std::clamp<size_t>((size_t{1} << 30) / n, 5, 200));
  const double rate = best_rate(2.0 * static_cast<double>(n), repeats, [&] {
    parallel_for(static_cast<int64_t>(n), 1 << 16, [&](int64_t b, int64_t e) { std::memcpy(dst + b, src + b, e - b); });
  });
  host::deallocate(src, n);
  host::deallocate(dst, n);
  measured[n] = rate;
  return rate;
}

void set_flops(benchmark::State& state, double flops_per_iteration) {
  state.counters["FLOP/s"] = benchmark::Counter(flops_per_iteration, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["peak_FLOP/s"] = benchmark::Counter(gemm_ceiling_flops());
}

void set_bytes(benchmark::State& state, double bytes_per_iteration) {
  state.SetBytesProcessed(static_cast<int64_t>(bytes_per_iteration * static_cast<double>(state.iterations())));
  state.counters["peak_bytes/s"] = benchmark::Counter(copy_ceiling_bytes(bytes_per_iteration));
}

}  // namespace fh::bench
