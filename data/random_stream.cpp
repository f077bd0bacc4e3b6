#include "data/random_stream.h"

#include <cmath>

#include "runtime/error.h"
#include "runtime/random.h"

namespace fh::data {

uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

RandomStream::RandomStream(uint64_t seed, StreamPurpose purpose, std::initializer_list<uint64_t> path) {
  uint64_t k = mix64(seed ^ 0x66726565686561ULL);  // "freehea"
  k = mix64(k ^ static_cast<uint64_t>(purpose));
  for (uint64_t p : path) k = mix64(k ^ mix64(p + 0x5bd1e995ULL));
  key_ = k;
}

uint32_t RandomStream::next_word() {
  if (used_ == 4) {
    const Philox4 block = philox4x32(key_, counter_++);
    for (int i = 0; i < 4; ++i) words_[i] = block.v[i];
    used_ = 0;
  }
  return words_[used_++];
}

double RandomStream::uniform() {
  const uint64_t hi = next_word() >> 5, lo = next_word() >> 6;  // 27 + 26 bits
  return (static_cast<double>(hi) * 67108864.0 + static_cast<double>(lo)) * (1.0 / 9007199254740992.0);
}

double RandomStream::uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

double RandomStream::normal() {
  const double u1 = 1.0 - uniform();  // (0, 1]
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * 3.14159265358979323846 * u2);
}

int64_t RandomStream::integer(int64_t n) {
  FH_CHECK(n > 0, "RandomStream::integer", "range must be positive, got ", n);
  return static_cast<int64_t>(uniform() * static_cast<double>(n)) % n;
}

}  // namespace fh::data
