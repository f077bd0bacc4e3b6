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
#include "tests/ops/warp_inputs.h"

using fh::DType;
using fh::Shape;
using fh::Tensor;
namespace kernels = fh::kernels;
using namespace fh::cuda_test;
using namespace fh::test::ops;

namespace {

// A flow of `kind` over the image `image`'s N, H, W (tests/ops/warp_inputs.h).
Tensor make_flow(FlowKind kind, const Shape& image, DType t) {
  return device_flow(kind, {image[0], image[1], image[2], 2}, gen(), t);
}

const char* flow_name(FlowKind kind) { return kFlowNames[static_cast<int>(kind)]; }

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
