// The warp family's cases: bilinear warp by a flow, softmax-weighted N-shot fusion, pixel
// shuffle and unshuffle. Small problems take every check; the generator's sizes and flows
// of several kinds compare the devices; the benchmarks run the paper config's shapes.
//
// Tolerances, from the float32 arithmetic each op does (unit normals, so |values| < 5):
//  PyTorch (the oracle evaluates grid_sample in float64, tools/oracle/ops_warp.py):
//  - warp: freehead's bilinear weights are exact to half an ulp of 1 whatever the image size
//    (kernels/cpu/warp.cpp), so what remains is its rounding of a few products: about an ulp
//    of the output, atol 1e-6. The flow gradient sums C channels: atol 1e-6·√C. grad_src
//    sums every output pixel that sampled a source pixel, and flows far outside pile up to
//    H·W of them onto the border: atol 5e-7·√(H·W).
//  - nshot_fusion: softmax weights and a sum of M products, atol 5e-7; the m gradient is a
//    dot product over C channels less its weighted mean, atol 1e-6·√C.
//  - pixel shuffle / unshuffle only move values: exact.
//  CPU and GPU:
//  - warp: identical weights; nvcc fuses the four products and three sums into FMAs where
//    the CPU may round each: a few float ulp of values of unit size. grad_src adds the
//    CPU's terms in the CPU's order where a source pixel has few of them (FMA contraction
//    alone differs, about an ulp of a term per term); flows that pile much of the image onto
//    a few pixels (far, collapse, mixed) give those pixels thousands of terms, which the GPU
//    adds by a tree: then the CPU's sequential rounding dominates, growing like n·ulp(term)
//    (~2e-4 for the 30000 terms of a 256² collapse), absolute even where the terms cancel.
//    grad_flow: a dot product over the channels in another order than the CPU's lanes, of
//    differences of neighbouring pixels (cancellation): ~C ulp of the terms' size.
//  - nshot_fusion: the softmax weights go through exp and a division (up to ~6 float ulp
//    apart), which reach the output scaled by |x|; grad_m: dot products over up to 512
//    channels in another order (~n·ulp of the terms, absolute) less their weighted mean.
#include <cmath>

#include "autograd/warp.h"
#include "tests/harness/flow_inputs.h"
#include "tests/harness/random_inputs.h"
#include "tests/ops/op_case.h"
#include "tests/ops/warp_inputs.h"

