// Compile-time channel counts for NHWC kernels. With few channels (flows have 2, images 3,
// discriminator inputs 6) a loop over a runtime channel count runs a handful of iterations
// per pixel and its overhead dominates; with the count known, the compiler unrolls it and
// keeps per-pixel accumulators in registers. Wide tensors take the runtime path, whose
// channel loops are long and vectorise.
#pragma once

#include <cstdint>
#include <type_traits>

#include "runtime/tensor.h"

namespace fh::kernels::cpu {

// Calls fn(std::integral_constant<int, K>{}) with K = channels for the small counts the
// model uses, and K = 0 (meaning "use the runtime count") otherwise.
template <class Fn>
decltype(auto) with_channels(int64_t channels, Fn&& fn) {
  switch (channels) {
    case 1: return fn(std::integral_constant<int, 1>{});
    case 2: return fn(std::integral_constant<int, 2>{});
    case 3: return fn(std::integral_constant<int, 3>{});
    case 4: return fn(std::integral_constant<int, 4>{});
    case 6: return fn(std::integral_constant<int, 6>{});
    default: return fn(std::integral_constant<int, 0>{});
  }
}

// Channel tile of the runtime-count path: one AVX-512 register of float32.
constexpr int64_t kChannelTile = 16;
// The widest tile a kernel with compile-time count kC visits (its local arrays' size).
template <int kC>
constexpr int64_t kMaxTile = kC > 0 ? kC : kChannelTile;

// Visits channels [0, channels) in tiles, calling fn.template operator()<kWidth>(c0, width):
// with kC > 0 one tile of compile-time width kWidth = kC; else tiles of compile-time width
// kChannelTile and a last one of runtime width (kWidth = 0). A body written as
//   [&]<int64_t kWidth>(int64_t c0, int64_t tile) { const int64_t width = kWidth > 0 ? kWidth : tile; ... }
// gets loops of constant trip count over local arrays, which unroll and stay in registers;
// local arrays cannot alias the tensors, so those loops vectorise freely.
template <int kC, class Fn>
void for_each_channel_tile(int64_t channels, Fn&& fn) {
  if constexpr (kC > 0) {
    fn.template operator()<kC>(0, kC);
  } else {
    int64_t c0 = 0;
    for (; c0 + kChannelTile <= channels; c0 += kChannelTile) fn.template operator()<kChannelTile>(c0, kChannelTile);
    if (c0 < channels) fn.template operator()<0>(c0, channels - c0);
  }
}

// Put before a channel loop whose body selects (a ? b : c) per element: GCC otherwise
// unrolls a loop of compile-time trip count completely before vectorising, and the
// unrolled selects become scalar compares and branches (many times slower on random data).
// GCC honours it only when the loop's bound is a plain integer (not a conversion).
#define FH_KEEP_LOOP_FOR_VECTORS _Pragma("GCC unroll 1")

// Runs body.template operator()<T, kC>() for a float32/float64 tensor's element type T and
// a channel count (kC as in with_channels).
template <class Body>
void dispatch_float_channels(const Tensor& t, int64_t channels, Body&& body) {
  with_channels(channels, [&](auto kc) {
    if (t.dtype() == DType::F64) {
      body.template operator()<double, decltype(kc)::value>();
    } else {
      body.template operator()<float, decltype(kc)::value>();
    }
  });
}

// Elements of parallel work per chunk for cheap per-element kernels: enough that waking the
// pool (a few microseconds) stays small next to the work.
constexpr int64_t kPoolGrainElements = 1 << 15;

// Items per parallel chunk when each item costs `work` elements.
inline int64_t grain_for(int64_t work) { return work >= kPoolGrainElements ? 1 : kPoolGrainElements / (work > 0 ? work : 1); }

}  // namespace fh::kernels::cpu
