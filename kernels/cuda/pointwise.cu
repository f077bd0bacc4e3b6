// The pointwise family on the GPU: activations and clamps, softmax along any axis, and the
// mean-reduced losses, forward and backward. Formulas and conventions (kinks, NaN, clamp
// bounds) are the CPU twin's (kernels/cpu/activation.cpp, softmax.cpp, loss.cpp).
#include <cmath>

#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/device_util.cuh"

namespace fh::kernels::cuda {

namespace {

// ---- Activations -------------------------------------------------------------------------------

// std::min(std::max(v, lo), hi) spelled out: NaN passes through, lo > hi gives hi (PyTorch's clamp).
template <class T>
__device__ __forceinline__ T clamp_value(T v, T lo, T hi) {
  const T m = v < lo ? lo : v;
  return hi < m ? hi : m;
}

template <class T>
__device__ __forceinline__ T acos_derivative(T x) {
  return -(T(1) / dev_sqrt(T(1) - x * x));
}

template <ActivationOp Op, class T>
struct ActivationFn {
  T slope, lo, hi;
  __device__ __forceinline__ T forward(T v) const {
    if constexpr (Op == ActivationOp::LeakyRelu) return v > T(0) ? v : v * slope;
    if constexpr (Op == ActivationOp::Tanh) return dev_tanh(v);
    if constexpr (Op == ActivationOp::Sigmoid) return T(1) / (T(1) + dev_exp(-v));
    if constexpr (Op == ActivationOp::Sqrt) return dev_sqrt(v);
    if constexpr (Op == ActivationOp::Sin) return dev_sin(v);
    if constexpr (Op == ActivationOp::Cos) return dev_cos(v);
    if constexpr (Op == ActivationOp::Acos) return dev_acos(v);
    if constexpr (Op == ActivationOp::Clamp) return clamp_value(v, lo, hi);
    if constexpr (Op == ActivationOp::AcosClamped) return dev_acos(clamp_value(v, lo, hi));
    return v;
  }
  // s: the saved output (Tanh, Sigmoid, Sqrt) or input (the others).
  __device__ __forceinline__ T backward(T g, T s) const {
    if constexpr (Op == ActivationOp::LeakyRelu) return s > T(0) ? g : g * slope;
    if constexpr (Op == ActivationOp::Tanh) return g * (T(1) - s * s);
    if constexpr (Op == ActivationOp::Sigmoid) return g * (T(1) - s) * s;
    if constexpr (Op == ActivationOp::Sqrt) return g / (T(2) * s);
    if constexpr (Op == ActivationOp::Sin) return g * dev_cos(s);
    if constexpr (Op == ActivationOp::Cos) return g * -dev_sin(s);
    if constexpr (Op == ActivationOp::Acos) return g * acos_derivative(s);
    if constexpr (Op == ActivationOp::Clamp) return s >= lo && s <= hi ? g : T(0);
    if constexpr (Op == ActivationOp::AcosClamped) return s >= lo && s <= hi ? g * acos_derivative(s) : T(0);
    return g;
  }
};

// Elementwise map with 16-byte loads and stores (x and out may alias: each element is read
// before it is written, by the same thread).
template <class T, class Fn>
__global__ void activation_forward_kernel(const T* x, T* out, int64_t n, bool vec, Fn fn) {
  vector_walk<T>(n, vec, [&](auto width, int64_t i) {
    constexpr int W = decltype(width)::value;
    T v[W];
    load<W>(x + i, v);
#pragma unroll
    for (int k = 0; k < W; ++k) v[k] = fn.forward(v[k]);
    store<W>(out + i, v);
  });
}

// grad_in = fn.backward(grad, saved) elementwise, 16-byte vectors as above.
template <class T, class Fn>
__global__ void activation_backward_kernel(const T* __restrict__ grad, const T* __restrict__ saved,
                                           T* __restrict__ grad_in, int64_t n, bool vec, Fn fn) {
  vector_walk<T>(n, vec, [&](auto width, int64_t i) {
    constexpr int W = decltype(width)::value;
    T g[W], s[W];
    load<W>(grad + i, g);
    load<W>(saved + i, s);
#pragma unroll
    for (int k = 0; k < W; ++k) g[k] = fn.backward(g[k], s[k]);
    store<W>(grad_in + i, g);
  });
}

// Calls body(ActivationFn<Op, T>) for the runtime op.
template <class T, class Body>
void with_activation(ActivationOp op, const ActivationParams& p, Body&& body) {
  const T slope = static_cast<T>(p.slope), lo = static_cast<T>(p.lo), hi = static_cast<T>(p.hi);
  switch (op) {
    case ActivationOp::LeakyRelu: return body(ActivationFn<ActivationOp::LeakyRelu, T>{slope, lo, hi});
    case ActivationOp::Tanh: return body(ActivationFn<ActivationOp::Tanh, T>{slope, lo, hi});
    case ActivationOp::Sigmoid: return body(ActivationFn<ActivationOp::Sigmoid, T>{slope, lo, hi});
    case ActivationOp::Sqrt: return body(ActivationFn<ActivationOp::Sqrt, T>{slope, lo, hi});
    case ActivationOp::Sin: return body(ActivationFn<ActivationOp::Sin, T>{slope, lo, hi});
    case ActivationOp::Cos: return body(ActivationFn<ActivationOp::Cos, T>{slope, lo, hi});
    case ActivationOp::Acos: return body(ActivationFn<ActivationOp::Acos, T>{slope, lo, hi});
    case ActivationOp::Clamp: return body(ActivationFn<ActivationOp::Clamp, T>{slope, lo, hi});
    case ActivationOp::AcosClamped: return body(ActivationFn<ActivationOp::AcosClamped, T>{slope, lo, hi});
  }
  FH_FAIL("cuda::activation", "unknown op ", static_cast<int>(op));
}

// Elementwise grids: enough 16-byte vectors for every thread to have one or a few.
unsigned vector_grid(int64_t n, int vec_width) { return grid_for(ceil_div(n, vec_width)); }

// ---- Softmax -----------------------------------------------------------------------------------
// Three shapes of work, one kernel each, all reading x through three passes (max, sum, write)
// that hit L1/L2 after the first:
//  - inner > 1 (an outer axis, e.g. N-shot weights over M sources): one thread per column,
//    walking the axis with stride inner; neighbouring threads read neighbouring columns, so
//    every pass is coalesced.
//  - inner == 1, short rows (axis <= kThreadRowMax, e.g. an image's few channels): one
//    thread per row, so no lane idles on a row of 4.
//  - inner == 1, longer rows: one warp per row, lanes striding through it (coalesced), the
//    max and sums combined by a fixed shuffle tree.
constexpr int64_t kThreadRowMax = 16;

template <class T>
__device__ __forceinline__ T max_of(T a, T b) {
  return b > a ? b : a;  // a NaN in b is dropped here; it still reaches the sum through exp and poisons the row
}

// inner > 1: thread per column, three passes down the axis (max, Σ exp, write).
template <class T>
__global__ void softmax_columns_forward(const T* __restrict__ x, T* __restrict__ y, int64_t outer, int64_t axis,
                                        int64_t inner) {
  const int64_t columns = outer * inner;
  for (int64_t col = grid_start<int64_t>(); col < columns; col += grid_stride<int64_t>()) {
    const int64_t o = col / inner, i = col % inner;
    const T* xc = x + o * axis * inner + i;
    T* yc = y + o * axis * inner + i;
    T top = xc[0];
    for (int64_t l = 1; l < axis; ++l) top = max_of(top, xc[l * inner]);
    T total = 0;
    for (int64_t l = 0; l < axis; ++l) total += dev_exp(xc[l * inner] - top);
    const T scale = T(1) / total;
    for (int64_t l = 0; l < axis; ++l) yc[l * inner] = dev_exp(xc[l * inner] - top) * scale;
  }
}

// inner > 1: thread per column, Σ grad·y down the axis, then the write pass.
template <class T>
__global__ void softmax_columns_backward(const T* __restrict__ g, const T* __restrict__ y, T* __restrict__ gin,
                                         int64_t outer, int64_t axis, int64_t inner) {
  const int64_t columns = outer * inner;
  for (int64_t col = grid_start<int64_t>(); col < columns; col += grid_stride<int64_t>()) {
    const int64_t base = (col / inner) * axis * inner + col % inner;
    T dot = 0;
    for (int64_t l = 0; l < axis; ++l) dot += g[base + l * inner] * y[base + l * inner];
    for (int64_t l = 0; l < axis; ++l) {
      const int64_t e = base + l * inner;
      gin[e] = y[e] * (g[e] - dot);
    }
  }
}

// Short contiguous rows: thread per row (no idle lanes on rows of a few channels).
template <class T>
__global__ void softmax_thread_rows_forward(const T* __restrict__ x, T* __restrict__ y, int64_t rows, int64_t len) {
  for (int64_t r = grid_start<int64_t>(); r < rows; r += grid_stride<int64_t>()) {
    const T* xr = x + r * len;
    T* yr = y + r * len;
    T top = xr[0];
    for (int64_t j = 1; j < len; ++j) top = max_of(top, xr[j]);
    T total = 0;
    for (int64_t j = 0; j < len; ++j) total += dev_exp(xr[j] - top);
    const T scale = T(1) / total;
    for (int64_t j = 0; j < len; ++j) yr[j] = dev_exp(xr[j] - top) * scale;
  }
}

// Short contiguous rows, backward: thread per row.
template <class T>
__global__ void softmax_thread_rows_backward(const T* __restrict__ g, const T* __restrict__ y, T* __restrict__ gin,
                                             int64_t rows, int64_t len) {
  for (int64_t r = grid_start<int64_t>(); r < rows; r += grid_stride<int64_t>()) {
    const int64_t base = r * len;
    T dot = 0;
    for (int64_t j = 0; j < len; ++j) dot += g[base + j] * y[base + j];
    for (int64_t j = 0; j < len; ++j) gin[base + j] = y[base + j] * (g[base + j] - dot);
  }
}

// One warp per row; warps stride over rows (a warp-uniform loop, so the shuffles are safe).
// The max is exact in any order (NaN aside, which poisons the row anyway), so the xor
// butterfly leaves every lane with the same maximum; the sum takes a fixed tree.
template <class T>
__global__ void softmax_warp_rows_forward(const T* __restrict__ x, T* __restrict__ y, int64_t rows, int64_t len) {
  const int lane = threadIdx.x % 32;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / 32);
  for (int64_t r = grid_start<int64_t>() / 32; r < rows; r += warps) {
    const T* xr = x + r * len;
    T* yr = y + r * len;
    T top = xr[0];
    for (int64_t j = lane; j < len; j += 32) top = max_of(top, xr[j]);
    for (int offset = 16; offset > 0; offset /= 2) top = max_of(top, __shfl_xor_sync(0xffffffffu, top, offset));
    T total = 0;
    for (int64_t j = lane; j < len; j += 32) total += dev_exp(xr[j] - top);
    total = __shfl_sync(0xffffffffu, group_sum(total, 32), 0);
    const T scale = T(1) / total;
    for (int64_t j = lane; j < len; j += 32) yr[j] = dev_exp(xr[j] - top) * scale;
  }
}

// Longer rows, backward: warp per row, Σ grad·y by a fixed shuffle tree.
template <class T>
__global__ void softmax_warp_rows_backward(const T* __restrict__ g, const T* __restrict__ y, T* __restrict__ gin,
                                           int64_t rows, int64_t len) {
  const int lane = threadIdx.x % 32;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / 32);
  for (int64_t r = grid_start<int64_t>() / 32; r < rows; r += warps) {
    const int64_t base = r * len;
    T dot = 0;
    for (int64_t j = lane; j < len; j += 32) dot += g[base + j] * y[base + j];
    dot = __shfl_sync(0xffffffffu, group_sum(dot, 32), 0);
    for (int64_t j = lane; j < len; j += 32) gin[base + j] = y[base + j] * (g[base + j] - dot);
  }
}

