// What the op table's drivers share: the table built once per process from the run's seed,
// each case's own generator (so a case draws the same inputs whichever driver runs it, and
// however many cases come before it), and running a case forward and backward.
#pragma once

#include <string>
#include <vector>

#include "tests/harness/parity.h"
#include "tests/ops/op_case.h"

namespace fh::test::ops {

// op_table(run_seed()), built on first use.
const std::vector<OpCase>& shared_op_table();

// The generator of the table's case `index`: seeded from the run's seed, the case's family
// and its place in the family.
Generator case_generator(size_t index);

// "gradcheck", "torch", "device", "bench".
const char* purpose_name(Purpose p);

// The case at float32 as a PyTorch parity case (inputs and the upstream gradient drawn
// from `gen`).
ParityCase to_parity_case(const OpCase& c, Generator& gen);

// The device driver: every kDevice case of `family` (with small_only, only those that also
// take the CPU checks) forward and backward on the CPU and on `device` from the same inputs
// and upstream gradient, at each of its dtypes (integers forward only); CHECKs the output
// and every input gradient, bit for bit or within the case's tolerance. Returns the number
// of case/dtype pairs compared (0 for a family without device cases). With device = the
// CPU it runs the driver against itself.
int compare_devices(const std::string& family, Device device, bool small_only = false);

}  // namespace fh::test::ops
