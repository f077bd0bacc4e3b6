// The CUDA conv family against its CPU twin: conv2d, its input and weight gradients through
// every CUDA backend (own on CUDA cores, own on TF32 tensor cores, cuDNN float32 and TF32)
// at every convolution shape the networks have at `tiny` and `small`, plus odd ones; the
// linear layer (cuBLAS through matmul); and the autograd wiring on CUDA tensors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "autograd/conv.h"
#include "autograd/linear.h"
#include "kernels/conv.h"
#include "kernels/linear.h"
#include "kernels/conv_backend.h"
#include "kernels/core.h"
#include "runtime/random.h"
#if FH_WITH_CUDA
#include "kernels/cuda/cuda_kernels.h"
#endif
#include "runtime/tensor.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/harness/tolerance.h"

using fh::Device;
using fh::DType;
using fh::Shape;
using fh::Tensor;
using fh::kernels::ConvBackend;
namespace kernels = fh::kernels;
using namespace fh::cuda_test;

namespace {

// ---- The convolutions of the networks ----------------------------------------------------------

struct ConvShape {
  int64_t H, W, Cin, Cout, k, stride, pad;
  auto key() const { return std::tie(H, W, Cin, Cout, k, stride, pad); }
  bool operator<(const ConvShape& o) const { return key() < o.key(); }
  std::string str() const {
    return std::to_string(H) + "x" + std::to_string(W) + "x" + std::to_string(Cin) + "->" + std::to_string(Cout) +
           " k" + std::to_string(k) + " s" + std::to_string(stride) + " p" + std::to_string(pad);
  }
};

int64_t conv_out(int64_t r, int64_t k, int64_t s, int64_t p) { return (r + 2 * p - k) / s + 1; }

// Every convolution of G, both discriminators, the key-point and gaze encoders and VGG19 at
// one configuration (docs/networks.md, whose sections list them): S image size, E eye-crop
// size, alpha encoder width multiplier, ngf, SPADE hidden width, ndf.
void network_convs(int64_t S, int64_t E, double alpha, int64_t ngf, int64_t hidden, int64_t ndf,
                   std::set<ConvShape>& out) {
  const auto add = [&](int64_t r, int64_t cin, int64_t cout, int64_t k, int64_t s, int64_t p) {
    out.insert({r, r, cin, cout, k, s, p});
    return conv_out(r, k, s, p);
  };
  // Generator: encoders (flow net 6 channels in, rendering net 3), SPADE, blocks, heads.
  for (int64_t cin : {6, 3}) add(S, cin, ngf, 7, 1, 3);
  add(S, ngf, 4 * ngf, 3, 2, 1);
  add(S / 2, 4 * ngf, 16 * ngf, 3, 2, 1);
  const std::pair<int64_t, int64_t> levels[] = {{S / 4, 16 * ngf}, {S / 2, 4 * ngf}, {S, ngf}};
  for (const auto& [r, c] : levels) {
    add(r, 3, hidden, 3, 1, 1);  // mlp_shared of a sketch or image label
    add(r, c, hidden, 3, 1, 1);  // mlp_shared of a feature label (rendering net)
    add(r, hidden, c, 3, 1, 1);  // mlp_gamma / mlp_beta
    add(r, c, c, 3, 1, 1);       // SPADEResBlock conv_0 / conv_1
  }
  for (int64_t cout : {2, 1, 3}) add(S, ngf, cout, 7, 1, 3);
  // PatchGAN discriminators, two scales each: image (6 channels at S) and mouth (3 at S/4).
  for (const auto& [r0, cin] : {std::pair<int64_t, int64_t>{S, 6}, {S / 4, 3}}) {
    int64_t r = r0;
    for (int scale = 0; scale < 2; ++scale) {
      int64_t q = add(r, cin, ndf, 4, 2, 2);
      q = add(q, ndf, 2 * ndf, 4, 2, 2);
      q = add(q, 2 * ndf, 4 * ndf, 4, 2, 2);
      q = add(q, 4 * ndf, 8 * ndf, 4, 1, 2);
      add(q, 8 * ndf, 1, 4, 1, 2);
      r = conv_out(r, 3, 2, 1);  // avg_pool2d(3, 2, 1) to the next scale
    }
  }
  // KeypointNet: stem and ResBottlenecks (mid = cout / 4), widths times alpha.
  const auto w = [&](int64_t c) { return std::max<int64_t>(1, static_cast<int64_t>(c * alpha)); };
  int64_t r = add(S, 3, w(32), 7, 2, 3);
  int64_t cin = w(32);
  for (const auto& [cout, s] : {std::pair<int64_t, int64_t>{64, 2}, {64, 1}, {128, 2}, {128, 1}, {256, 2}, {256, 1},
                                {512, 2}, {512, 1}}) {
    const int64_t c = w(cout), mid = c / 4;
    add(r, cin, mid, 1, 1, 0);
    const int64_t r2 = add(r, mid, mid, 3, s, 1);
    add(r2, mid, c, 1, 1, 0);
    if (cin != c || s != 1) add(r, cin, c, 1, s, 0);
    r = r2, cin = c;
  }
  // GazeNet: ResNet-34 (basic blocks 3, 4, 6, 3) and the neck.
  r = add(E, 3, w(64), 7, 2, 3);
  r = conv_out(r, 3, 2, 1);  // max pool
  cin = w(64);
  for (const auto& [c, s] : {std::pair<int64_t, int64_t>{64, 1}, {128, 2}, {256, 2}, {512, 2}}) {
    const int64_t cw = w(c);
    const int64_t r2 = add(r, cin, cw, 3, s, 1);
    add(r2, cw, cw, 3, 1, 1);
    if (cin != cw || s != 1) add(r, cin, cw, 1, s, 0);
    r = r2, cin = cw;
  }
  add(r, cin, cin, 3, 2, 1);
  // VGG19 (torchvision widths, not scaled).
  const std::tuple<int64_t, int64_t, int64_t> vgg[] = {{S, 3, 64},          {S, 64, 64},          {S / 2, 64, 128},
                                                       {S / 2, 128, 128},   {S / 4, 128, 256},    {S / 4, 256, 256},
                                                       {S / 8, 256, 512},   {S / 8, 512, 512},    {S / 16, 512, 512}};
  for (const auto& [vr, vi, vo] : vgg) add(vr, vi, vo, 3, 1, 1);
}

std::vector<ConvShape> network_shapes() {
  std::set<ConvShape> s;
  network_convs(64, 32, 0.25, 8, 32, 16, s);    // tiny
  network_convs(128, 64, 0.5, 16, 64, 32, s);   // small
  return {s.begin(), s.end()};
}

// Odd sizes the networks do not have: non-square, primes, a channel count of 1, a kernel
// smaller than its stride, padding wider than the kernel's reach, a 1x1 output.
const ConvShape kOddShapes[] = {
    {7, 5, 3, 5, 3, 1, 1},   {13, 11, 1, 7, 3, 2, 1}, {9, 14, 5, 1, 7, 1, 3},   {11, 9, 7, 3, 2, 3, 1},
    {6, 7, 17, 9, 4, 2, 2},  {5, 5, 33, 65, 5, 1, 4}, {3, 3, 129, 130, 3, 1, 0}, {8, 8, 3, 4, 1, 2, 0},
    {17, 3, 2, 2, 3, 2, 1},  {1, 1, 8, 3, 1, 1, 0},
};

// ---- Tolerances -----------------------------------------------------------------------------------
// Each output is a sum of K products whose factors have standard deviations sa and sb, so its
// typical size is scale = sqrt(K)·sa·sb. Two float32 summation orders differ by a random walk
// of K roundings of partial sums of that size: about u·scale·sqrt(K/3), u = 2^-24; we allow
// 8·u·sqrt(K)·scale (14 standard deviations). TF32 rounds every input to 10 mantissa bits
// (relative error up to 2^-11, uniform), which puts an error of about 2^-11·0.8·scale on the
// sum whatever K is; we allow 8·2^-11·scale on top. cuDNN may pick Winograd or FFT
// algorithms, whose float32 rounding is not that of a direct sum; 1e-4·scale covers them.
enum class Precision { F32, TF32, CudnnF32, F64 };

fh::test::Tolerance conv_tolerance(double K, double sa, double sb, Precision p) {
  const double scale = std::sqrt(K) * sa * sb;
  const double u = p == Precision::F64 ? std::ldexp(1.0, -53) : std::ldexp(1.0, -24);
  double atol = 8.0 * u * std::sqrt(K) * scale;
  if (p == Precision::TF32) atol += 8.0 * std::ldexp(1.0, -11) * scale;
  if (p == Precision::CudnnF32) atol = std::max(atol, 1e-4 * scale);
  return {atol, 0.0};
}

struct Backend {
  ConvBackend backend;
  Precision precision;
};

std::vector<Backend> backends() {
  std::vector<Backend> b = {{ConvBackend::Own, Precision::F32}, {ConvBackend::OwnTensorCores, Precision::TF32}};
  if (kernels::conv_backend_available(ConvBackend::Cudnn)) {
    b.push_back({ConvBackend::Cudnn, Precision::CudnnF32});
    b.push_back({ConvBackend::CudnnTensorCores, Precision::TF32});
  }
  return b;
}

// Inputs scaled like a trained layer's: x and grad_out unit normal, weights 1/sqrt(fan-in).
struct ConvInputs {
  Tensor x, w, bias, grad_out;
  double sw;
};

ConvInputs conv_inputs(int64_t N, const ConvShape& c, DType t) {
  ConvInputs in;
  const double fan_in = static_cast<double>(c.k * c.k * c.Cin);
  in.sw = 1.0 / std::sqrt(fan_in);
  in.x = random({N, c.H, c.W, c.Cin}, t);
  in.w = random({c.Cout, c.k, c.k, c.Cin}, t, 0.0, in.sw);
  in.bias = random({c.Cout}, t);
  in.grad_out = random({N, conv_out(c.H, c.k, c.stride, c.pad), conv_out(c.W, c.k, c.stride, c.pad), c.Cout}, t);
  return in;
}

// The three ops of one shape through each backend, against the CPU (computed once).
void check_conv(int64_t N, const ConvShape& c, DType t, const std::vector<Backend>& list) {
  const ConvInputs in = conv_inputs(N, c, t);
  const Tensor gx = in.x.to(kGpu), gw = in.w.to(kGpu), gb = in.bias.to(kGpu), gg = in.grad_out.to(kGpu);
  const Tensor y = kernels::conv2d(in.x, in.w, in.bias, c.stride, c.pad);
  const Tensor dx = kernels::conv2d_backward_input(in.grad_out, in.w, in.x.shape(), c.stride, c.pad);
  const Tensor dw = kernels::conv2d_backward_weight(in.grad_out, in.x, in.w.shape(), c.stride, c.pad);
  const double k_fwd = static_cast<double>(c.k * c.k * c.Cin);
  // An input pixel gathers at most ceil(k/s)² taps of Cout channels.
  const double taps = std::ceil(static_cast<double>(c.k) / c.stride);
  const double k_in = taps * taps * c.Cout;
  const double k_w = static_cast<double>(in.grad_out.numel() / c.Cout);
  for (const Backend& b : list) {
    kernels::ConvBackendScope scope(b.backend);
    const std::string name = std::string(kernels::conv_backend_name(b.backend)) + " N" + std::to_string(N) + " " +
                             c.str() + " " + fh::dtype_name(t);
    FH_CHECK_CLOSE(kernels::conv2d(gx, gw, gb, c.stride, c.pad), y, conv_tolerance(k_fwd, 1.0, in.sw, b.precision),
                   "conv2d " + name);
    FH_CHECK_CLOSE(kernels::conv2d_backward_input(gg, gw, in.x.shape(), c.stride, c.pad), dx,
                   conv_tolerance(k_in, 1.0, in.sw, b.precision), "conv2d_backward_input " + name);
    FH_CHECK_CLOSE(kernels::conv2d_backward_weight(gg, gx, in.w.shape(), c.stride, c.pad), dw,
                   conv_tolerance(k_w, 1.0, 1.0, b.precision), "conv2d_backward_weight " + name);
  }
}

// Integer-valued tensors in [-4, 4]: every product and partial sum of the convolutions below
// is exact in float32 and in TF32.
Tensor integers(const Shape& shape) {
  const Tensor r = fh::rand(shape, gen(), -4.5, 4.5);
  std::vector<float> v = r.to_vector<float>();
  for (float& x : v) x = std::round(x);
  return Tensor::from_vector(v, shape);
}

}  // namespace

