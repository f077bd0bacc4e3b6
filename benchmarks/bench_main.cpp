// fh_bench's main: Google Benchmark's, plus the op table's benchmarks and --fh_op_cases.
#include "benchmarks/op_table_bench.h"

int main(int argc, char** argv) { return fh::bench::benchmark_main(argc, argv, "fh_bench"); }
