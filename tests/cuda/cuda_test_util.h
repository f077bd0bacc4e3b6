// Shared by every CUDA test file: the device, the seeded generator (FH_TEST_SEED replays a
// run), random inputs, the float dtypes with their tolerances, and small helpers for labels
// and byte comparisons.
#pragma once

#include <doctest/doctest.h>

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

// The dtypes the float kernels take, and the tolerance for each of them.
inline const DType kFloatDTypes[] = {DType::F32, DType::F64};
inline test::Tolerance pick(DType t, test::Tolerance f32, test::Tolerance f64) { return t == DType::F64 ? f64 : f32; }

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

// `gpu` is on the GPU and has `cpu`'s shape, dtype and bytes.
inline void check_same_bits(const Tensor& gpu, const Tensor& cpu, const std::string& name) {
  INFO(name);
  CHECK(gpu.device() == kGpu);
  CHECK(gpu.shape() == cpu.shape());
  CHECK(gpu.dtype() == cpu.dtype());
  CHECK(test::same_bits(gpu, cpu));
}

}  // namespace fh::cuda_test
