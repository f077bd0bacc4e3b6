// Broadcasting binary ops, unary ops, relu backward and strided copies on the CPU.
#include <cmath>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/vector_math.h"
#include "kernels/cpu/walk.h"
#include "runtime/thread_pool.h"

namespace fh::kernels::cpu {

namespace {

// One block of rows; the common stride patterns get their own loops so they vectorise.
template <class T, class F>
void binary_block(const T* a, const T* b, T* out, const RowBlock& k, F f) {
  const int64_t n = k.len;
  for (int64_t r = 0; r < k.rows; ++r) {
    const T* pa = a + k.offset[0] + r * k.row_step[0];
    const T* pb = b + k.offset[1] + r * k.row_step[1];
    T* po = out + k.out + r * n;
    if (k.step[0] == 1 && k.step[1] == 1) {
      for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[i]);
    } else if (k.step[0] == 1 && k.step[1] == 0) {
      const T vb = *pb;
      for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], vb);
    } else if (k.step[0] == 0 && k.step[1] == 1) {
      const T va = *pa;
      for (int64_t i = 0; i < n; ++i) po[i] = f(va, pb[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i * k.step[0]], pb[i * k.step[1]]);
    }
  }
}

template <class T, class F>
void binary_typed(const T* a, const T* b, T* out, const ElementwiseLayout& L, F f) {
  for_each_block(L, [&](const RowBlock& k) { binary_block(a, b, out, k, f); });
}

template <class T>
void binary_dispatch(BinaryOp op, const T* a, const T* b, T* out, const ElementwiseLayout& L) {
  switch (op) {
    case BinaryOp::Add: return binary_typed(a, b, out, L, [](T x, T y) { return x + y; });
    case BinaryOp::Sub: return binary_typed(a, b, out, L, [](T x, T y) { return x - y; });
    case BinaryOp::Mul: return binary_typed(a, b, out, L, [](T x, T y) { return x * y; });
    case BinaryOp::Div: return binary_typed(a, b, out, L, [](T x, T y) { return x / y; });
  }
}

template <class T, class F>
void map_typed(const T* x, T* out, int64_t n, F f) {
  parallel_for(n, kElementwiseGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) out[i] = f(x[i]);
  });
}

template <class T>
void unary_dispatch(UnaryOp op, const T* x, T alpha, T* out, int64_t n) {
  switch (op) {
    case UnaryOp::Neg: return map_typed(x, out, n, [](T v) { return -v; });
    // NaN < 0 is false, so NaN passes through as in PyTorch.
    case UnaryOp::Relu: return map_typed(x, out, n, [](T v) { return v < T(0) ? T(0) : v; });
    // vector_math's float exp vectorises (within 1 ulp); libm's scalar one does not.
    case UnaryOp::Exp: return map_typed(x, out, n, [](T v) { return vmath::exp(v); });
    case UnaryOp::Log: return map_typed(x, out, n, [](T v) { return std::log(v); });
    case UnaryOp::Scale: return map_typed(x, out, n, [alpha](T v) { return alpha * v; });
    case UnaryOp::AddScalar: return map_typed(x, out, n, [alpha](T v) { return v + alpha; });
  }
}

template <class T>
void relu_backward_typed(const T* grad, const T* out, T* grad_in, int64_t n) {
  parallel_for(n, kElementwiseGrain, [&](int64_t b, int64_t e) {
    // Both loads unconditional: a conditional load of grad[i] keeps the compiler from
    // vectorising and leaves a branch that mispredicts on random signs (40x slower).
    for (int64_t i = b; i < e; ++i) {
      const T g = grad[i];
      grad_in[i] = out[i] > T(0) ? g : T(0);
    }
  });
}

template <class T>
void broadcast_typed(const T* x, T* out, const ElementwiseLayout& L) {
  for_each_block(L, [&](const RowBlock& k) {
    for (int64_t r = 0; r < k.rows; ++r) {
      const T* px = x + k.offset[0] + r * k.row_step[0];
      T* po = out + k.out + r * k.len;
      if (k.step[0] == 0) {
        std::fill(po, po + k.len, *px);
      } else {
        for (int64_t i = 0; i < k.len; ++i) po[i] = px[i * k.step[0]];
      }
    }
  });
}

}  // namespace

void binary(BinaryOp op, const Tensor& a, const Tensor& b, const ElementwiseLayout& layout, Tensor& out) {
  if (a.dtype() == DType::F64) {
    binary_dispatch(op, a.data<double>(), b.data<double>(), out.data<double>(), layout);
  } else {
    binary_dispatch(op, a.data<float>(), b.data<float>(), out.data<float>(), layout);
  }
}

void unary(UnaryOp op, const Tensor& x, double alpha, Tensor& out) {
  if (x.dtype() == DType::F64) {
    unary_dispatch(op, x.data<double>(), alpha, out.data<double>(), x.numel());
  } else {
    unary_dispatch(op, x.data<float>(), static_cast<float>(alpha), out.data<float>(), x.numel());
  }
}

void relu_backward(const Tensor& grad, const Tensor& out, Tensor& grad_in) {
  if (out.dtype() == DType::F64) {
    relu_backward_typed(grad.data<double>(), out.data<double>(), grad_in.data<double>(), out.numel());
  } else {
    relu_backward_typed(grad.data<float>(), out.data<float>(), grad_in.data<float>(), out.numel());
  }
}

void strided_copy(const Tensor& x, const ElementwiseLayout& layout, Tensor& out) {
  if (x.dtype() == DType::F64) {
    broadcast_typed(x.data<double>(), out.data<double>(), layout);
  } else {
    broadcast_typed(x.data<float>(), out.data<float>(), layout);
  }
}

}  // namespace fh::kernels::cpu
