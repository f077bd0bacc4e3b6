// What the warp family's table rows and its own CUDA tests share: the CPU/GPU tolerances
// (derived in tests/ops/warp_cases.cpp), the kinds of flow the devices are compared under,
// and the warped shapes of the generator.
#pragma once

#include <algorithm>
#include <vector>

#include "kernels/core.h"
#include "runtime/random.h"
#include "tests/harness/tolerance.h"

namespace fh::test::ops {

constexpr Tolerance kWarpF32{2e-6, 2e-6}, kWarpF64{1e-14, 1e-14};
constexpr Tolerance kWarpSrcF32{2e-5, 2e-5}, kWarpSrcF64{1e-12, 1e-12};
constexpr Tolerance kWarpSrcPiledF32{2e-3, 2e-5}, kWarpSrcPiledF64{1e-11, 1e-12};
constexpr Tolerance kWarpFlowF32{1e-4, 1e-5}, kWarpFlowF64{1e-12, 1e-12};
constexpr Tolerance kFusionF32{5e-6, 5e-6}, kFusionF64{1e-14, 1e-13};
constexpr Tolerance kFusionMF32{1e-4, 1e-5}, kFusionMF64{1e-12, 1e-12};

// Flows for the device comparison, over an image's N, H, W:
//   motion:   small displacements, uniform in [-3, 3];
//   far:      up to twice the image size, most samples clamped to a border;
//   integer:  whole pixels (weights exactly 0 and 1, samples on the border);
//   collapse: every pixel pulled to (nearly) one point, so a few source pixels receive
//             contributions from the whole image.
enum class FlowKind { Motion, Far, Integer, Collapse };
inline const char* const kFlowNames[] = {"motion", "far", "integer", "collapse"};

inline Tensor device_flow(FlowKind kind, const Shape& s, Generator& gen, DType t) {
  const int64_t N = s[0], H = s[1], W = s[2];
  const double size = static_cast<double>(std::max(H, W));
  switch (kind) {
    case FlowKind::Motion: return rand(s, gen, -3.0, 3.0, DType::F64).to(t);
    case FlowKind::Far: return rand(s, gen, -2.0 * size, 2.0 * size, DType::F64).to(t);
    case FlowKind::Integer: return kernels::cast(kernels::cast(rand(s, gen, -4.0, 4.0, DType::F64), DType::I64), t);
    case FlowKind::Collapse: {
      // flow(y, x) = (cx - x, cy - y) + a little noise: everything samples near (cx, cy).
      const std::vector<double> e = rand(s, gen, -0.25, 0.25, DType::F64).to_vector<double>();
      std::vector<double> v(e.size());
      const double cx = 0.37 * static_cast<double>(W - 1), cy = 0.61 * static_cast<double>(H - 1);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t y = 0; y < H; ++y)
          for (int64_t x = 0; x < W; ++x) {
            const size_t i = static_cast<size_t>(((n * H + y) * W + x) * 2);
            v[i] = cx - static_cast<double>(x) + e[i];
            v[i + 1] = cy - static_cast<double>(y) + e[i + 1];
          }
      return Tensor::from_vector<double>(v, s).to(t);
    }
  }
  return Tensor();
}

// Warped tensors of the generator at tiny, small and paper sizes (the image, flows, the
// encoder features h1-h3; batch 1 and 2) and odd shapes (one pixel, one row or column, odd
// sizes, channels off the vector width).
inline std::vector<Shape> warp_device_shapes() {
  return {Shape{1, 64, 64, 3},   Shape{2, 64, 64, 8},    Shape{2, 32, 32, 32},  Shape{1, 16, 16, 128},
          Shape{2, 128, 128, 3}, Shape{1, 128, 128, 16}, Shape{2, 64, 64, 64},  Shape{1, 32, 32, 256},
          Shape{1, 256, 256, 3}, Shape{1, 256, 256, 32}, Shape{1, 64, 64, 512}, Shape{1, 1, 1, 1},
          Shape{2, 1, 7, 3},     Shape{1, 5, 1, 2},      Shape{2, 9, 13, 5},    Shape{1, 31, 17, 33}};
}

inline constexpr FlowKind kFlowKinds[] = {FlowKind::Motion, FlowKind::Far, FlowKind::Integer, FlowKind::Collapse};

}  // namespace fh::test::ops
