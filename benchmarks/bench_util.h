// The pattern every freehead benchmark follows:
//   1. time the op with Google Benchmark;
//   2. count the work by hand: FLOPs and/or the minimum bytes the op must move;
//   3. report them as rates (set_flops / set_bytes) next to the share of a ceiling measured on
//      this machine in the same run (GEMM throughput for compute, copy bandwidth for memory),
//      because a bare time says little on a shared machine.
// benchmarks/torch_compare.py runs the same shapes through PyTorch and prints the ratios.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>

namespace fh::bench {

// Machine ceilings, measured once per process with all freehead threads: a 1024³ float32
// GEMM done by Eigen on every thread at once; and memcpy bandwidth for a working set of
// the given size (read + write bytes), since a 16 MB copy runs from cache and a 1 GB one from DRAM.
double gemm_ceiling_flops();
double copy_ceiling_bytes(double bytes_moved);

// Counters "FLOP/s" (the achieved rate) and "peak_FLOP/s" (the ceiling, a constant).
void set_flops(benchmark::State& state, double flops_per_iteration);
// Counters "bytes_per_second" (Google Benchmark's own) and "peak_bytes/s" (the copy ceiling
// for the same number of bytes).
void set_bytes(benchmark::State& state, double bytes_per_iteration);

// Registration (->Apply(real_time_ms)): wall-clock time in milliseconds, since the kernels
// run on freehead's thread pool.
inline void real_time_ms(benchmark::internal::Benchmark* b) { b->Unit(benchmark::kMillisecond)->UseRealTime(); }

}  // namespace fh::bench