namespace fh::test::ops {

namespace {

// Sizes in [1, max] with 1 and odd sizes common.
int64_t some_size(Generator& gen, int64_t max) { return rand_int(gen, 0, 3) == 0 ? 1 : rand_int(gen, 2, max); }

Input image(const Shape& s) {
  Input in{s};
  in.nhwc = true;
  return in;
}

OpCase warp_case(const Shape& s, Input flow, unsigned purposes, bool piled, const std::string& variant) {
  OpCase c;
  c.op = "warp";
  c.variant = variant;
  flow.shape = {s[0], s[1], s[2], 2};
  c.inputs = {image(s), flow};
  c.nhwc_output = true;
  c.run = [](const std::vector<Tensor>& x) { return warp(x[0], x[1]); };
  c.purposes = purposes;
  const double pixels = static_cast<double>(s[1] * s[2]), channels = static_cast<double>(s[3]);
  c.torch_tol = {1e-6, 1e-6};
  c.torch_grad_tol = {{5e-7 * std::sqrt(pixels), 2e-6}, {1e-6 * std::sqrt(channels), 2e-6}};
  c.device_exact = c.device_grads_exact = false;
  c.device_tol_f32 = kWarpF32, c.device_tol_f64 = kWarpF64;
  c.device_grad_tol_f32 = {piled ? kWarpSrcPiledF32 : kWarpSrcF32, kWarpFlowF32};
  c.device_grad_tol_f64 = {piled ? kWarpSrcPiledF64 : kWarpSrcF64, kWarpFlowF64};
  c.forward_work = [](const std::vector<Shape>& in, const Shape&) {
    const double el = elements(in[0]), px = static_cast<double>(in[0][0] * in[0][1] * in[0][2]);
    return Work{7.0 * el, 4.0 * (2.0 * el + 2.0 * px)};  // 4 products, 3 sums per element
  };
  c.backward_work = [](const std::vector<Shape>& in, const Shape&) {
    // grad_src: 4 multiply-adds per element; grad_flow: two corner-difference dot products,
    // 14 per element. Read src, the gradient, the flow; write both gradients.
    const double el = elements(in[0]), px = static_cast<double>(in[0][0] * in[0][1] * in[0][2]);
    return Work{22.0 * el, 4.0 * (3.0 * el + 4.0 * px)};
  };
  return c;
}

// A gradcheck/parity flow kept off pixel boundaries (tests/harness/flow_inputs.h).
Input boundary_safe_flow(FlowRange range) {
  Input in{{}, Values::Custom};
  in.custom = [range](const Shape& s, Generator& gen, DType t) { return random_flow(gen, s[0], s[1], s[2], range, t); };
  return in;
}

Input kind_flow(FlowKind kind) {
  Input in{{}, Values::Custom};
  in.custom = [kind](const Shape& s, Generator& gen, DType t) { return device_flow(kind, s, gen, t); };
  return in;
}

OpCase fusion_case(const Shape& x, unsigned purposes) {
  OpCase c;
  c.op = "nshot_fusion";
  c.inputs = {Input{{x[0], x[1], x[2], x[3], 1}, Values::Normal, 0, 2}, Input{x}};
  c.inputs[0].nhwc = c.inputs[1].nhwc = true;
  c.nhwc_output = true;  // [N, H, W, C]; the op permutes its 5-d inputs for PyTorch itself
  c.run = [](const std::vector<Tensor>& v) { return nshot_fusion(v[0], v[1]); };
  c.purposes = purposes;
  const Tolerance out_tol{5e-7, 1e-6}, m_tol{1e-6 * std::sqrt(static_cast<double>(x[4])), 1e-6};
  c.torch_tol = out_tol;
  c.torch_grad_tol = {m_tol, out_tol};
  c.device_exact = c.device_grads_exact = false;
  c.device_tol_f32 = kFusionF32, c.device_tol_f64 = kFusionF64;
  c.device_grad_tol_f32 = {kFusionMF32, kFusionF32};
  c.device_grad_tol_f64 = {kFusionMF64, kFusionF64};
  c.forward_work = [](const std::vector<Shape>& in, const Shape&) {
    const Shape& s = in[1];
    const double px = static_cast<double>(s[0] * s[2] * s[3]), mc = static_cast<double>(s[1] * s[4]);
    return Work{2.0 * mc * px, 4.0 * px * (mc + static_cast<double>(s[1]) + static_cast<double>(s[4]))};
  };
  c.backward_work = [](const std::vector<Shape>& in, const Shape&) {
    // grad_x: a product; grad_m: a dot product. Read m, x, the gradient; write both.
    const Shape& s = in[1];
    const double px = static_cast<double>(s[0] * s[2] * s[3]), mc = static_cast<double>(s[1] * s[4]);
    return Work{3.0 * mc * px, 4.0 * px * (2.0 * mc + static_cast<double>(s[4]) + 2.0 * static_cast<double>(s[1]))};
  };
  return c;
}

OpCase shuffle_case(bool unshuffle, int64_t r, const Shape& s, unsigned purposes) {
  OpCase c;
  c.op = unshuffle ? "pixel_unshuffle" : "pixel_shuffle";
  c.args = "{\"r\":" + std::to_string(r) + "}";
  c.variant = "r" + std::to_string(r);
  c.inputs = {image(s)};
  c.nhwc_output = true;
  c.run = [unshuffle, r](const std::vector<Tensor>& x) {
    return unshuffle ? pixel_unshuffle(x[0], r) : pixel_shuffle(x[0], r);
  };
  c.purposes = purposes;
  c.torch_tol = {1e-7, 0};
  c.torch_exact = true;  // moves values
  c.forward_work = c.backward_work = [](const std::vector<Shape>& in, const Shape&) {
    return Work{0, 8.0 * elements(in[0])};
  };
  return c;
}

}  // namespace

void add_warp_cases(std::vector<OpCase>& t, Generator& gen) {
  const FlowRange ranges[] = {FlowRange::Small, FlowRange::Image, FlowRange::Far, FlowRange::Mixed};
  const char* const range_names[] = {"small", "image", "far", "mixed"};
  for (int trial = 0; trial < 12; ++trial) {
    const Shape s{rand_int(gen, 1, 3), some_size(gen, 13), some_size(gen, 13), some_size(gen, 40)};
    const int k = trial % 4;
    t.push_back(warp_case(s, boundary_safe_flow(ranges[k]), kChecks, k >= 2, range_names[k]));
  }
  // One-pixel axes (every coordinate clamps: only the other axis interpolates), a single
  // channel, a long channel row with a lane tail, a larger image.
  for (const Shape& s : {Shape{1, 1, 9, 4}, Shape{2, 7, 1, 3}, Shape{3, 5, 8, 1}, Shape{1, 6, 5, 67}, Shape{2, 24, 31, 3},
                         Shape{1, 1, 5, 3}, Shape{2, 4, 1, 2}, Shape{1, 1, 1, 4}})
    t.push_back(warp_case(s, boundary_safe_flow(FlowRange::Mixed), kChecks, true, "mixed"));

  for (int trial = 0; trial < 8; ++trial) {
    const int64_t M = trial == 0 ? 1 : (trial == 1 ? 4 : rand_int(gen, 1, 5));
    t.push_back(fusion_case({rand_int(gen, 1, 2), M, some_size(gen, 9), some_size(gen, 9), some_size(gen, 40)}, kChecks));
  }
  t.push_back(fusion_case({1, 4, 7, 5, 32}, kChecks));

  for (int64_t r : {1, 2, 3}) {
    const int64_t N = rand_int(gen, 1, 2), H = some_size(gen, 7), W = some_size(gen, 7), C = some_size(gen, 9);
    t.push_back(shuffle_case(false, r, {N, H, W, C * r * r}, kChecks));
    t.push_back(shuffle_case(true, r, {N, H * r, W * r, C}, kChecks));
  }
  t.push_back(shuffle_case(false, 2, {1, 5, 3, 4 * 32}, kChecks));

  // The devices: warped tensors of the generator at tiny, small and paper sizes (the image,
  // flows, the encoder features h1-h3; batch 1 and 2) and odd shapes (one pixel, one row or
  // column, odd sizes, channels off the vector width), under every kind of flow.
  for (const Shape& s : warp_device_shapes()) {
    for (FlowKind kind : kFlowKinds) {
      const bool piled = kind == FlowKind::Far || kind == FlowKind::Collapse;
      t.push_back(warp_case(s, kind_flow(kind), kDevice, piled, kFlowNames[static_cast<int>(kind)]));
    }
  }
  // [N, M, H, W, C]: M = 1..4 sources of the image (C = 3) and of the features at the three
  // configs' sizes, and odd shapes.
  for (const Shape& s : {Shape{1, 4, 64, 64, 3}, Shape{2, 2, 64, 64, 8}, Shape{2, 4, 32, 32, 32},
                         Shape{1, 3, 16, 16, 128}, Shape{2, 4, 128, 128, 3}, Shape{1, 4, 64, 64, 64},
                         Shape{1, 4, 256, 256, 32}, Shape{1, 2, 64, 64, 512}, Shape{2, 1, 9, 7, 5}, Shape{1, 5, 1, 1, 1},
                         Shape{3, 6, 5, 3, 33}})
    t.push_back(fusion_case(s, kDevice));
  // The decoder's shuffles at every config and odd ones ([N, H, W, C·r²], the low side).
  for (const auto& [s, r] : std::vector<std::pair<Shape, int64_t>>{
           {{1, 64, 64, 512}, 2}, {{2, 128, 128, 128}, 2}, {{2, 16, 16, 128}, 2}, {{1, 32, 32, 32}, 2},
           {{1, 32, 32, 256}, 2}, {{2, 64, 64, 64}, 2},    {{1, 1, 1, 4}, 2},     {{2, 3, 5, 9}, 3},
           {{1, 7, 3, 12}, 2},    {{1, 2, 2, 7}, 1},       {{1, 3, 2, 32}, 4}})
    t.push_back(shuffle_case(false, r, s, kDevice));

  // The benchmarks (paper config, batch 1 and 8): the image and the three encoder features,
  // each warped at its own resolution by a head's motion (flows of a few pixels); M = 4
  // sources fused at the image resolution, 32 channels; the decoder's two ×2 shuffles
  // (512×64² -> 128×128², 128×128² -> 32×256²).
  for (int64_t n : {1, 8}) {
    for (const Shape& s : {Shape{n, 256, 256, 3}, Shape{n, 256, 256, 32}, Shape{n, 128, 128, 128}, Shape{n, 64, 64, 512}})
      t.push_back(warp_case(s, Input{{}, Values::Uniform, -3, 3}, kBench, false, "motion"));
    t.push_back(fusion_case({n, 4, 256, 256, 32}, kBench));
    t.push_back(shuffle_case(false, 2, {n, 64, 64, 512}, kBench));
    t.push_back(shuffle_case(false, 2, {n, 128, 128, 128}, kBench));
  }
}

}  // namespace fh::test::ops
