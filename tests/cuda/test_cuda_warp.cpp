// The warp family's CUDA kernels where the op table (tests/ops/warp_cases.cpp, driven by
// test_cuda_op_table.cpp) does not reach: non-finite flows, and the gradients' run-to-run
// determinism (the gradient to the source called directly and through autograd, the
// others); float32 and float64.
#include <doctest/doctest.h>

#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "autograd/warp.h"
#include "kernels/core.h"
#include "kernels/warp.h"
#include "tests/cuda/cuda_test_util.h"

using fh::DType;
using fh::Shape;
using fh::Tensor;
namespace kernels = fh::kernels;
using namespace fh::cuda_test;

namespace {

// warp: identical weights on both sides; nvcc fuses the four products and three sums into
// FMAs where the CPU may round each: a few float ulp of values of unit size.
constexpr fh::test::Tolerance kWarpF32{2e-6, 2e-6};
constexpr fh::test::Tolerance kWarpF64{1e-14, 1e-14};
// grad_src: a source pixel with few contributions adds the CPU's terms in the CPU's order
// (raster order of the output pixels); only FMA contraction differs, by about an ulp of a
// term per term.
constexpr fh::test::Tolerance kWarpSrcF32{2e-5, 2e-5};
constexpr fh::test::Tolerance kWarpSrcF64{1e-12, 1e-12};
// Flows that pile much of the image onto a few pixels (far: clamped to the borders;
// collapse) give those pixels thousands of terms, which the GPU adds by a tree: then the
// CPU's own sequential rounding dominates, growing like n·ulp(term) (~2e-4 for the 30000
// terms of a 256² collapse in float32), absolute even where the terms cancel.
constexpr fh::test::Tolerance kWarpSrcPiledF32{2e-3, 2e-5};
constexpr fh::test::Tolerance kWarpSrcPiledF64{1e-11, 1e-12};
// grad_flow: a dot product over the channels, in another order than the CPU's lanes, of
// differences of neighbouring pixels (cancellation): ~C ulp of the terms' size.
constexpr fh::test::Tolerance kWarpFlowF32{1e-4, 1e-5};
constexpr fh::test::Tolerance kWarpFlowF64{1e-12, 1e-12};
// Warped tensors of the generator at tiny, small and paper sizes (the image, flows, the
// encoder features h1-h3; batch 1 and 2) and odd shapes (one pixel, one row or column,
// odd sizes, channels off the vector width).
std::vector<Shape> warp_shapes() {
  return {Shape{1, 64, 64, 3},    Shape{2, 64, 64, 8},   Shape{2, 32, 32, 32},  Shape{1, 16, 16, 128},
          Shape{2, 128, 128, 3},  Shape{1, 128, 128, 16}, Shape{2, 64, 64, 64},  Shape{1, 32, 32, 256},
          Shape{1, 256, 256, 3},  Shape{1, 256, 256, 32}, Shape{1, 64, 64, 512}, Shape{1, 1, 1, 1},
          Shape{2, 1, 7, 3},      Shape{1, 5, 1, 2},     Shape{2, 9, 13, 5},    Shape{1, 31, 17, 33}};
}

// Flows of several kinds, each over `shape`'s N, H, W:
//   motion:   smooth-ish small displacements, uniform in [-3, 3];
//   far:      displacements up to twice the image size, most samples clamped to a border;
//   integer:  whole-pixel displacements (weights exactly 0 and 1, samples on the border);
//   collapse: every pixel pulled to (nearly) the same point, so a few source pixels receive
//             contributions from the whole image.
enum class FlowKind { Motion, Far, Integer, Collapse };

const char* flow_name(FlowKind k) {
  switch (k) {
    case FlowKind::Motion: return "motion";
    case FlowKind::Far: return "far";
    case FlowKind::Integer: return "integer";
    case FlowKind::Collapse: return "collapse";
  }
  return "?";
}

Tensor make_flow(FlowKind kind, const Shape& image, DType t) {
  const int64_t N = image[0], H = image[1], W = image[2];
  const Shape s{N, H, W, 2};
  switch (kind) {
    case FlowKind::Motion: return fh::rand(s, gen(), -3.0, 3.0, t);
    case FlowKind::Far: return fh::rand(s, gen(), -2.0 * static_cast<double>(std::max(H, W)),
                                        2.0 * static_cast<double>(std::max(H, W)), t);
    case FlowKind::Integer:
      return kernels::cast(kernels::cast(fh::rand(s, gen(), -4.0, 4.0, DType::F64), DType::I64), t);
    case FlowKind::Collapse: {
      // flow(y, x) = (cx - x, cy - y) + a little noise: everything samples near (cx, cy).
      std::vector<double> v(static_cast<size_t>(s.numel()));
      const Tensor noise = fh::rand(s, gen(), -0.25, 0.25, DType::F64);
      const double* e = noise.data<double>();
      const double cx = 0.37 * static_cast<double>(W - 1), cy = 0.61 * static_cast<double>(H - 1);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t y = 0; y < H; ++y)
          for (int64_t x = 0; x < W; ++x) {
            const int64_t i = ((n * H + y) * W + x) * 2;
            v[i] = cx - static_cast<double>(x) + e[i];
            v[i + 1] = cy - static_cast<double>(y) + e[i + 1];
          }
      return Tensor::from_vector<double>(v, s).to(t);
    }
  }
  return Tensor();
}

