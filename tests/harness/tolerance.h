// Per-tensor tolerances of the form atol + rtol·|ref|. A comparison reports the worst
// element as a fraction of its threshold: 0.3 means "30% of the allowed error"; > 1 fails.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/tensor.h"

namespace fh::test {

struct Tolerance {
  double atol;
  double rtol;
};

struct Comparison {
  double worst_fraction = 0;  // max over elements of |got - ref| / (atol + rtol·|ref|)
  int64_t worst_index = -1;
  double got = 0, ref = 0;
  int64_t failures = 0;       // elements over their threshold (NaN mismatches included)
  int64_t count = 0;
  std::string shape_error;    // non-empty when shapes differ

  bool ok() const { return shape_error.empty() && failures == 0; }
  std::string report(const std::string& name) const;
};

// Compares any two tensors (devices and float dtypes may differ); NaN matches only NaN.
Comparison compare(const Tensor& got, const Tensor& ref, Tolerance tol);

// True when both have the same shape and dtype and identical bytes (on any devices): the
// check for results that must not depend on threads, runs or devices.
bool same_bits(const Tensor& a, const Tensor& b);
bool same_bits(const std::vector<float>& a, const std::vector<float>& b);

// The seed of this test run: kFixedSeed unless FH_TEST_SEED is set (a number, or `random`
// for a fresh one from std::random_device). Printed once so a failure can be replayed.
// CI and `ctest` use the fixed seed; scripts/seed_sweep.sh runs many random ones.
uint64_t run_seed();

// Notes a comparison's worst fraction of its threshold for the current test case. compare()
// and check_gradients() call it; with FH_TEST_REPORT=FILE each test case appends one line
// "<fraction>\t<test case name>" (its worst) to FILE when it ends.
void record_fraction(double fraction);

}  // namespace fh::test

// doctest helper: checks and reports the fraction of the threshold either way.
#define FH_CHECK_CLOSE(got, ref, tol, name)                                \
  do {                                                                     \
    const ::fh::test::Comparison fh_cmp_ = ::fh::test::compare(got, ref, tol); \
    INFO(fh_cmp_.report(name));                                            \
    CHECK(fh_cmp_.ok());                                                   \
  } while (0)
