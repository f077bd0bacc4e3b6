#include "benchmarks/bench_util.h"

#include <Eigen/Core>
#include <chrono>
#include <cstring>
#include <vector>

#include "runtime/storage.h"
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

double copy_ceiling_bytes() {
  static const double ceiling = [] {
    constexpr size_t n = size_t{256} << 20;  // far beyond the last-level cache
    char* src = static_cast<char*>(host_allocate(n));
    char* dst = static_cast<char*>(host_allocate(n));
    std::memset(src, 1, n);
    std::memset(dst, 0, n);
    const double rate = best_rate(2.0 * n, 3, [&] {  // read + write
      parallel_for(static_cast<int64_t>(n), 1 << 20, [&](int64_t b, int64_t e) { std::memcpy(dst + b, src + b, e - b); });
    });
    host_deallocate(src);
    host_deallocate(dst);
    return rate;
  }();
  return ceiling;
}

void set_flops(benchmark::State& state, double flops_per_iteration) {
  state.counters["FLOP/s"] = benchmark::Counter(flops_per_iteration, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["%gemm_peak"] = benchmark::Counter(100.0 * flops_per_iteration / gemm_ceiling_flops(),
                                                   benchmark::Counter::kIsIterationInvariantRate);
}

void set_bytes(benchmark::State& state, double bytes_per_iteration) {
  state.SetBytesProcessed(static_cast<int64_t>(bytes_per_iteration * static_cast<double>(state.iterations())));
  state.counters["%copy_peak"] = benchmark::Counter(100.0 * bytes_per_iteration / copy_ceiling_bytes(),
                                                   benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace fh::bench
