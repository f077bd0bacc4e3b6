// Random numbers from a counter-based generator (Philox 4x32-10). Element i of a fill draws
// from counter (offset + i/4), so a fill gives the same values whatever the thread count or
// device, and each fill advances the generator's offset past what it used.
#pragma once

#include <cstdint>

#include "runtime/tensor.h"

namespace fh {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  // Reserves `blocks` 128-bit counter blocks and returns the first.
  uint64_t advance(uint64_t blocks) {
    const uint64_t first = offset_;
    offset_ += blocks;
    return first;
  }

 private:
  uint64_t seed_;
  uint64_t offset_ = 0;
};

// Philox 4x32-10: four 32-bit random words for a (key, counter) pair.
struct Philox4 {
  uint32_t v[4];
};
Philox4 philox4x32(uint64_t key, uint64_t counter);

// Uniform in [low, high) and normal(mean, std), float32 or float64, on any device (values
// are generated on the host and copied).
Tensor rand(const Shape& shape, Generator& gen, double low = 0.0, double high = 1.0, DType dtype = DType::F32,
            Device device = Device::cpu());
Tensor randn(const Shape& shape, Generator& gen, double mean = 0.0, double std = 1.0, DType dtype = DType::F32,
             Device device = Device::cpu());

}  // namespace fh
