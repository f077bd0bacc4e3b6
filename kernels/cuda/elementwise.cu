// Broadcasting binary ops, unary ops, relu backward and strided copies on the GPU. One thread
// per output element (grid-stride); broadcast operands are read through the layout's strides.
#include <cmath>
#include <type_traits>

#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/launch.cuh"

namespace fh::kernels::cuda {

namespace {

// ---- Op functors (device code; T is float or double) -------------------------------------

struct AddFn {
  template <class T>
  __device__ T operator()(T x, T y) const { return x + y; }
};
struct SubFn {
  template <class T>
  __device__ T operator()(T x, T y) const { return x - y; }
};
struct MulFn {
  template <class T>
  __device__ T operator()(T x, T y) const { return x * y; }
};
struct DivFn {
  template <class T>
  __device__ T operator()(T x, T y) const { return x / y; }
};

template <class T>
struct UnaryFn {
  UnaryOp op;
  T alpha;
  __device__ T operator()(T v) const {
    switch (op) {
      case UnaryOp::Neg: return -v;
      case UnaryOp::Relu: return v < T(0) ? T(0) : v;  // NaN < 0 is false: NaN passes through, as in PyTorch
      case UnaryOp::Exp:
        if constexpr (std::is_same_v<T, float>) return expf(v);  // spelled out: never the double version by accident
        else return exp(v);
      case UnaryOp::Log:
        if constexpr (std::is_same_v<T, float>) return logf(v);
        else return log(v);
      case UnaryOp::Scale: return alpha * v;
      case UnaryOp::AddScalar: return v + alpha;
    }
    return v;
  }
};

// ---- Kernels -------------------------------------------------------------------------------

// `out` may alias `a` (in-place ops); then a's layout is the output's own, so each thread
// reads its element before writing it and no restrict qualifiers are allowed.
template <class T, class Index, class Fn>
__global__ void binary_kernel(const T* a, const T* b, T* out, ElementwiseLayout L, Fn fn) {
  const Index n = static_cast<Index>(L.numel);
  for (Index i = grid_start<Index>(); i < n; i += grid_stride<Index>()) {
    Index off[2];
    element_offsets<Index, 2>(L, i, off);
    out[i] = fn(a[off[0]], b[off[1]]);
  }
}

// A plain map over contiguous elements (unary ops may also run in place).
template <class T, class Fn>
__global__ void map_kernel(const T* x, T* out, int64_t n, Fn fn) {
  for (int64_t i = grid_start<int64_t>(); i < n; i += grid_stride<int64_t>()) out[i] = fn(x[i]);
}

template <class T>
__global__ void relu_backward_kernel(const T* __restrict__ grad, const T* __restrict__ out, T* __restrict__ grad_in,
                                     int64_t n) {
  for (int64_t i = grid_start<int64_t>(); i < n; i += grid_stride<int64_t>())
    grad_in[i] = out[i] > T(0) ? grad[i] : T(0);
}

template <class T, class Index>
__global__ void broadcast_kernel(const T* __restrict__ x, T* __restrict__ out, ElementwiseLayout L) {
  const Index n = static_cast<Index>(L.numel);
  for (Index i = grid_start<Index>(); i < n; i += grid_stride<Index>()) {
    Index off[1];
    element_offsets<Index, 1>(L, i, off);
    out[i] = x[off[0]];
  }
}

// ---- Host side ---------------------------------------------------------------------------

template <class T, class Fn>
void launch_binary(const Tensor& a, const Tensor& b, const ElementwiseLayout& L, Tensor& out, Fn fn) {
  const unsigned grid = grid_for(L.numel);
  const T* pa = device_ptr<T>(a);
  const T* pb = device_ptr<T>(b);
  T* po = device_ptr<T>(out);
  if (fits_32bit(L.numel)) {
    binary_kernel<T, uint32_t><<<grid, kBlockSize, 0, current_stream()>>>(pa, pb, po, L, fn);
  } else {
    binary_kernel<T, int64_t><<<grid, kBlockSize, 0, current_stream()>>>(pa, pb, po, L, fn);
  }
}

template <class T>
void binary_typed(BinaryOp op, const Tensor& a, const Tensor& b, const ElementwiseLayout& L, Tensor& out) {
  switch (op) {
    case BinaryOp::Add: return launch_binary<T>(a, b, L, out, AddFn{});
    case BinaryOp::Sub: return launch_binary<T>(a, b, L, out, SubFn{});
    case BinaryOp::Mul: return launch_binary<T>(a, b, L, out, MulFn{});
    case BinaryOp::Div: return launch_binary<T>(a, b, L, out, DivFn{});
  }
  FH_FAIL("cuda::binary", "unknown op ", static_cast<int>(op));
}

template <class T>
void broadcast_typed(const Tensor& x, const ElementwiseLayout& L, Tensor& out) {
  const unsigned grid = grid_for(L.numel);
  if (fits_32bit(L.numel)) {
    broadcast_kernel<T, uint32_t><<<grid, kBlockSize, 0, current_stream()>>>(device_ptr<T>(x), device_ptr<T>(out), L);
  } else {
    broadcast_kernel<T, int64_t><<<grid, kBlockSize, 0, current_stream()>>>(device_ptr<T>(x), device_ptr<T>(out), L);
  }
}

}  // namespace

void binary(BinaryOp op, const Tensor& a, const Tensor& b, const ElementwiseLayout& layout, Tensor& out) {
  if (layout.numel == 0) return;
  fh::cuda::DeviceGuard guard(out.device().index);
  if (a.dtype() == DType::F64) {
    binary_typed<double>(op, a, b, layout, out);
  } else {
    binary_typed<float>(op, a, b, layout, out);
  }
  FH_CUDA_CHECK_LAUNCH("cuda::binary", op_name(op), " of ", a.describe(), " and ", b.describe());
}

void unary(UnaryOp op, const Tensor& x, double alpha, Tensor& out) {
  const int64_t n = x.numel();
  if (n == 0) return;
  fh::cuda::DeviceGuard guard(out.device().index);
  const unsigned grid = grid_for(n);
  if (x.dtype() == DType::F64) {
    map_kernel<<<grid, kBlockSize, 0, current_stream()>>>(device_ptr<double>(x), device_ptr<double>(out), n,
                                                          UnaryFn<double>{op, alpha});
  } else {
    map_kernel<<<grid, kBlockSize, 0, current_stream()>>>(device_ptr<float>(x), device_ptr<float>(out), n,
                                                          UnaryFn<float>{op, static_cast<float>(alpha)});
  }
  FH_CUDA_CHECK_LAUNCH("cuda::unary", op_name(op), " of ", x.describe());
}

void relu_backward(const Tensor& grad, const Tensor& out, Tensor& grad_in) {
  const int64_t n = out.numel();
  if (n == 0) return;
  fh::cuda::DeviceGuard guard(out.device().index);
  const unsigned grid = grid_for(n);
  if (out.dtype() == DType::F64) {
    relu_backward_kernel<<<grid, kBlockSize, 0, current_stream()>>>(device_ptr<double>(grad), device_ptr<double>(out),
                                                                    device_ptr<double>(grad_in), n);
  } else {
    relu_backward_kernel<<<grid, kBlockSize, 0, current_stream()>>>(device_ptr<float>(grad), device_ptr<float>(out),
                                                                    device_ptr<float>(grad_in), n);
  }
  FH_CUDA_CHECK_LAUNCH("cuda::relu_backward", out.describe());
}

void strided_copy(const Tensor& x, const ElementwiseLayout& layout, Tensor& out) {
  if (layout.numel == 0) return;
  fh::cuda::DeviceGuard guard(out.device().index);
  if (x.dtype() == DType::F64) {
    broadcast_typed<double>(x, layout, out);
  } else {
    broadcast_typed<float>(x, layout, out);
  }
  FH_CUDA_CHECK_LAUNCH("cuda::strided_copy", x.describe(), " -> ", out.describe());
}

}  // namespace fh::kernels::cuda
