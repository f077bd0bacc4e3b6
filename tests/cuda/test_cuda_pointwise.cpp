// The pointwise family's CUDA kernels against their CPU twins: activations and clamps,
// softmax along every kind of axis, and the losses, forward and backward, float32 and float64,
// on fresh random inputs at the network's shapes and odd ones.
#include <doctest/doctest.h>

#include <limits>
#include <string>
#include <vector>

#include "kernels/pointwise.h"
#include "tests/cuda/cuda_test_util.h"

using fh::DType;
using fh::Shape;
using fh::Tensor;
using fh::kernels::ActivationOp;
using fh::kernels::ActivationParams;
using fh::kernels::LossOp;
namespace kernels = fh::kernels;
using namespace fh::cuda_test;

namespace {

// Activations: both sides call math functions within 2 ulp of the true value (CUDA's and
// the CPU's vectorised or libm ones), and nvcc fuses a·b + c into one rounding where the
// CPU may round twice (tanh' = 1 - y², |g|·ulp(1) absolute): a few ulp relative plus an
// absolute term of ~|g|·ulp(1).
constexpr fh::test::Tolerance kActivationF32{2e-6, 2e-6};
constexpr fh::test::Tolerance kActivationF64{1e-14, 1e-14};
// Softmax: the exps differ by a few ulp and the row sums are added in another order.
constexpr fh::test::Tolerance kSoftmaxF32{1e-6, 1e-5};
constexpr fh::test::Tolerance kSoftmaxF64{1e-15, 1e-13};
// Loss values: the GPU sums every term in double, the CPU sums runs of 32 float terms
// first (a relative error up to ~32 ulp of float in the worst case).
constexpr fh::test::Tolerance kLossF32{1e-7, 1e-5};
constexpr fh::test::Tolerance kLossF64{1e-15, 1e-12};
// Loss gradients: the same formula per element on both sides.
constexpr fh::test::Tolerance kLossGradF32{1e-8, 1e-6};
constexpr fh::test::Tolerance kLossGradF64{1e-17, 1e-14};

// Activation maps of the generator (tiny, small, paper sizes; batch 1 and 2) and odd shapes:
// empty-free sizes that are not multiples of the 16-byte vector, a scalar, a single element.
std::vector<Shape> activation_shapes() {
  return {Shape{},           Shape{1},           Shape{7},           Shape{3, 5, 1, 3},   Shape{1, 64, 64, 8},
          Shape{2, 32, 32, 32}, Shape{2, 16, 16, 128}, Shape{1, 128, 128, 16}, Shape{2, 64, 64, 64},
          Shape{1, 256, 256, 32}, Shape{1, 64, 64, 512}, Shape{2, 33, 17, 3}, Shape{1000003}};
}

struct ActivationCase {
  ActivationOp op;
  ActivationParams params;
};

std::vector<ActivationCase> activation_cases() {
  std::vector<ActivationCase> cases;
  auto add = [&](ActivationOp op, double slope = 0, double lo = 0, double hi = 0) {
    ActivationParams p;
    p.slope = slope;
    p.lo = lo;
    p.hi = hi;
    cases.push_back({op, p});
  };
  add(ActivationOp::LeakyRelu, 0.2);
  add(ActivationOp::Tanh);
  add(ActivationOp::Sigmoid);
  add(ActivationOp::Sqrt);
  add(ActivationOp::Sin);
  add(ActivationOp::Cos);
  add(ActivationOp::Acos);
  add(ActivationOp::Clamp, 0, -0.5, 0.7);
  add(ActivationOp::Clamp, 0, 0.3, -0.2);  // lo > hi: everything becomes hi, as in PyTorch
  add(ActivationOp::AcosClamped, 0, -0.8, 0.8);
  return cases;
}

// Inputs in the op's domain: positive for sqrt; within (-0.9, 0.9) for acos, whose derivative
// -1/√(1 - x²) amplifies the rounding of x² without bound near ±1.
Tensor activation_input(ActivationOp op, const Shape& s, DType t) {
  if (op == ActivationOp::Sqrt) return fh::rand(s, gen(), 0.01, 4.0, t);
  if (op == ActivationOp::Acos) return fh::rand(s, gen(), -0.9, 0.9, t);
  return random(s, t);
}

}  // namespace

