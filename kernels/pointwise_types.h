// Op codes and parameters of the pointwise family (activations, clamps, softmax, losses),
// shared by the device-agnostic entry points (kernels/pointwise.h) and the backends
// (kernels/backend/pointwise.inc).
#pragma once

#include <cstdint>

namespace fh::kernels {

// Elementwise activations and clamps. Each backward reads one saved tensor: the op's output
// where the derivative is cheaper from it (backward_reads_output), else its input.
enum class ActivationOp {
  LeakyRelu,    // x > 0 ? x : slope·x              d/dx: x > 0 ? 1 : slope
  Tanh,         // tanh x                           from y: 1 - y²
  Sigmoid,      // 1 / (1 + e^-x)                   from y: (1 - y)·y
  Sqrt,         // √x                               from y: 1 / (2y)
  Sin,          // sin x                            cos x
  Cos,          // cos x                            -sin x
  Acos,         // acos x                           -1 / √(1 - x²)
  Clamp,        // min(max(x, lo), hi)              1 where lo <= x <= hi, else 0 (as PyTorch)
  AcosClamped,  // acos(clamp(x, lo, hi))           -1 / √(1 - x²) where lo <= x <= hi, else 0
};

// The constants an activation reads; the others are ignored.
struct ActivationParams {
  double slope = 0;       // LeakyRelu
  double lo = 0, hi = 0;  // Clamp, AcosClamped (NaN x stays NaN; lo > hi gives hi, as PyTorch)
};

// True where the backward kernel takes the op's output y rather than its input x.
constexpr bool backward_reads_output(ActivationOp op) {
  return op == ActivationOp::Tanh || op == ActivationOp::Sigmoid || op == ActivationOp::Sqrt;
}

const char* op_name(ActivationOp op);

// Softmax along one axis of a contiguous tensor viewed as [outer, axis, inner].
struct SoftmaxLayout {
  int64_t outer = 1, axis = 1, inner = 1;
};

// Losses with mean reduction; each yields a 0-d tensor. L1 and Mse compare two tensors of
// one shape; the hinge terms take one tensor of discriminator scores d.
enum class LossOp {
  L1,              // mean |a - b|             d/da = sign(a - b) / n (0 where a == b), d/db = -d/da
  Mse,             // mean (a - b)²            d/da = 2 (a - b) / n, d/db = -d/da
  HingeReal,       // mean relu(1 - d)         d/dd = -1/n where 1 - d > 0, else 0
  HingeFake,       // mean relu(1 + d)         d/dd =  1/n where 1 + d > 0, else 0
  HingeGenerator,  // -mean d                  d/dd = -1/n
};

constexpr bool loss_is_binary(LossOp op) { return op == LossOp::L1 || op == LossOp::Mse; }

const char* op_name(LossOp op);

}  // namespace fh::kernels