template <class T>
void softmax_launch(bool backward, const T* a, const T* b, T* out, const SoftmaxLayout& S) {
  const cudaStream_t stream = current_stream();
  if (S.inner > 1) {
    const unsigned grid = grid_for(S.outer * S.inner);
    if (backward) softmax_columns_backward<<<grid, kBlockSize, 0, stream>>>(a, b, out, S.outer, S.axis, S.inner);
    else softmax_columns_forward<<<grid, kBlockSize, 0, stream>>>(a, out, S.outer, S.axis, S.inner);
  } else if (S.axis <= kThreadRowMax) {
    const unsigned grid = grid_for(S.outer);
    if (backward) softmax_thread_rows_backward<<<grid, kBlockSize, 0, stream>>>(a, b, out, S.outer, S.axis);
    else softmax_thread_rows_forward<<<grid, kBlockSize, 0, stream>>>(a, out, S.outer, S.axis);
  } else {
    const unsigned grid = grid_for(S.outer * 32);
    if (backward) softmax_warp_rows_backward<<<grid, kBlockSize, 0, stream>>>(a, b, out, S.outer, S.axis);
    else softmax_warp_rows_forward<<<grid, kBlockSize, 0, stream>>>(a, out, S.outer, S.axis);
  }
}

// ---- Losses ------------------------------------------------------------------------------------
// Forward: a deterministic two-pass sum. Pass 1 gives each of a number of blocks fixed by
// the size alone a grid-stride share of the terms, summed in double per thread and then by
// a fixed tree; pass 2 adds the block sums by a fixed tree and writes the mean. No atomics,
// and the order never depends on the GPU model.
constexpr int kLossBlock = 256;
constexpr int64_t kLossMaxBlocks = 1024;
constexpr int64_t kLossTermsPerThread = 16;

