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
