#include "tests/harness/tolerance.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <sstream>

namespace fh::test {

std::string Comparison::report(const std::string& name) const {
  std::ostringstream os;
  os << name << ": ";
  if (!shape_error.empty()) return os.str() + shape_error;
  os << "worst error " << worst_fraction << " of threshold";
  if (worst_index >= 0) os << " at element " << worst_index << " (got " << got << ", ref " << ref << ")";
  os << ", " << failures << "/" << count << " elements over";
  return os.str();
}

Comparison compare(const Tensor& got, const Tensor& ref, Tolerance tol) {
  Comparison c;
  if (got.shape() != ref.shape()) {
    c.shape_error = "shape " + got.shape().str() + " differs from reference " + ref.shape().str();
    return c;
  }
  const std::vector<double> g = got.to_vector<double>(), r = ref.to_vector<double>();
  c.count = static_cast<int64_t>(g.size());
  for (size_t i = 0; i < g.size(); ++i) {
    double fraction;
    if (std::isnan(r[i]) || std::isnan(g[i])) {
      fraction = std::isnan(r[i]) && std::isnan(g[i]) ? 0.0 : INFINITY;
    } else if (std::isinf(r[i]) || std::isinf(g[i])) {
      fraction = g[i] == r[i] ? 0.0 : INFINITY;
    } else {
      fraction = std::abs(g[i] - r[i]) / (tol.atol + tol.rtol * std::abs(r[i]));
    }
    if (fraction > 1.0) ++c.failures;
    if (fraction > c.worst_fraction || c.worst_index < 0) {
      c.worst_fraction = fraction;
      c.worst_index = static_cast<int64_t>(i);
      c.got = g[i];
      c.ref = r[i];
    }
  }
  return c;
}

uint64_t run_seed() {
  static const uint64_t seed = [] {
    uint64_t s;
    if (const char* env = std::getenv("FH_TEST_SEED"); env != nullptr && *env != '\0') {
      s = std::strtoull(env, nullptr, 10);
    } else {
      std::random_device rd;
      s = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    }
    std::fprintf(stderr, "[fh test] random seed %llu (FH_TEST_SEED=%llu repeats this run)\n",
                 static_cast<unsigned long long>(s), static_cast<unsigned long long>(s));
    return s;
  }();
  return seed;
}

}  // namespace fh::test