TEST_CASE("activations and their gradients match the CPU") {
  for (DType t : kFloatDTypes) {
    const fh::test::Tolerance tol = pick(t, kActivationF32, kActivationF64);
    for (const ActivationCase& a : activation_cases()) {
      for (const Shape& s : activation_shapes()) {
        const std::string name = label(kernels::op_name(a.op), s, t);
        const Tensor x = activation_input(a.op, s, t);
        const Tensor y = kernels::activation(a.op, x, a.params);
        FH_CHECK_CLOSE(kernels::activation(a.op, x.to(kGpu), a.params), y, tol, name);
        const Tensor g = random(s, t);
        const Tensor saved = kernels::backward_reads_output(a.op) ? y : x;
        FH_CHECK_CLOSE(kernels::activation_backward(a.op, g.to(kGpu), saved.to(kGpu), a.params),
                       kernels::activation_backward(a.op, g, saved, a.params), tol, name + " backward");
      }
    }
  }
}

TEST_CASE("activations keep NaN and the clamp edges as the CPU does") {
  for (DType t : kFloatDTypes) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const Tensor x = Tensor::from_vector<double>({nan, -0.5, 0.7, -1.0, 1.0, 0.0, -0.0, 3.0}, {8}).to(t);
    const Tensor g = Tensor::from_vector<double>({1, 2, 3, 4, 5, 6, 7, 8}, {8}).to(t);
    for (const ActivationCase& a : activation_cases()) {
      if (a.op == ActivationOp::Sqrt || a.op == ActivationOp::Acos) continue;  // outside their domains
      const std::string name = label(kernels::op_name(a.op), x.shape(), t) + " at the edges";
      FH_CHECK_CLOSE(kernels::activation(a.op, x.to(kGpu), a.params), kernels::activation(a.op, x, a.params),
                     pick(t, kActivationF32, kActivationF64), name);
      const Tensor saved = kernels::backward_reads_output(a.op) ? kernels::activation(a.op, x, a.params) : x;
      FH_CHECK_CLOSE(kernels::activation_backward(a.op, g.to(kGpu), saved.to(kGpu), a.params),
                     kernels::activation_backward(a.op, g, saved, a.params), pick(t, kActivationF32, kActivationF64),
                     name + " backward");
    }
  }
}

TEST_CASE("softmax along every kind of axis matches the CPU") {
  struct Case {
    Shape shape;
    int64_t dim;
  };
  const std::vector<Case> cases = {
      {Shape{}, 0},               // a 0-d tensor: 1
      {Shape{1}, 0},              //
      {Shape{5}, 0},              // one short row
      {Shape{3, 4}, -1},          //
      {Shape{3, 4}, 0},           // an outer axis
      {Shape{2, 64, 64, 4}, -1},  // an image's channels (thread per row)
      {Shape{1, 256, 256, 4}, 3}, //
      {Shape{2, 4, 64, 64, 1}, 1},    // N-shot weights over M = 4 sources (columns)
      {Shape{1, 4, 256, 256, 1}, 1},  //
      {Shape{2, 1, 32, 32, 1}, 1},    // M = 1
      {Shape{2, 4, 64, 64}, -1},      // rows of 64 (warp per row)
      {Shape{7, 17}, -1},             // just over the thread-per-row limit
      {Shape{3, 1000}, -1},           // long rows
      {Shape{2, 70000}, 1},           // very long rows
      {Shape{5, 33, 7}, 1},           // an odd middle axis
      {Shape{8, 66}, -1},             // the key-point net's angle bins (warp per row)
      {Shape{1, 3, 64, 64, 1}, 1},    // N-shot weights over M = 3 sources at tiny
  };
  for (DType t : kFloatDTypes) {
    const fh::test::Tolerance tol = pick(t, kSoftmaxF32, kSoftmaxF64);
    for (const Case& c : cases) {
      const std::string name = label("softmax dim " + std::to_string(c.dim), c.shape, t);
      const Tensor x = random(c.shape, t, 0.0, 3.0);
      const Tensor y = kernels::softmax(x, c.dim);
      FH_CHECK_CLOSE(kernels::softmax(x.to(kGpu), c.dim), y, tol, name);
      const Tensor g = random(c.shape, t);
      FH_CHECK_CLOSE(kernels::softmax_backward(g.to(kGpu), y.to(kGpu), c.dim), kernels::softmax_backward(g, y, c.dim),
                     tol, name + " backward");
    }
  }
}

