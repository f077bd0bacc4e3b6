// Channel sums that vectorise yet stay deterministic. Strict IEEE evaluation keeps a plain
// `s += term(c)` loop in order, one element at a time; spelling the vector out — kLanes
// partial sums, element c feeding lane c % kLanes (the tail after the last full group
// feeding lane 0), combined by a fixed tree — gives the compiler independent lanes to
// vectorise, in an order fixed by the length alone: the same bits on every run and for
// every thread count.
//
//   Lanes<T> s;
//   int64_t c = 0;
//   for (; c + kLanes <= n; c += kLanes)
//     for (int l = 0; l < kLanes; ++l) s.v[l] += term(c + l);
//   for (; c < n; ++c) s.v[0] += term(c);
//   return s.total();
#pragma once

namespace fh::kernels::cpu {

// 8 partial sums: an AVX register of floats, or two of doubles.
constexpr int kLanes = 8;

template <class T>
struct Lanes {
  T v[kLanes] = {};

  // ((v0 + v4) + (v2 + v6)) + ((v1 + v5) + (v3 + v7)).
  T total() const { return ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7])); }
};

}  // namespace fh::kernels::cpu