const FlowKind kFlowKinds[] = {FlowKind::Motion, FlowKind::Far, FlowKind::Integer, FlowKind::Collapse};

}  // namespace

TEST_CASE("warp with NaN and infinite flows matches the CPU") {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  for (DType t : kFloatDTypes) {
    const Shape s{1, 4, 5, 3};
    Tensor flow = make_flow(FlowKind::Motion, s, DType::F64);
    double* f = flow.data<double>();
    f[0] = nan;       // pixel (0, 0): NaN dx
    f[7] = inf;       // pixel (0, 3): +inf dy
    f[12] = -inf;     // pixel (1, 1): -inf dx
    f[25] = 1e30;     // pixel (2, 2): huge dy
    flow = flow.to(t);
    const Tensor src = random(s, t), g = random(s, t);
    const std::string name = label("warp with non-finite flows", s, t);
    FH_CHECK_CLOSE(kernels::warp(src.to(kGpu), flow.to(kGpu)), kernels::warp(src, flow), pick(t, kWarpF32, kWarpF64),
                   name);
    FH_CHECK_CLOSE(kernels::warp_backward_src(flow.to(kGpu), g.to(kGpu)), kernels::warp_backward_src(flow, g),
                   pick(t, kWarpSrcF32, kWarpSrcF64), name + " grad src");
    FH_CHECK_CLOSE(kernels::warp_backward_flow(src.to(kGpu), flow.to(kGpu), g.to(kGpu)),
                   kernels::warp_backward_flow(src, flow, g), pick(t, kWarpFlowF32, kWarpFlowF64), name + " grad flow");
  }
}

TEST_CASE("warp backward to the source is bit-identical across runs") {
  // Paper-size features with every kind of flow, the collapsing one above all: many output
  // pixels adding into the same source pixels is where an atomic scatter would reorder sums.
  // Float64 and odd shapes too: channels off the vector width (scalar gathers), a one-pixel
  // axis (segments along it do not exist), a single pixel, and a small image collapsed onto
  // one point (the heavy kernel with tens of thousands of terms).
  struct Case {
    Shape shape;
    DType dtype;
  };
  const Case cases[] = {{Shape{2, 256, 256, 32}, DType::F32}, {Shape{1, 64, 64, 512}, DType::F32},
                        {Shape{2, 128, 128, 3}, DType::F32},  {Shape{1, 128, 128, 16}, DType::F64},
                        {Shape{2, 64, 64, 3}, DType::F64},    {Shape{2, 31, 17, 5}, DType::F32},
                        {Shape{1, 1, 300, 8}, DType::F32},    {Shape{2, 300, 1, 3}, DType::F64},
                        {Shape{1, 1, 1, 4}, DType::F32},      {Shape{1, 200, 200, 6}, DType::F32}};
  for (const Case& c : cases) {
    for (FlowKind kind : kFlowKinds) {
      const Tensor flow = make_flow(kind, c.shape, c.dtype).to(kGpu), g = random(c.shape, c.dtype).to(kGpu);
      const std::vector<unsigned char> first = bytes_of(kernels::warp_backward_src(flow, g));
      const std::vector<unsigned char> second = bytes_of(kernels::warp_backward_src(flow, g));
      INFO(label(std::string("warp_backward_src, ") + flow_name(kind) + " flow,", c.shape, c.dtype));
      CHECK(first == second);
    }
  }
}

