// Random shapes and inputs for tests, drawn from the run's seed (tolerance.h run_seed()).
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/random.h"

namespace fh::test {

// Uniform integer in [lo, hi].
inline int64_t rand_int(Generator& gen, int64_t lo, int64_t hi) {
  const double u = rand(Shape{1}, gen, 0.0, 1.0, DType::F64).item();
  return lo + std::min<int64_t>(hi - lo, static_cast<int64_t>(u * static_cast<double>(hi - lo + 1)));
}

// A float64 leaf requiring grad, uniform in [lo, hi): the usual gradcheck input.
inline Tensor random_leaf(const Shape& s, Generator& gen, double lo = -1.0, double hi = 1.0) {
  return rand(s, gen, lo, hi, DType::F64).requires_grad_();
}

// A shape of `ndim` dims with sizes in [1, max_size] (size 1 comes up often on purpose).
inline Shape random_shape(Generator& gen, int ndim, int64_t max_size = 5) {
  Shape s;
  for (int d = 0; d < ndim; ++d) s.push_back(rand_int(gen, 0, 3) == 0 ? 1 : rand_int(gen, 1, max_size));
  return s;
}

// A shape that broadcasts against `s`: some dims set to 1, sometimes leading dims dropped.
inline Shape broadcastable_to(Generator& gen, const Shape& s) {
  Shape out;
  const int drop = s.size() > 0 ? static_cast<int>(rand_int(gen, 0, s.size() > 1 ? 1 : 0)) : 0;
  for (int d = drop; d < s.size(); ++d) out.push_back(rand_int(gen, 0, 2) == 0 ? 1 : s[d]);
  return out;
}

}  // namespace fh::test
