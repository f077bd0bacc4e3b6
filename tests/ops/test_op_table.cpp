// The op table's CPU drivers (tests/ops/op_case.h): for each family, float64 gradient
// checks of every case marked kGradcheck, and PyTorch parity of every case marked kTorch
// (one oracle process per family). The CUDA driver is tests/cuda/test_cuda_op_table.cpp.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>

#include "tests/harness/gradcheck.h"
#include "tests/harness/parity.h"
#include "tests/ops/op_case.h"
#include "tests/ops/op_table_run.h"

using namespace fh::test;
using namespace fh::test::ops;

namespace {

void gradcheck_family(const std::string& family) {
  const std::vector<OpCase>& table = shared_op_table();
  int checked = 0;
  double worst = 0;
  for (size_t i = 0; i < table.size(); ++i) {
    const OpCase& c = table[i];
    if (c.family != family || !c.has(kGradcheck)) continue;
    fh::Generator gen = case_generator(i);
    GradcheckOptions opts;
    opts.tol = c.grad_tol;
    opts.eps = c.grad_eps;
    opts.max_elements = c.grad_max_elements;
    worst = std::max(worst, check_gradients(c.run, draw_inputs(c, fh::DType::F64, gen), c.name(), opts));
    ++checked;
  }
  CHECK(checked > 0);
  MESSAGE(family << ": " << checked << " cases gradient-checked in float64; worst " << worst << " of threshold");
}

void parity_family(const std::string& family) {
  if (skip_without_oracle()) return;
  const std::vector<OpCase>& table = shared_op_table();
  std::vector<ParityCase> cases;
  for (size_t i = 0; i < table.size(); ++i) {
    const OpCase& c = table[i];
    if (c.family != family || !c.has(kTorch)) continue;
    fh::Generator gen = case_generator(i);
    cases.push_back(to_parity_case(c, gen));
  }
  REQUIRE(!cases.empty());
  double worst = 0;
  std::map<std::string, double> by_op;
  if (!run_parity(cases, &worst, &by_op)) return;
  std::string ops;
  for (const auto& [op, w] : by_op) ops += " " + op + " " + std::to_string(w).substr(0, 5);
  MESSAGE(family << ": " << cases.size() << " cases against PyTorch; worst of threshold by op:" << ops);
}

// The families FH_OP_FAMILY_TESTS registered test cases for.
std::set<std::string>& tested_families() {
  static std::set<std::string> families;
  return families;
}
bool note_tested(const char* family) { return tested_families().insert(family).second; }

int count_of(const std::map<std::string, int>& n, const std::string& purpose) {
  const auto it = n.find(purpose);
  return it == n.end() ? 0 : it->second;
}

}  // namespace

// One gradcheck and one parity test case per family, so that CTest runs them side by side;
// and the device driver (tests/cuda/test_cuda_op_table.cpp runs it on the GPU) on the CPU
// against itself, on the family's small cases: its inputs, dtypes (half precision and
// integers too), backward passes and comparisons, in every build.
#define FH_OP_FAMILY_TESTS(family)                                                            \
  static const bool DOCTEST_ANONYMOUS(fh_tested_) = note_tested(family);                      \
  TEST_CASE("op table: " family ": float64 gradient checks") { gradcheck_family(family); }    \
  TEST_CASE("op table: " family ": PyTorch parity, outputs and gradients") { parity_family(family); }

FH_OP_FAMILY_TESTS("core")
FH_OP_FAMILY_TESTS("pool")
FH_OP_FAMILY_TESTS("shape")
FH_OP_FAMILY_TESTS("warp")
FH_OP_FAMILY_TESTS("norm")
FH_OP_FAMILY_TESTS("pointwise")
FH_OP_FAMILY_TESTS("conv")

TEST_CASE("op table: the device driver runs every family's small cases, the CPU against itself") {
  int compared = 0;
  for (const std::string& family : op_families()) compared += compare_devices(family, fh::Device::cpu(), true);
  CHECK(compared > 0);
}

// Every device case, large ones included: what the GPU run does, minus the GPU (about a
// minute on two cores; run with --no-skip).
TEST_CASE("op table: the device driver runs every device case, the CPU against itself" * doctest::skip()) {
  int compared = 0;
  for (const std::string& family : op_families()) compared += compare_devices(family, fh::Device::cpu());
  CHECK(compared > 0);
}

TEST_CASE("op table: every family has its test cases, every case a purpose, an op and its tolerances") {
  const std::vector<std::string> families = op_families();
  CHECK(std::set<std::string>(families.begin(), families.end()) == tested_families());
  std::map<std::string, std::map<std::string, int>> counts;
  for (const OpCase& c : shared_op_table()) {
    INFO(c.name());
    CHECK(c.purposes != 0);
    CHECK(!c.op.empty());
    CHECK(c.run);
    if (c.has(kBench)) CHECK((c.forward_work && c.backward_work));
    // Per-input tolerances, where given, cover every input.
    for (const auto* per_input : {&c.torch_grad_tol, &c.device_grad_tol_f32, &c.device_grad_tol_f64})
      CHECK((per_input->empty() || per_input->size() == c.inputs.size()));
    for (Purpose p : {kGradcheck, kTorch, kDevice, kBench})
      if (c.has(p)) ++counts[c.family][purpose_name(p)];
    if (c.has(kDevice)) counts[c.family]["device dtypes"] += static_cast<int>(c.device_dtypes.size());
  }
  for (const auto& [family, n] : counts)
    MESSAGE(family << ": gradcheck " << count_of(n, "gradcheck") << ", torch " << count_of(n, "torch") << ", device "
                   << count_of(n, "device") << " (" << count_of(n, "device dtypes") << " case/dtype pairs), bench "
                   << count_of(n, "bench"));
}
