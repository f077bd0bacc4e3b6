// fh_bench's main: Google Benchmark's, plus the op table's benchmarks and --fh_op_cases.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <exception>

#include "benchmarks/op_table_bench.h"

int main(int argc, char** argv) {
  try {
    if (fh::bench::write_op_cases_if_asked(argc, argv)) return 0;
    fh::bench::register_op_table_benchmarks();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fh_bench: %s\n", e.what());
    return 1;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
