// The normalisation family's CUDA kernels against their CPU twins: batch norm (training with
// running statistics, eval), instance norm and the fused SPADE modulation, forward and every
// gradient, float32 and float64, at the generator's shapes and odd ones.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "kernels/norm.h"
#include "tests/cuda/cuda_test_util.h"

using fh::DType;
using fh::Shape;
using fh::Tensor;
namespace kernels = fh::kernels;
using namespace fh::cuda_test;

namespace {

// Both sides sum the statistics in double in different orders (rarely a 1-ulp difference
// once rounded to float) and nvcc fuses (x - mean)·scale + shift into one rounding: outputs
// of unit size agree to a few float ulp.
constexpr fh::test::Tolerance kNormF32{1e-5, 1e-5};
constexpr fh::test::Tolerance kNormF64{1e-12, 1e-12};
// Parameter gradients are sums over N·H·W terms (double on both sides, different orders);
// their size grows like √(N·H·W), hence the relative term.
constexpr fh::test::Tolerance kParamGradF32{1e-4, 1e-5};
constexpr fh::test::Tolerance kParamGradF64{1e-10, 1e-11};

// NHWC images: the generator's normalised activations at the tiny, small and paper sizes
// (batch 1 and 2, paper at batch 1), E_can/E_gaze-like maps, and odd shapes (three pixels,
// channels not a multiple of 32 or of the vector width, more channels than one tile).
// Three pixels rather than two: with two, x̂ = ±1 whatever x, grad_x is pure cancellation
// and a close pair makes invstd (and the rounding it amplifies) arbitrarily large.
std::vector<Shape> image_shapes() {
  return {Shape{1, 64, 64, 8},   Shape{2, 32, 32, 32},  Shape{2, 16, 16, 128}, Shape{1, 128, 128, 16},
          Shape{2, 64, 64, 64},  Shape{2, 32, 32, 256}, Shape{1, 64, 64, 512}, Shape{1, 256, 256, 32},
          Shape{1, 3, 1, 1},     Shape{2, 1, 3, 3},     Shape{3, 5, 7, 33},    Shape{2, 9, 11, 300},
          Shape{1, 3, 3, 257},   Shape{4, 8, 8, 6}};
}

// A shifted, scaled input: the statistics must not lose digits to a large mean.
Tensor image(const Shape& s, DType t) { return random(s, t, 3.0, 2.0); }

}  // namespace

TEST_CASE("instance norm forward and backward match the CPU") {
  for (DType t : kFloatDTypes) {
    const fh::test::Tolerance tol = pick(t, kNormF32, kNormF64), ptol = pick(t, kParamGradF32, kParamGradF64);
    for (const Shape& s : image_shapes()) {
      for (bool affine : {true, false}) {
        const std::string name = label(affine ? "instance_norm affine" : "instance_norm", s, t);
        const Tensor x = image(s, t);
        const Tensor w = affine ? random({s[3]}, t) : Tensor(), b = affine ? random({s[3]}, t) : Tensor();
        const kernels::NormForward cpu = kernels::instance_norm2d(x, w, b, 1e-5);
        const Tensor gw = affine ? w.to(kGpu) : Tensor(), gb = affine ? b.to(kGpu) : Tensor();
        const kernels::NormForward gpu = kernels::instance_norm2d(x.to(kGpu), gw, gb, 1e-5);
        FH_CHECK_CLOSE(gpu.out, cpu.out, tol, name);
        FH_CHECK_CLOSE(gpu.mean, cpu.mean, tol, name + " mean");
        FH_CHECK_CLOSE(gpu.invstd, cpu.invstd, tol, name + " invstd");
        const Tensor g = random(s, t);
        const kernels::NormGrads cg =
            kernels::instance_norm2d_backward(g, x, w, cpu.mean, cpu.invstd, true, affine, affine);
        const kernels::NormGrads gg = kernels::instance_norm2d_backward(g.to(kGpu), x.to(kGpu), gw, cpu.mean.to(kGpu),
                                                                        cpu.invstd.to(kGpu), true, affine, affine);
        FH_CHECK_CLOSE(gg.x, cg.x, tol, name + " grad x");
        if (affine) {
          FH_CHECK_CLOSE(gg.weight, cg.weight, ptol, name + " grad weight");
          FH_CHECK_CLOSE(gg.bias, cg.bias, ptol, name + " grad bias");
          // Parameter gradients alone (no grad_x pass).
          const kernels::NormGrads only = kernels::instance_norm2d_backward(
              g.to(kGpu), x.to(kGpu), gw, cpu.mean.to(kGpu), cpu.invstd.to(kGpu), false, true, true);
          CHECK_FALSE(only.x.defined());
          FH_CHECK_CLOSE(only.weight, cg.weight, ptol, name + " grad weight alone");
        }
      }
    }
  }
}