TEST_CASE("warp backward to the source through autograd is bit-identical across runs and matches the CPU") {
  // The path training takes: fh::warp on CUDA leaves, a loss, backward; the gradient to the
  // source computed twice from scratch (fresh graph, fresh scratch buffers) gives the same bits.
  for (DType t : kFloatDTypes) {
    for (const Shape& s : {Shape{2, 64, 64, 8}, Shape{1, 128, 128, 3}, Shape{2, 9, 13, 5}}) {
      for (FlowKind kind : kFlowKinds) {
        const Tensor src = random(s, t), flow = make_flow(kind, s, t), g = random(s, t);
        const auto grads = [&](const fh::Device& d) {
          Tensor x = src.to(d).requires_grad_(), f = flow.to(d).requires_grad_();
          fh::warp(x, f).backward(g.to(d));
          return std::make_pair(x.grad(), f.grad());
        };
        const auto [gx1, gf1] = grads(kGpu);
        const auto [gx2, gf2] = grads(kGpu);
        const auto [cx, cf] = grads(fh::Device::cpu());
        const std::string name = label(std::string("autograd warp, ") + flow_name(kind) + " flow,", s, t);
        INFO(name);
        CHECK(gx1.device() == kGpu);
        CHECK(bytes_of(gx1) == bytes_of(gx2));
        CHECK(bytes_of(gf1) == bytes_of(gf2));
        const bool piled = kind == FlowKind::Far || kind == FlowKind::Collapse;
        FH_CHECK_CLOSE(gx1, cx, piled ? pick(t, kWarpSrcPiledF32, kWarpSrcPiledF64) : pick(t, kWarpSrcF32, kWarpSrcF64),
                       name + " grad src");
        FH_CHECK_CLOSE(gf1, cf, pick(t, kWarpFlowF32, kWarpFlowF64), name + " grad flow");
      }
    }
  }
}

TEST_CASE("the other warp-family gradients are bit-identical across runs") {
  // Gradient to the flow and to the N-shot logits: sums over channels by shuffle trees.
  for (DType t : kFloatDTypes) {
    {
      const Shape s{2, 64, 64, 64};
      const Tensor src = random(s, t).to(kGpu), flow = make_flow(FlowKind::Motion, s, t).to(kGpu),
                   g = random(s, t).to(kGpu);
      INFO(label("warp_backward_flow", s, t));
      CHECK(bytes_of(kernels::warp_backward_flow(src, flow, g)) == bytes_of(kernels::warp_backward_flow(src, flow, g)));
    }
    {
      const Shape xs{1, 4, 64, 64, 33};
      const Tensor m = random({1, 4, 64, 64, 1}, t, 0.0, 2.0).to(kGpu), x = random(xs, t).to(kGpu),
                   go = random({1, 64, 64, 33}, t).to(kGpu);
      INFO(label("nshot_fusion_backward_m", xs, t));
      CHECK(bytes_of(kernels::nshot_fusion_backward_m(m, x, go)) ==
            bytes_of(kernels::nshot_fusion_backward_m(m, x, go)));
    }
  }
}