// ---- Every backend against the CPU -----------------------------------------------------------------

TEST_CASE("conv2d and its gradients match the CPU at every network shape, every backend") {
  const std::vector<ConvShape> shapes = network_shapes();
  MESSAGE(shapes.size() << " distinct convolution shapes in the networks at tiny and small");
  for (const ConvShape& c : shapes) check_conv(2, c, DType::F32, backends());
}

TEST_CASE("conv2d and its gradients match the CPU at odd shapes, batch 1 and 3, every backend") {
  for (const ConvShape& c : kOddShapes)
    for (int64_t n : {1, 3}) check_conv(n, c, DType::F32, backends());
}

TEST_CASE("float64 convolutions run the float64 kernels whatever the backend") {
  const ConvShape shapes[] = {{9, 7, 3, 5, 3, 1, 1}, {12, 12, 16, 8, 4, 2, 2}, {8, 8, 16, 32, 1, 2, 0},
                              {10, 11, 4, 2, 7, 1, 3}, {16, 16, 64, 64, 3, 1, 1}};
  for (const ConvShape& c : shapes)
    check_conv(2, c, DType::F64, {{ConvBackend::Own, Precision::F64}, {ConvBackend::OwnTensorCores, Precision::F64}});
}

TEST_CASE("own kernels are exact on integer inputs (float32 and TF32 alike)") {
  // Any misplaced tap, channel or fragment shows as a wrong integer, whatever the tolerance.
  const ConvShape shapes[] = {{16, 16, 8, 16, 3, 1, 1},  {17, 15, 6, 64, 4, 2, 2}, {32, 32, 32, 2, 7, 1, 3},
                              {12, 12, 24, 40, 1, 2, 0}, {9, 9, 130, 132, 3, 2, 1}, {8, 8, 3, 5, 7, 2, 3}};
  for (ConvBackend backend : {ConvBackend::Own, ConvBackend::OwnTensorCores}) {
    kernels::ConvBackendScope scope(backend);
    for (const ConvShape& c : shapes) {
      const Shape xs{2, c.H, c.W, c.Cin}, ws{c.Cout, c.k, c.k, c.Cin};
      const Tensor x = integers(xs), w = integers(ws), b = integers({c.Cout});
      const Tensor g = integers({2, conv_out(c.H, c.k, c.stride, c.pad), conv_out(c.W, c.k, c.stride, c.pad), c.Cout});
      const std::string name = std::string(kernels::conv_backend_name(backend)) + " " + c.str();
      INFO(name);
      CHECK(bytes_of(kernels::conv2d(x.to(kGpu), w.to(kGpu), b.to(kGpu), c.stride, c.pad)) ==
            bytes_of(kernels::conv2d(x, w, b, c.stride, c.pad)));
      CHECK(bytes_of(kernels::conv2d_backward_input(g.to(kGpu), w.to(kGpu), xs, c.stride, c.pad)) ==
            bytes_of(kernels::conv2d_backward_input(g, w, xs, c.stride, c.pad)));
      CHECK(bytes_of(kernels::conv2d_backward_weight(g.to(kGpu), x.to(kGpu), ws, c.stride, c.pad)) ==
            bytes_of(kernels::conv2d_backward_weight(g, x, ws, c.stride, c.pad)));
    }
  }
}