TEST_CASE("batch norm in training mode matches the CPU, running statistics included") {
  for (DType t : kFloatDTypes) {
    const fh::test::Tolerance tol = pick(t, kNormF32, kNormF64), ptol = pick(t, kParamGradF32, kParamGradF64);
    std::vector<Shape> shapes = image_shapes();
    shapes.push_back(Shape{3, 1, 1, 5});
    if (t == DType::F64) shapes.push_back(Shape{2, 1, 1, 5});  // N·H·W = 2, the least training allows
    shapes.push_back(Shape{8, 32, 32, 64});
    for (const Shape& s : shapes) {
      const std::string name = label("batch_norm training", s, t);
      const Tensor x = image(s, t), w = random({s[3]}, t), b = random({s[3]}, t);
      Tensor rm_cpu = random({s[3]}, t), rv_cpu = fh::rand({s[3]}, gen(), 0.5, 2.0, t);
      Tensor rm_gpu = rm_cpu.to(kGpu), rv_gpu = rv_cpu.to(kGpu);
      kernels::BatchNormParams p;
      p.momentum = 0.1;
      const kernels::NormForward cpu = kernels::batch_norm2d(x, w, b, rm_cpu, rv_cpu, p);
      const kernels::NormForward gpu = kernels::batch_norm2d(x.to(kGpu), w.to(kGpu), b.to(kGpu), rm_gpu, rv_gpu, p);
      FH_CHECK_CLOSE(gpu.out, cpu.out, tol, name);
      FH_CHECK_CLOSE(gpu.mean, cpu.mean, tol, name + " mean");
      FH_CHECK_CLOSE(gpu.invstd, cpu.invstd, tol, name + " invstd");
      FH_CHECK_CLOSE(rm_gpu, rm_cpu, tol, name + " running mean");
      FH_CHECK_CLOSE(rv_gpu, rv_cpu, tol, name + " running var");
      const Tensor g = random(s, t);
      const kernels::NormGrads cg = kernels::batch_norm2d_backward(g, x, w, cpu.mean, cpu.invstd, true, true, true, true);
      const kernels::NormGrads gg = kernels::batch_norm2d_backward(g.to(kGpu), x.to(kGpu), w.to(kGpu),
                                                                   cpu.mean.to(kGpu), cpu.invstd.to(kGpu), true, true,
                                                                   true, true);
      FH_CHECK_CLOSE(gg.x, cg.x, tol, name + " grad x");
      FH_CHECK_CLOSE(gg.weight, cg.weight, ptol, name + " grad weight");
      FH_CHECK_CLOSE(gg.bias, cg.bias, ptol, name + " grad bias");
    }
  }
}

TEST_CASE("batch norm in eval mode matches the CPU") {
  for (DType t : kFloatDTypes) {
    const fh::test::Tolerance tol = pick(t, kNormF32, kNormF64), ptol = pick(t, kParamGradF32, kParamGradF64);
    for (const Shape& s : {Shape{1, 1, 1, 3}, Shape{2, 16, 16, 32}, Shape{3, 7, 5, 33}, Shape{1, 64, 64, 512}}) {
      for (bool affine : {true, false}) {
        const std::string name = label(affine ? "batch_norm eval affine" : "batch_norm eval", s, t);
        const Tensor x = image(s, t);
        const Tensor w = affine ? random({s[3]}, t) : Tensor(), b = affine ? random({s[3]}, t) : Tensor();
        const Tensor rm = random({s[3]}, t), rv = fh::rand({s[3]}, gen(), 0.5, 2.0, t);
        kernels::BatchNormParams p;
        p.training = false;
        const kernels::NormForward cpu = kernels::batch_norm2d(x, w, b, rm, rv, p);
        const Tensor gw = affine ? w.to(kGpu) : Tensor(), gb = affine ? b.to(kGpu) : Tensor();
        const kernels::NormForward gpu = kernels::batch_norm2d(x.to(kGpu), gw, gb, rm.to(kGpu), rv.to(kGpu), p);
        FH_CHECK_CLOSE(gpu.out, cpu.out, tol, name);
        FH_CHECK_CLOSE(gpu.invstd, cpu.invstd, tol, name + " invstd");
        const Tensor g = random(s, t);
        // Eval backward: the statistics are constants; with and without parameter gradients.
        for (bool params : {false, true}) {
          const bool want_params = params && affine;
          const kernels::NormGrads cg =
              kernels::batch_norm2d_backward(g, x, w, cpu.mean, cpu.invstd, false, true, want_params, want_params);
          const kernels::NormGrads gg =
              kernels::batch_norm2d_backward(g.to(kGpu), x.to(kGpu), gw, cpu.mean.to(kGpu), cpu.invstd.to(kGpu), false,
                                             true, want_params, want_params);
          FH_CHECK_CLOSE(gg.x, cg.x, tol, name + " grad x");
          if (want_params) {
            FH_CHECK_CLOSE(gg.weight, cg.weight, ptol, name + " grad weight");
            FH_CHECK_CLOSE(gg.bias, cg.bias, ptol, name + " grad bias");
          }
        }
      }
    }
  }
}

