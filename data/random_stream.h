// Counter-based random streams for the synthetic data. A stream is named by the dataset seed
// and a path of integers (what it is for, which identity, clip, frame...); its values come
// from Philox (runtime/random.h) keyed by that name and counted by draw index. Any frame's
// parameters can therefore be computed alone, in any order, on any thread, and the bytes a
// dataset holds depend only on its seed.
#pragma once

#include <cstdint>
#include <initializer_list>

namespace fh::data {

// What a stream is used for (the first element of its path).
enum class StreamPurpose : uint64_t {
  Identity = 1,
  Clip = 2,
  Background = 3,
  Triple = 4,
  Loader = 5,
};

class RandomStream {
 public:
  RandomStream(uint64_t seed, StreamPurpose purpose, std::initializer_list<uint64_t> path = {});

  double uniform();                          // [0, 1), 53 bits
  double uniform(double lo, double hi);      // [lo, hi)
  double normal();                           // mean 0, sd 1 (Box-Muller)
  int64_t integer(int64_t n);                // [0, n), n > 0
  bool chance(double p) { return uniform() < p; }

 private:
  uint32_t next_word();
  uint64_t key_;
  uint64_t counter_ = 0;
  uint32_t words_[4] = {0, 0, 0, 0};
  int used_ = 4;
};

// splitmix64: mixes a 64-bit value; used to turn a path into a Philox key.
uint64_t mix64(uint64_t x);

}  // namespace fh::data