TEST_CASE("every conv backend is bit-identical across runs, weight gradient included") {
  const ConvShape shapes[] = {{64, 64, 32, 32, 3, 1, 1}, {64, 64, 32, 2, 7, 1, 3}, {33, 33, 16, 32, 4, 2, 2},
                              {16, 16, 128, 512, 3, 2, 1}};
  // cuDNN's backends count too: they take only algorithms cuDNN reports as deterministic.
  std::vector<ConvBackend> backends = {ConvBackend::Own, ConvBackend::OwnTensorCores};
  for (ConvBackend b : {ConvBackend::Cudnn, ConvBackend::CudnnTensorCores})
    if (kernels::conv_backend_available(b)) backends.push_back(b);
  for (ConvBackend backend : backends) {
    kernels::ConvBackendScope scope(backend);
    for (const ConvShape& c : shapes) {
      const ConvInputs in = conv_inputs(4, c, DType::F32);
      const Tensor gx = in.x.to(kGpu), gw = in.w.to(kGpu), gg = in.grad_out.to(kGpu);
      INFO(kernels::conv_backend_name(backend) << " " << c.str());
      CHECK(bytes_of(kernels::conv2d_backward_weight(gg, gx, in.w.shape(), c.stride, c.pad)) ==
            bytes_of(kernels::conv2d_backward_weight(gg, gx, in.w.shape(), c.stride, c.pad)));
      CHECK(bytes_of(kernels::conv2d_backward_input(gg, gw, in.x.shape(), c.stride, c.pad)) ==
            bytes_of(kernels::conv2d_backward_input(gg, gw, in.x.shape(), c.stride, c.pad)));
      CHECK(bytes_of(kernels::conv2d(gx, gw, Tensor(), c.stride, c.pad)) ==
            bytes_of(kernels::conv2d(gx, gw, Tensor(), c.stride, c.pad)));
    }
  }
}