int64_t loss_blocks(int64_t n) {
  return std::clamp<int64_t>(ceil_div(n, kLossBlock * kLossTermsPerThread), 1, kLossMaxBlocks);
}

template <LossOp Op, class T>
__device__ __forceinline__ T loss_term(T a, T b) {
  if constexpr (Op == LossOp::L1) {
    const T d = a - b;
    return d < T(0) ? -d : d;
  } else if constexpr (Op == LossOp::Mse) {
    const T d = a - b;
    return d * d;
  } else if constexpr (Op == LossOp::HingeReal) {
    const T v = T(1) - a;
    return v < T(0) ? T(0) : v;  // keeps NaN, as torch.relu
  } else if constexpr (Op == LossOp::HingeFake) {
    const T v = T(1) + a;
    return v < T(0) ? T(0) : v;
  } else {
    return a;
  }
}

// Pass 1: block b's grid-stride share of the terms, summed in double, then a fixed tree.
template <LossOp Op, class T>
__global__ void __launch_bounds__(kLossBlock)
    loss_partial_kernel(const T* __restrict__ a, const T* __restrict__ b, double* __restrict__ partial, int64_t n,
                        bool vec) {
  __shared__ double shared[32];
  double acc = 0;
  vector_walk<T>(n, vec, [&](auto width, int64_t i) {
    constexpr int W = decltype(width)::value;
    T va[W], vb[W];
    load<W>(a + i, va);
    if constexpr (loss_is_binary(Op)) load<W>(b + i, vb);
#pragma unroll
    for (int k = 0; k < W; ++k) acc += static_cast<double>(loss_term<Op>(va[k], loss_is_binary(Op) ? vb[k] : T(0)));
  });
  const double total = block_sum(acc, shared);
  if (threadIdx.x == 0) partial[blockIdx.x] = total;
}