TEST_CASE("softmax of rows with -inf and large values matches the CPU") {
  const double inf = std::numeric_limits<double>::infinity();
  const Tensor x = Tensor::from_vector<double>({-inf, 0.0, 1.0, 1000.0, -inf, 2.0, 3.0, -1000.0}, {2, 4});
  for (DType t : kFloatDTypes) {
    const Tensor xt = x.to(t);
    for (int64_t dim : {0, 1}) {
      FH_CHECK_CLOSE(kernels::softmax(xt.to(kGpu), dim), kernels::softmax(xt, dim), pick(t, kSoftmaxF32, kSoftmaxF64),
                     label("softmax with infinities dim " + std::to_string(dim), x.shape(), t));
    }
  }
}

TEST_CASE("losses and their gradients match the CPU") {
  const LossOp ops[] = {LossOp::L1, LossOp::Mse, LossOp::HingeReal, LossOp::HingeFake, LossOp::HingeGenerator};
  // Images and discriminator maps of the three configs, and odd sizes (one element, a
  // length that is not a multiple of the vector width, several loss blocks).
  const Shape shapes[] = {Shape{1},           Shape{7},          Shape{2, 64, 64, 3},  Shape{1, 128, 128, 3},
                          Shape{2, 35, 35, 1}, Shape{1, 256, 256, 3}, Shape{8, 256, 256, 3}, Shape{3, 1, 1, 1},
                          Shape{1000003}};
  for (DType t : kFloatDTypes) {
    for (LossOp op : ops) {
      const bool binary = kernels::loss_is_binary(op);
      for (const Shape& s : shapes) {
        const std::string name = label(kernels::op_name(op), s, t);
        const Tensor a = random(s, t, 0.2, 1.5);  // hinge terms on both sides of their kink
        const Tensor b = binary ? random(s, t) : Tensor();
        const Tensor ga = a.to(kGpu), gb = binary ? b.to(kGpu) : Tensor();
        const Tensor value = kernels::loss(op, ga, gb);
        CHECK(value.device() == kGpu);
        FH_CHECK_CLOSE(value, kernels::loss(op, a, b), pick(t, kLossF32, kLossF64), name);
        const Tensor grad_out = Tensor::scalar(-1.75, t);
        const kernels::LossGrads cpu = kernels::loss_backward(op, grad_out, a, b, true, binary);
        const kernels::LossGrads gpu = kernels::loss_backward(op, grad_out.to(kGpu), ga, gb, true, binary);
        const fh::test::Tolerance gtol = pick(t, kLossGradF32, kLossGradF64);
        FH_CHECK_CLOSE(gpu.a, cpu.a, gtol, name + " grad a");
        if (binary) FH_CHECK_CLOSE(gpu.b, cpu.b, gtol, name + " grad b");
        if (binary) {
          // Only the second operand's gradient.
          const kernels::LossGrads only_b = kernels::loss_backward(op, grad_out.to(kGpu), ga, gb, false, true);
          CHECK_FALSE(only_b.a.defined());
          FH_CHECK_CLOSE(only_b.b, cpu.b, gtol, name + " grad b alone");
        }
      }
    }
  }
}

TEST_CASE("loss values are bit-identical across two runs") {
  const Tensor a = random({8, 256, 256, 3}).to(kGpu), b = random({8, 256, 256, 3}).to(kGpu);
  for (LossOp op : {LossOp::L1, LossOp::Mse, LossOp::HingeFake}) {
    const Tensor second = kernels::loss_is_binary(op) ? b : Tensor();
    INFO(kernels::op_name(op));
    CHECK(bytes_of(kernels::loss(op, a, second)) == bytes_of(kernels::loss(op, a, second)));
  }
}