TEST_CASE("cuDNN and own kernels agree on the GPU") {
  if (!kernels::conv_backend_available(ConvBackend::Cudnn)) {
    MESSAGE("[fh skip] this build has no cuDNN");
    return;
  }
  const ConvShape shapes[] = {{64, 64, 32, 128, 3, 2, 1}, {32, 32, 128, 128, 3, 1, 1}, {64, 64, 32, 3, 7, 1, 3},
                              {33, 33, 64, 128, 4, 2, 2}};
  for (const ConvShape& c : shapes) {
    const ConvInputs in = conv_inputs(2, c, DType::F32);
    const Tensor gx = in.x.to(kGpu), gw = in.w.to(kGpu), gb = in.bias.to(kGpu), gg = in.grad_out.to(kGpu);
    const auto run = [&](ConvBackend b) {
      kernels::ConvBackendScope scope(b);
      return std::make_tuple(kernels::conv2d(gx, gw, gb, c.stride, c.pad),
                             kernels::conv2d_backward_input(gg, gw, in.x.shape(), c.stride, c.pad),
                             kernels::conv2d_backward_weight(gg, gx, in.w.shape(), c.stride, c.pad));
    };
    const auto [own_y, own_dx, own_dw] = run(ConvBackend::Own);
    const auto [dnn_y, dnn_dx, dnn_dw] = run(ConvBackend::Cudnn);
    const double k_w = static_cast<double>(in.grad_out.numel() / c.Cout);
    FH_CHECK_CLOSE(dnn_y, own_y, conv_tolerance(c.k * c.k * c.Cin, 1.0, in.sw, Precision::CudnnF32), "forward " + c.str());
    FH_CHECK_CLOSE(dnn_dx, own_dx, conv_tolerance(c.k * c.k * c.Cout, 1.0, in.sw, Precision::CudnnF32),
                   "input gradient " + c.str());
    FH_CHECK_CLOSE(dnn_dw, own_dw, conv_tolerance(k_w, 1.0, 1.0, Precision::CudnnF32), "weight gradient " + c.str());
  }
}