// Pass 2: one block adds the block sums by a fixed tree and writes the mean.
template <LossOp Op, class T>
__global__ void __launch_bounds__(kLossBlock)
    loss_finish_kernel(const double* __restrict__ partial, int64_t blocks, int64_t n, T* __restrict__ out) {
  __shared__ double shared[32];
  double acc = 0;
  for (int64_t i = threadIdx.x; i < blocks; i += blockDim.x) acc += partial[i];
  const double total = block_sum(acc, shared);
  if (threadIdx.x == 0) {
    const double sum = Op == LossOp::HingeGenerator ? -total : total;
    out[0] = static_cast<T>(sum / static_cast<double>(n));
  }
}

// Backward: one pass writing both gradients, grad_b = -grad_a (the CPU twin's formulas and
// roundings: the mean hands each element g / n; mse uses (2/n)·(a - b)·g).
template <LossOp Op, class T>
__device__ __forceinline__ T loss_grad(T g, T s, T norm, T a, T b) {
  if constexpr (Op == LossOp::L1) {
    const T d = a - b;
    return s * static_cast<T>(static_cast<int>(d > T(0)) - static_cast<int>(d < T(0)));
  } else if constexpr (Op == LossOp::Mse) {
    return norm * (a - b) * g;
  } else if constexpr (Op == LossOp::HingeReal) {
    return T(1) - a > T(0) ? -s : T(0);
  } else if constexpr (Op == LossOp::HingeFake) {
    return T(1) + a > T(0) ? s : T(0);
  } else {
    return -s;
  }
}

