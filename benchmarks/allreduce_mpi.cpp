// fh_allreduce_bench: the gradient all-reduce's transport alone (dist::Communicator::sum over
// MPI), for buffers of the sizes the training tasks reduce. Run under a launcher:
//   mpirun -np 2 build/bin/fh_allreduce_bench
// Each size is summed `reps` times after one warm-up; the ranks meet first (a one-value
// sum), so the time is the exchange and the additions, not waiting for a late rank.
// bus GB/s = 2·(K−1)/K · bytes / time, the volume each rank sends and receives in a
// reduce-scatter plus all-gather (comparable with NCCL's "busbw").
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "dist/communicator.h"

int main() {
  fh::dist::Communicator& comm = fh::dist::world();
  const int k = comm.size();
  if (comm.is_root()) {
    std::printf("%d ranks, %s\n", k, comm.transport().c_str());
    std::printf("| float32 values | MiB | ms per sum | bus GB/s |\n|---:|---:|---:|---:|\n");
  }
  for (int64_t n : {int64_t{1}, int64_t{1} << 10, int64_t{1} << 17, int64_t{1} << 20, int64_t{1} << 22,
                    int64_t{1} << 24}) {
    std::vector<float> v(static_cast<size_t>(n), 1.0f);
    const int reps = n >= (int64_t{1} << 22) ? 10 : n >= (int64_t{1} << 17) ? 50 : 500;
    comm.sum(v.data(), n);
    double seconds = 0;
    for (int i = 0; i < reps; ++i) {
      double meet = 0;
      comm.sum(&meet, 1);
      const auto t0 = std::chrono::steady_clock::now();
      comm.sum(v.data(), n, 1.0 / k);
      seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    double mean = seconds / reps;
    comm.sum(&mean, 1, 1.0 / k);  // the ranks' mean
    if (comm.is_root()) {
      const double bytes = static_cast<double>(n) * sizeof(float);
      std::printf("| %lld | %.3f | %.3f | %.2f |\n", static_cast<long long>(n), bytes / (1 << 20), 1e3 * mean,
                  k > 1 ? 2.0 * (k - 1) / k * bytes / mean / 1e9 : 0.0);
    }
  }
  comm.finalize();
  return 0;
}
