// Activations and clamps on the CPU: one flat pass over contiguous data, split into chunks
// that depend only on the size and the thread count. Every formula is PyTorch's, including
// its conventions at kinks and for NaN (see kernels/pointwise_types.h). Plain loops that
// the compiler vectorises, with Eigen's SIMD sin and cos (libm's are scalar calls; within
// 1.5 ulp, tests/test_pointwise_math.cpp). sqrt and acos stay scalar, correctly rounded
// calls: a sqrt loop is not vectorised because of errno, and Eigen's SIMD sqrt is an
// approximation (inf gives NaN); the model takes them of small tensors only (gaze vectors
// and cosines).
#include <Eigen/Core>

#include <algorithm>
#include <cmath>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/vector_math.h"
#include "kernels/cpu/walk.h"
#include "runtime/thread_pool.h"

namespace fh::kernels::cpu {

namespace {

// The chunk bodies copy the function object (and so its constants) into a local first: read
// through the closure, a constant could be changed by the stores to `out` as far as the
// compiler knows, so it would reload it every element and not vectorise the loop.
template <class T, class F>
void map_unary(const T* x, T* out, int64_t n, F f) {
  parallel_for(n, kElementwiseGrain, [=](int64_t b, int64_t e) {
    const F fn = f;
    const T* in = x;
    T* o = out;
    for (int64_t i = b; i < e; ++i) o[i] = fn(in[i]);
  });
}

template <class T, class F>
void map_binary(const T* a, const T* b, T* out, int64_t n, F f) {
  parallel_for(n, kElementwiseGrain, [=](int64_t begin, int64_t end) {
    const F fn = f;
    const T* in_a = a;
    const T* in_b = b;
    T* o = out;
    for (int64_t i = begin; i < end; ++i) o[i] = fn(in_a[i], in_b[i]);
  });
}

template <class T>
using ArrayOut = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <class T>
using ArrayIn = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

// out = f(x) with f taking and returning Eigen arrays, chunk by chunk.
template <class T, class F>
void map_unary_eigen(const T* x, T* out, int64_t n, F f) {
  parallel_for(n, kElementwiseGrain, [=](int64_t b, int64_t e) {
    ArrayOut<T>(out + b, e - b) = f(ArrayIn<T>(x + b, e - b));
  });
}

template <class T, class F>
void map_binary_eigen(const T* a, const T* b, T* out, int64_t n, F f) {
  parallel_for(n, kElementwiseGrain, [=](int64_t begin, int64_t end) {
    ArrayOut<T>(out + begin, end - begin) = f(ArrayIn<T>(a + begin, end - begin), ArrayIn<T>(b + begin, end - begin));
  });
}

// std::max(v, lo) is (v < lo ? lo : v) and std::min(m, hi) is (hi < m ? hi : m), so NaN
// passes through both, and lo > hi yields hi: PyTorch's clamp.
template <class T>
T clamp_value(T v, T lo, T hi) {
  return std::min(std::max(v, lo), hi);
}

// d acos(x)/dx as PyTorch writes it: -(1 - x²)^(-1/2).
template <class T>
T acos_derivative(T x) {
  return -(T(1) / std::sqrt(T(1) - x * x));
}

template <class T>
void forward_typed(ActivationOp op, const ActivationParams& p, const T* x, T* y, int64_t n) {
  const T slope = static_cast<T>(p.slope), lo = static_cast<T>(p.lo), hi = static_cast<T>(p.hi);
  switch (op) {
    // NaN > 0 is false: NaN·slope keeps it NaN.
    case ActivationOp::LeakyRelu: return map_unary(x, y, n, [slope](T v) { return v > T(0) ? v : v * slope; });
    case ActivationOp::Tanh: return map_unary(x, y, n, [](T v) { return vmath::tanh(v); });
    case ActivationOp::Sigmoid: return map_unary(x, y, n, [](T v) { return vmath::sigmoid(v); });
    case ActivationOp::Sqrt: return map_unary(x, y, n, [](T v) { return std::sqrt(v); });
    case ActivationOp::Sin: return map_unary_eigen(x, y, n, [](const auto& v) { return v.sin(); });
    case ActivationOp::Cos: return map_unary_eigen(x, y, n, [](const auto& v) { return v.cos(); });
    case ActivationOp::Acos: return map_unary(x, y, n, [](T v) { return std::acos(v); });
    case ActivationOp::Clamp: return map_unary(x, y, n, [lo, hi](T v) { return clamp_value(v, lo, hi); });
    case ActivationOp::AcosClamped:
      return map_unary(x, y, n, [lo, hi](T v) { return std::acos(clamp_value(v, lo, hi)); });
  }
}

// `s` is the saved tensor: the output for Tanh, Sigmoid and Sqrt, the input otherwise.
template <class T>
void backward_typed(ActivationOp op, const ActivationParams& p, const T* g, const T* s, T* gin, int64_t n) {
  const T slope = static_cast<T>(p.slope), lo = static_cast<T>(p.lo), hi = static_cast<T>(p.hi);
  switch (op) {
    case ActivationOp::LeakyRelu:
      return map_binary(g, s, gin, n, [slope](T gv, T x) { return x > T(0) ? gv : gv * slope; });
    case ActivationOp::Tanh: return map_binary(g, s, gin, n, [](T gv, T y) { return gv * (T(1) - y * y); });
    case ActivationOp::Sigmoid: return map_binary(g, s, gin, n, [](T gv, T y) { return gv * (T(1) - y) * y; });
    // √0 = 0 gives ±inf (or NaN for a zero gradient), as in PyTorch.
    case ActivationOp::Sqrt: return map_binary(g, s, gin, n, [](T gv, T y) { return gv / (T(2) * y); });
    case ActivationOp::Sin:
      return map_binary_eigen(g, s, gin, n, [](const auto& gv, const auto& x) { return gv * x.cos(); });
    case ActivationOp::Cos:
      return map_binary_eigen(g, s, gin, n, [](const auto& gv, const auto& x) { return gv * -x.sin(); });
    case ActivationOp::Acos: return map_binary(g, s, gin, n, [](T gv, T x) { return gv * acos_derivative(x); });
    // The bounds themselves pass the gradient; NaN fails both comparisons and gets 0.
    case ActivationOp::Clamp:
      return map_binary(g, s, gin, n, [lo, hi](T gv, T x) { return x >= lo && x <= hi ? gv : T(0); });
    // clamp's mask times acos' derivative at the clamped value, which inside the mask is x.
    case ActivationOp::AcosClamped:
      return map_binary(g, s, gin, n,
                        [lo, hi](T gv, T x) { return x >= lo && x <= hi ? gv * acos_derivative(x) : T(0); });
  }
}

}  // namespace

void activation_forward(ActivationOp op, const ActivationParams& params, const Tensor& x, Tensor& out) {
  if (x.dtype() == DType::F64) {
    forward_typed(op, params, x.data<double>(), out.data<double>(), x.numel());
  } else {
    forward_typed(op, params, x.data<float>(), out.data<float>(), x.numel());
  }
}

void activation_backward(ActivationOp op, const ActivationParams& params, const Tensor& grad, const Tensor& saved,
                         Tensor& grad_in) {
  if (grad.dtype() == DType::F64) {
    backward_typed(op, params, grad.data<double>(), saved.data<double>(), grad_in.data<double>(), grad.numel());
  } else {
    backward_typed(op, params, grad.data<float>(), saved.data<float>(), grad_in.data<float>(), grad.numel());
  }
}

}  // namespace fh::kernels::cpu
