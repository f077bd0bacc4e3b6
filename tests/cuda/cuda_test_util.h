// Shared by every CUDA test file: the device, the seeded generator (FH_TEST_SEED replays a
// run), random inputs and small helpers for labels and byte comparisons.
#pragma once

#include <string>
#include <vector>

#include "runtime/random.h"
#include "runtime/tensor.h"
#include "tests/harness/tolerance.h"

namespace fh::cuda_test {

inline const Device kGpu = Device::cuda(0);

inline Generator& gen() {
  static Generator g(test::run_seed());
  return g;
}

inline Tensor random(const Shape& shape, DType dtype = DType::F32, double mean = 0.0, double std = 1.0) {
  return randn(shape, gen(), mean, std, dtype);
}

inline std::string label(const std::string& what, const Shape& a, DType t) {
  return what + " " + a.str() + " " + dtype_name(t);
}
inline std::string label(const std::string& what, const Shape& a, const Shape& b, DType t) {
  return what + " " + a.str() + " with " + b.str() + " " + dtype_name(t);
}

// Host bytes of a tensor on any device (for bit-exact comparisons).
inline std::vector<unsigned char> bytes_of(const Tensor& t) {
  const Tensor host = t.to(Device::cpu());
  const auto* p = static_cast<const unsigned char*>(host.raw_data());
  return std::vector<unsigned char>(p, p + host.nbytes());
}

}  // namespace fh::cuda_test
