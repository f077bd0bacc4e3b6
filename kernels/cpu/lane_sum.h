// Channel sums that vectorise yet stay deterministic. Strict IEEE evaluation forbids the
// compiler from reordering a plain `s += term(c)` loop, so that loop runs one element at a
// time; spelling the vector out — kLanes partial sums, element c feeding lane c % kLanes,
// combined by a fixed tree — gives the compiler a loop it vectorises, with an order fixed
// by the length alone: the same bits on every run and for every thread count.
#pragma once

#include <cstdint>

namespace fh::kernels::cpu {

// Partial sums per lane: 8 covers an AVX register of floats, or two of doubles.
template <class T>
struct Lanes {
  static constexpr int kLanes = 8;
  T v[kLanes] = {};

  // ((v0 + v4) + (v2 + v6)) + ((v1 + v5) + (v3 + v7)).
  T total() const {
    return ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]));
  }
};

// Calls body(acc..., c) for c in [0, n): full groups of kLanes with lane l accumulating
// element c + l, then the tail into lane 0; `body` adds into acc[lane].
// K accumulators (e.g. the two flow gradients) share one pass over the channels.
template <class T, int K, class Body>
inline void for_lanes(int64_t n, Lanes<T> (&acc)[K], Body&& body) {
  constexpr int L = Lanes<T>::kLanes;
  int64_t c = 0;
  for (; c + L <= n; c += L) {
    for (int l = 0; l < L; ++l) body(acc, l, c + l);
  }
  for (; c < n; ++c) body(acc, 0, c);
}

}  // namespace fh::kernels::cpu