TEST_CASE("SPADE modulation forward and backward match the CPU") {
  for (DType t : kFloatDTypes) {
    const fh::test::Tolerance tol = pick(t, kNormF32, kNormF64);
    for (const Shape& s : image_shapes()) {
      const std::string name = label("spade_modulation", s, t);
      const Tensor x = image(s, t), gamma = random(s, t, 0.0, 0.5), beta = random(s, t);
      const kernels::NormForward cpu = kernels::spade_modulation(x, gamma, beta, 1e-5);
      const kernels::NormForward gpu = kernels::spade_modulation(x.to(kGpu), gamma.to(kGpu), beta.to(kGpu), 1e-5);
      FH_CHECK_CLOSE(gpu.out, cpu.out, tol, name);
      FH_CHECK_CLOSE(gpu.mean, cpu.mean, tol, name + " mean");
      FH_CHECK_CLOSE(gpu.invstd, cpu.invstd, tol, name + " invstd");
      const Tensor g = random(s, t);
      const Tensor gx = x.to(kGpu), ggamma = gamma.to(kGpu), gmean = cpu.mean.to(kGpu), ginv = cpu.invstd.to(kGpu);
      // Every combination of wanted gradients exercises a different kernel path.
      for (int want = 1; want < 8; ++want) {
        const bool want_x = want & 1, want_gamma = want & 2, want_beta = want & 4;
        const kernels::SpadeGrads cg =
            kernels::spade_modulation_backward(g, x, gamma, cpu.mean, cpu.invstd, want_x, want_gamma, want_beta);
        const kernels::SpadeGrads gg = kernels::spade_modulation_backward(g.to(kGpu), gx, ggamma, gmean, ginv, want_x,
                                                                          want_gamma, want_beta);
        const std::string which = name + " grads " + std::to_string(want);
        CHECK(gg.x.defined() == want_x);
        CHECK(gg.gamma.defined() == want_gamma);
        CHECK(gg.beta.defined() == want_beta);
        if (want_x) FH_CHECK_CLOSE(gg.x, cg.x, tol, which + " x");
        if (want_gamma) FH_CHECK_CLOSE(gg.gamma, cg.gamma, tol, which + " gamma");
        if (want_beta) FH_CHECK_CLOSE(gg.beta, cg.beta, tol, which + " beta");
      }
    }
  }
}

TEST_CASE("normalisation kernels are bit-identical across two runs") {
  const Tensor x = image({2, 64, 64, 128}, DType::F32).to(kGpu), g = random({2, 64, 64, 128}).to(kGpu);
  const Tensor gamma = random({2, 64, 64, 128}).to(kGpu), beta = random({2, 64, 64, 128}).to(kGpu);
  const Tensor w = random({128}).to(kGpu), b = random({128}).to(kGpu);
  auto spade = [&] {
    const kernels::NormForward f = kernels::spade_modulation(x, gamma, beta, 1e-5);
    const kernels::SpadeGrads s = kernels::spade_modulation_backward(g, x, gamma, f.mean, f.invstd, true, true, false);
    return std::vector<std::vector<unsigned char>>{bytes_of(f.out), bytes_of(f.invstd), bytes_of(s.x),
                                                   bytes_of(s.gamma)};
  };
  CHECK(spade() == spade());
  auto batch = [&] {
    const kernels::NormForward f = kernels::batch_norm2d(x, w, b, Tensor(), Tensor(), {});
    const kernels::NormGrads s = kernels::batch_norm2d_backward(g, x, w, f.mean, f.invstd, true, true, true, true);
    return std::vector<std::vector<unsigned char>>{bytes_of(f.out), bytes_of(s.x), bytes_of(s.weight),
                                                   bytes_of(s.bias)};
  };
  CHECK(batch() == batch());
}