TEST_CASE("an unusable conv request on the GPU is an error naming the op") {
  // Shapes beyond the 32-bit index range are refused before any launch.
  // Called on the backend directly with small stand-in tensors: the check comes before any
  // memory is touched, and the real tensors would not fit.
#if FH_WITH_CUDA
  const Tensor x = Tensor::empty({1, 1, 1, 1}, DType::F32, kGpu);
  const Tensor w = Tensor::empty({1, 1, 1, 1}, DType::F32, kGpu);
  const fh::kernels::Conv2dParams huge =
      fh::kernels::conv2d_params("test", Shape{70000, 200, 200, 1}, Shape{1, 1, 1, 1}, 1, 0);
  Tensor out = Tensor::empty({1, 1, 1, 1}, DType::F32, kGpu);
  for (ConvBackend backend : {ConvBackend::Own, ConvBackend::OwnTensorCores}) {
    kernels::ConvBackendScope scope(backend);
    CHECK_THROWS_WITH_AS(fh::kernels::cuda::conv2d(x, w, Tensor(), huge, out),
                         doctest::Contains("exceeds the 32-bit index range"), fh::Error);
  }
#endif
}

// ---- Autograd and linear on CUDA tensors -------------------------------------------------------------

TEST_CASE("autograd conv2d on CUDA tensors gives the CPU's gradients") {
  const ConvShape c{15, 13, 6, 10, 3, 2, 1};
  const ConvInputs in = conv_inputs(2, c, DType::F32);
  const auto grads = [&](const Device& d) {
    Tensor x = in.x.to(d).requires_grad_(), w = in.w.to(d).requires_grad_(), b = in.bias.to(d).requires_grad_();
    fh::conv2d(x, w, b, c.stride, c.pad).backward(in.grad_out.to(d));
    return std::make_tuple(x.grad(), w.grad(), b.grad());
  };
  kernels::ConvBackendScope scope(ConvBackend::Own);
  const auto [cx, cw, cb] = grads(Device::cpu());
  const auto [gx, gw, gb] = grads(kGpu);
  CHECK(gx.device() == kGpu);
  FH_CHECK_CLOSE(gx, cx, conv_tolerance(4 * c.Cout, 1.0, in.sw, Precision::F32), "autograd grad x");
  FH_CHECK_CLOSE(gw, cw, conv_tolerance(2 * 8 * 7, 1.0, 1.0, Precision::F32), "autograd grad w");
  FH_CHECK_CLOSE(gb, cb, conv_tolerance(2 * 8 * 7, 1.0, 1.0, Precision::F32), "autograd grad bias");
}