// Both gradients in one elementwise pass with 16-byte vectors; grad_out is read on the device.
template <LossOp Op, class T>
__global__ void loss_backward_kernel(const T* __restrict__ grad_out, const T* __restrict__ a,
                                     const T* __restrict__ b, T* __restrict__ ga, T* __restrict__ gb, int64_t n,
                                     T norm, bool vec) {
  const T g = grad_out[0];
  const T s = g / static_cast<T>(n);
  vector_walk<T>(n, vec, [&](auto width, int64_t i) {
    constexpr int W = decltype(width)::value;
    T va[W], vb[W], v[W];
    load<W>(a + i, va);
    if constexpr (loss_is_binary(Op)) load<W>(b + i, vb);
#pragma unroll
    for (int k = 0; k < W; ++k) v[k] = loss_grad<Op>(g, s, norm, va[k], loss_is_binary(Op) ? vb[k] : T(0));
    if (ga) store<W>(ga + i, v);
    if (gb) {
#pragma unroll
      for (int k = 0; k < W; ++k) v[k] = -v[k];
      store<W>(gb + i, v);
    }
  });
}

template <class Body>
void with_loss(LossOp op, Body&& body) {
  switch (op) {
    case LossOp::L1: return body(std::integral_constant<LossOp, LossOp::L1>{});
    case LossOp::Mse: return body(std::integral_constant<LossOp, LossOp::Mse>{});
    case LossOp::HingeReal: return body(std::integral_constant<LossOp, LossOp::HingeReal>{});
    case LossOp::HingeFake: return body(std::integral_constant<LossOp, LossOp::HingeFake>{});
    case LossOp::HingeGenerator: return body(std::integral_constant<LossOp, LossOp::HingeGenerator>{});
  }
  FH_FAIL("cuda::loss", "unknown op ", static_cast<int>(op));
}

}  // namespace

void activation_forward(ActivationOp op, const ActivationParams& params, const Tensor& x, Tensor& out) {
  const int64_t n = x.numel();
  if (n == 0) return;
  fh::cuda::DeviceGuard guard(out.device().index);
  dispatch_float(x, [&](auto tag) {
    using T = decltype(tag);
    const T* px = device_ptr<T>(x);
    T* po = device_ptr<T>(out);
    const bool vec = aligned16(px) && aligned16(po);
    with_activation<T>(op, params, [&](auto fn) {
      activation_forward_kernel<<<vector_grid(n, kVec<T>), kBlockSize, 0, current_stream()>>>(px, po, n, vec, fn);
    });
  });
  FH_CUDA_CHECK_LAUNCH("cuda::activation_forward", op_name(op), " of ", x.describe());
}

void activation_backward(ActivationOp op, const ActivationParams& params, const Tensor& grad, const Tensor& saved,
                         Tensor& grad_in) {
  const int64_t n = grad.numel();
  if (n == 0) return;
  fh::cuda::DeviceGuard guard(grad_in.device().index);
  dispatch_float(grad, [&](auto tag) {
    using T = decltype(tag);
    const T *pg = device_ptr<T>(grad), *ps = device_ptr<T>(saved);
    T* po = device_ptr<T>(grad_in);
    const bool vec = aligned16(pg) && aligned16(ps) && aligned16(po);
    with_activation<T>(op, params, [&](auto fn) {
      activation_backward_kernel<<<vector_grid(n, kVec<T>), kBlockSize, 0, current_stream()>>>(pg, ps, po, n, vec,
                                                                                               fn);
    });
  });
  FH_CUDA_CHECK_LAUNCH("cuda::activation_backward", op_name(op), " of ", grad.describe());
}

