// The op table's benchmarks (op_table_bench.cpp), registered by the benchmark binaries' mains.
#pragma once

namespace fh::bench {

// Registers BM_[cuda_]<op>/... and BM_[cuda_]<op>_backward/... for every kBench case.
void register_op_table_benchmarks();

// With --fh_op_cases=FILE among the arguments: writes the registered cases' JSON to FILE
// and returns true (the caller exits); otherwise false.
bool write_op_cases_if_asked(int argc, char** argv);

}  // namespace fh::bench
