// The op table's benchmarks (op_table_bench.cpp), registered by the benchmark binaries' mains.
#pragma once

namespace fh::bench {

// Registers BM_[cuda_]<op>/... and BM_[cuda_]<op>_backward/... for every kBench case.
void register_op_table_benchmarks();

// With --fh_op_cases=FILE among the arguments: writes the registered cases' JSON to FILE
// and returns true (the caller exits); otherwise false.
bool write_op_cases_if_asked(int argc, char** argv);

// The benchmark binaries' main: the op cases written when asked, else the op table's
// benchmarks registered and Google Benchmark run with the arguments, unless skip(argc,
// argv) says this machine cannot run them (after saying why). Errors name `program`.
int benchmark_main(int argc, char** argv, const char* program, bool (*skip)(int, char**) = nullptr);

}  // namespace fh::bench