void softmax_forward(const Tensor& x, const SoftmaxLayout& layout, Tensor& y) {
  if (x.numel() == 0) return;
  fh::cuda::DeviceGuard guard(y.device().index);
  dispatch_float(x, [&](auto tag) {
    using T = decltype(tag);
    softmax_launch<T>(false, device_ptr<T>(x), nullptr, device_ptr<T>(y), layout);
  });
  FH_CUDA_CHECK_LAUNCH("cuda::softmax_forward", x.describe(), " over an axis of ", layout.axis);
}

void softmax_backward(const Tensor& grad, const Tensor& y, const SoftmaxLayout& layout, Tensor& grad_in) {
  if (y.numel() == 0) return;
  fh::cuda::DeviceGuard guard(grad_in.device().index);
  dispatch_float(y, [&](auto tag) {
    using T = decltype(tag);
    softmax_launch<T>(true, device_ptr<T>(grad), device_ptr<T>(y), device_ptr<T>(grad_in), layout);
  });
  FH_CUDA_CHECK_LAUNCH("cuda::softmax_backward", y.describe(), " over an axis of ", layout.axis);
}

void loss_forward(LossOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  const int64_t n = a.numel();
  if (n == 0) return;
  fh::cuda::DeviceGuard guard(out.device().index);
  const int64_t blocks = loss_blocks(n);
  ScratchBuffer partial(static_cast<size_t>(blocks) * sizeof(double), out.device().index);
  dispatch_float(a, [&](auto tag) {
    using T = decltype(tag);
    const T* pa = device_ptr<T>(a);
    const T* pb = data_or_null<T>(b);
    const bool vec = aligned16(pa) && aligned16(pb);
    with_loss(op, [&](auto op_tag) {
      constexpr LossOp Op = decltype(op_tag)::value;
      loss_partial_kernel<Op, T><<<static_cast<unsigned>(blocks), kLossBlock, 0, current_stream()>>>(
          pa, pb, partial.as<double>(), n, vec);
      FH_CUDA_CHECK_LAUNCH("cuda::loss_forward", op_name(op), " pass 1 of ", a.describe());
      loss_finish_kernel<Op, T><<<1, kLossBlock, 0, current_stream()>>>(partial.as<double>(), blocks, n,
                                                                       device_ptr<T>(out));
    });
  });
  FH_CUDA_CHECK_LAUNCH("cuda::loss_forward", op_name(op), " pass 2 of ", a.describe());
}

void loss_backward(LossOp op, const Tensor& grad_out, const Tensor& a, const Tensor& b, Tensor& grad_a,
                   Tensor& grad_b) {
  const int64_t n = a.numel();
  if (n == 0 || !(grad_a.defined() || grad_b.defined())) return;
  fh::cuda::DeviceGuard guard(a.device().index);
  dispatch_float(a, [&](auto tag) {
    using T = decltype(tag);
    const T *pa = device_ptr<T>(a), *pb = data_or_null<T>(b);
    T *ga = data_or_null<T>(grad_a), *gb = data_or_null<T>(grad_b);
    const bool vec = aligned16(pa) && aligned16(pb) && aligned16(ga) && aligned16(gb);
    const T norm = static_cast<T>(2.0 / static_cast<double>(n));
    with_loss(op, [&](auto op_tag) {
      constexpr LossOp Op = decltype(op_tag)::value;
      loss_backward_kernel<Op, T><<<vector_grid(n, kVec<T>), kBlockSize, 0, current_stream()>>>(
          device_ptr<T>(grad_out), pa, pb, ga, gb, n, norm, vec);
    });
  });
  FH_CUDA_CHECK_LAUNCH("cuda::loss_backward", op_name(op), " of ", a.describe());
}

}  // namespace fh::kernels::cuda