TEST_CASE("linear and its gradients on CUDA tensors match the CPU (cuBLAS, float32 and float64)") {
  // The networks' linear layers (key-point heads 512 -> 66/3/1/204, the gaze head) and odd sizes.
  const std::tuple<Shape, int64_t> cases[] = {{Shape{8, 512}, 66},  {Shape{8, 512}, 204}, {Shape{2, 512}, 1},
                                              {Shape{4, 2048}, 1446}, {Shape{2, 128}, 1446}, {Shape{3, 5, 7}, 9},
                                              {Shape{1, 1}, 1}};
  for (DType t : {DType::F32, DType::F64}) {
    const Precision precision = t == DType::F64 ? Precision::F64 : Precision::F32;
    for (const auto& [xs, out] : cases) {
      const int64_t in = xs[xs.size() - 1];
      const double sw = 1.0 / std::sqrt(double(in));
      const Tensor x = random(xs, t), w = random({out, in}, t, 0.0, sw), b = random({out}, t);
      Shape gs = xs;
      gs[gs.size() - 1] = out;
      const Tensor g = random(gs, t);
      const std::string name = label("linear", xs, Shape{out, in}, t);
      const double rows = static_cast<double>(x.numel() / in);
      FH_CHECK_CLOSE(kernels::linear(x.to(kGpu), w.to(kGpu), b.to(kGpu)), kernels::linear(x, w, b),
                     conv_tolerance(in, 1.0, sw, precision), name);
      FH_CHECK_CLOSE(kernels::linear_backward_input(g.to(kGpu), w.to(kGpu), xs),
                     kernels::linear_backward_input(g, w, xs), conv_tolerance(out, 1.0, sw, precision),
                     name + " grad input");
      FH_CHECK_CLOSE(kernels::linear_backward_weight(g.to(kGpu), x.to(kGpu)), kernels::linear_backward_weight(g, x),
                     conv_tolerance(rows, 1.0, 1.0, precision), name + " grad weight");
      FH_CHECK_CLOSE(kernels::linear_backward_bias(g.to(kGpu)), kernels::linear_backward_bias(g),
                     conv_tolerance(rows, 1.0, 1.0, precision), name + " grad bias");
    }
  }
}

TEST_CASE("conv2d_backward_bias matches the CPU at the networks' shapes") {
  // A sum over every pixel of every image per channel (reduce_sum's column strategy):
  // grad_out of the 7x7 heads, a SPADE conv at tiny, and a discriminator's last layers.
  for (DType t : {DType::F32, DType::F64}) {
    for (const Shape& s : {Shape{2, 64, 64, 3}, Shape{2, 64, 64, 1}, Shape{2, 16, 16, 128}, Shape{8, 35, 35, 1},
                           Shape{2, 9, 9, 256}, Shape{1, 1, 1, 5}}) {
      const Tensor g = random(s, t);
      const double rows = static_cast<double>(s[0] * s[1] * s[2]);
      FH_CHECK_CLOSE(kernels::conv2d_backward_bias(g.to(kGpu)), kernels::conv2d_backward_bias(g),
                     conv_tolerance(rows, 1.0, 1.0, t == DType::F64 ? Precision::F64 : Precision::F32),
                     label("conv2d_backward_bias", s, t));
    }
  }
}
