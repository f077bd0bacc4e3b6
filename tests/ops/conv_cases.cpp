// The conv family's cases: conv2d (NHWC input, [out, kh, kw, in] weights, optional bias) on
// the op's edges and random geometries, for the gradient check and PyTorch parity. Its
// device comparison and benchmarks run every backend (own kernels, cuDNN, TF32), which a
// table row does not say: tests/cuda/test_cuda_conv.cpp and benchmarks/bench_*conv.cpp.
//
// Tolerance against PyTorch: float32 sums of n unit-variance products have partial sums
// growing like √n, and each of the n additions rounds at that scale, so both sides err by
// up to about n·ε. The output sums K = kh·kw·Cin terms, the input gradient up to
// kh·kw·Cout, the weight gradient N·Ho·Wo (the float64 direct-loop test of test_conv.cpp
// pins correctness to 1e-11). Layers on the Winograd F(4x4) path add the transforms'
// rounding: their sums of Cin terms err like the direct path's 9·Cin terms times 94/9,
// about ten (test_conv_winograd.cpp derives the 94 from the transform matrices); the n·ε
// bound is a worst case typical errors stay far below, so 8 times it covers these layers.
// The input gradient of a 3x3 stride-1 pad-1 layer (a convolution with Cin and Cout
// swapped) and its weight gradient take the same path whenever the forward does.
#include <algorithm>

#include "autograd/conv.h"
#include "kernels/conv.h"
#include "kernels/cpu/conv_winograd.h"
#include "tests/harness/conv_reference.h"
#include "tests/ops/op_case.h"

namespace fh::test::ops {

namespace {

OpCase conv_case(const ConvGeometry& g, unsigned purposes) {
  OpCase c;
  c.op = "conv2d";
  c.args = g.args_json();
  c.variant = "k" + std::to_string(g.kh) + (g.kw == g.kh ? "" : "x" + std::to_string(g.kw)) + "s" +
              std::to_string(g.stride) + "p" + std::to_string(g.pad) + (g.bias ? "+bias" : "");
  Input x{g.input()}, w{g.weight()};
  x.nhwc = w.nhwc = true;  // [O, kh, kw, I] permutes to PyTorch's [O, I, kh, kw] like an image
  c.inputs = {x, w};
  if (g.bias) c.inputs.push_back(Input{{g.Cout}});
  c.nhwc_output = true;
  c.run = [g](const std::vector<Tensor>& in) {
    return conv2d(in[0], in[1], g.bias ? in[2] : Tensor(), g.stride, g.pad);
  };
  c.purposes = purposes;
  c.grad_max_elements = 300;
  const kernels::Conv2dParams p = kernels::conv2d_params("conv2d", g.input(), g.weight(), g.stride, g.pad);
  const double n =
      std::max<double>({double(g.kh * g.kw * g.Cin), double(g.kh * g.kw * g.Cout), double(p.N * p.Ho * p.Wo)});
  const double widen = kernels::cpu::winograd_tile(p) == 4 ? 8 : 1;
  c.torch_tol = {widen * std::max(1e-6, 2.5e-7 * n), widen * 1e-5};
  return c;
}

}  // namespace

void add_conv_cases(std::vector<OpCase>& t, Generator& gen) {
  for (const ConvGeometry& g : conv_edge_geometries()) t.push_back(conv_case(g, kGradcheck | kTorch));
  for (int trial = 0; trial < 10; ++trial) t.push_back(conv_case(random_conv_geometry(gen, 7, 3), kGradcheck));
  for (int trial = 0; trial < 16; ++trial) t.push_back(conv_case(random_conv_geometry(gen, 12, 9), kTorch));
  // Odd with stride 2 and several tiles; K = 576 (two weight-gradient blocks); the encoder's
  // 7x7 head, in small; a 1x1 shortcut.
  for (const ConvGeometry& g : {ConvGeometry{2, 33, 17, 40, 24, 3, 3, 2, 1, true},
                                ConvGeometry{1, 16, 16, 64, 96, 3, 3, 1, 1, true},
                                ConvGeometry{2, 32, 32, 6, 8, 7, 7, 1, 3, true},
                                ConvGeometry{1, 23, 23, 32, 16, 1, 1, 1, 0, false}})
    t.push_back(conv_case(g, kTorch));
  // E_can's first layer (3 channels, 7x7, stride 2, 8 outputs): the narrow path on windows
  // gathered into one run, zeros past every border, forward and both gradients.
  t.push_back(conv_case(ConvGeometry{2, 20, 18, 3, 8, 7, 7, 2, 3, true}, kGradcheck | kTorch));
}

}  // namespace fh::test::ops
