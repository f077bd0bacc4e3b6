// Softmax along one axis on the CPU, for a tensor viewed as [outer, axis, inner].
// Two shapes of work, each vectorised along contiguous memory:
//  - inner == 1 (the innermost axis): rows of `axis` contiguous elements. Rows are taken in
//    blocks of ~kRowBlock elements that stay in L1 while the block is walked in passes
//    (row maxima; x - max; exp over the whole block; row sums; scaling), so even rows of a
//    few elements get a long, vectorised exp loop; rows of 2-8 elements are compiled for
//    their length, so the per-row passes unroll and vectorise across rows too.
//  - inner > 1 (an outer axis, e.g. N-shot weights [N, M, H, W, 1] over M): tiles of up to
//    kColumnTile contiguous columns, each column's reduction running down the axis with the
//    tile's columns as the vector lanes.
// Every output is written by one chunk and every sum is taken in an order fixed by the
// shape, so results do not depend on the thread count.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <type_traits>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/vector_math.h"
#include "kernels/cpu/walk.h"
#include "runtime/thread_pool.h"

namespace fh::kernels::cpu {

namespace {

// Independent accumulators for reductions along a contiguous row: one vector register of
// floats, combined in a fixed order at the end.
constexpr int kLanes = 16;
constexpr int64_t kRowBlock = 2048;
constexpr int64_t kColumnTile = 256;

template <class T>
T combine_lanes(T* acc) {
  for (int width = kLanes / 2; width > 0; width /= 2)
    for (int k = 0; k < width; ++k) acc[k] += acc[k + width];
  return acc[0];
}

// Floats compared as integers: flipping the magnitude bits of negative values makes signed
// integer order match float order (-0 sorts just below +0), and an integer max reduction is
// one the compiler vectorises (a float one it does not, without -ffast-math). The map is its
// own inverse.
template <class T>
struct OrderedBits;
template <>
struct OrderedBits<float> {
  using Int = int32_t;
  static Int flip(Int b) { return b ^ ((b >> 31) & 0x7fffffff); }
};
template <>
struct OrderedBits<double> {
  using Int = int64_t;
  static Int flip(Int b) { return b ^ ((b >> 63) & 0x7fffffffffffffffLL); }
};

// The row's maximum. A NaN may or may not win here; either way it reaches the row's sum
// through exp and turns the whole row NaN there, as in PyTorch.
template <class T>
T row_max(const T* p, int64_t n) {
  using B = OrderedBits<T>;
  typename B::Int m = B::flip(std::bit_cast<typename B::Int>(p[0]));
  for (int64_t i = 1; i < n; ++i) m = std::max(m, B::flip(std::bit_cast<typename B::Int>(p[i])));
  return std::bit_cast<T>(B::flip(m));
}

// Σ a[i]·b[i] (b = nullptr: Σ a[i]).
template <class T>
T row_dot(const T* a, const T* b, int64_t n) {
  if (n < kLanes) {
    T s = 0;
    for (int64_t i = 0; i < n; ++i) s += b ? a[i] * b[i] : a[i];
    return s;
  }
  T acc[kLanes] = {};
  int64_t i = 0;
  if (b) {
    for (; i + kLanes <= n; i += kLanes)
      for (int k = 0; k < kLanes; ++k) acc[k] += a[i + k] * b[i + k];
    for (int k = 0; i < n; ++i, ++k) acc[k] += a[i] * b[i];
  } else {
    for (; i + kLanes <= n; i += kLanes)
      for (int k = 0; k < kLanes; ++k) acc[k] += a[i + k];
    for (int k = 0; i < n; ++i, ++k) acc[k] += a[i];
  }
  return combine_lanes(acc);
}

// Calls body(len) with len a compile-time constant (std::integral_constant) for the short
// rows that dominate in practice (N-shot sources, a few channels), so that the per-row loops
// unroll completely and vectorise across rows; with the plain int64_t otherwise.
template <class Body>
void with_row_length(int64_t len, Body&& body) {
  using std::integral_constant;
  switch (len) {
    case 2: return body(integral_constant<int64_t, 2>{});
    case 3: return body(integral_constant<int64_t, 3>{});
    case 4: return body(integral_constant<int64_t, 4>{});
    case 5: return body(integral_constant<int64_t, 5>{});
    case 6: return body(integral_constant<int64_t, 6>{});
    case 7: return body(integral_constant<int64_t, 7>{});
    case 8: return body(integral_constant<int64_t, 8>{});
    default: return body(len);
  }
}

// Rows [r0, r1) of length `len`, in blocks of about kRowBlock elements.
template <class T, class Len>
void rows_forward_chunk(const T* x, T* y, int64_t r0, int64_t r1, Len length) {
  const int64_t len = length;
  const int64_t block_rows = std::max<int64_t>(1, kRowBlock / len);
  T scale[kRowBlock];  // per row of the block: its max, then 1 / its sum
  for (int64_t b = r0; b < r1; b += block_rows) {
    const int64_t nr = std::min(block_rows, r1 - b);
    const T* xb = x + b * len;
    T* yb = y + b * len;
    for (int64_t r = 0; r < nr; ++r) scale[r] = row_max(xb + r * len, len);
    for (int64_t r = 0; r < nr; ++r) {
      const T m = scale[r];
      for (int64_t j = 0; j < len; ++j) yb[r * len + j] = xb[r * len + j] - m;
    }
    for (int64_t i = 0; i < nr * len; ++i) yb[i] = vmath::exp(yb[i]);
    for (int64_t r = 0; r < nr; ++r) scale[r] = T(1) / row_dot<T>(yb + r * len, nullptr, len);
    for (int64_t r = 0; r < nr; ++r) {
      const T s = scale[r];
      for (int64_t j = 0; j < len; ++j) yb[r * len + j] *= s;
    }
  }
}

template <class T, class Len>
void rows_backward_chunk(const T* g, const T* y, T* gin, int64_t r0, int64_t r1, Len length) {
  const int64_t len = length;
  for (int64_t r = r0; r < r1; ++r) {
    const T* gr = g + r * len;
    const T* yr = y + r * len;
    T* out = gin + r * len;
    const T d = row_dot(gr, yr, len);
    for (int64_t j = 0; j < len; ++j) out[j] = yr[j] * (gr[j] - d);
  }
}

template <class T>
void rows_forward(const T* x, T* y, int64_t rows, int64_t len) {
  parallel_for(rows, std::max<int64_t>(1, kElementwiseGrain / len), [=](int64_t r0, int64_t r1) {
    with_row_length(len, [&](auto length) { rows_forward_chunk(x, y, r0, r1, length); });
  });
}

template <class T>
void rows_backward(const T* g, const T* y, T* gin, int64_t rows, int64_t len) {
  parallel_for(rows, std::max<int64_t>(1, kElementwiseGrain / len), [=](int64_t r0, int64_t r1) {
    with_row_length(len, [&](auto length) { rows_backward_chunk(g, y, gin, r0, r1, length); });
  });
}

// Calls tile(offset of the tile's first element, width) for every [axis, width] tile of
// columns, in parallel; offsets address element (o, 0, c0) of the [outer, axis, inner] view.
template <class TileFn>
void for_each_column_tile(const SoftmaxLayout& S, TileFn&& tile) {
  const int64_t tiles = (S.inner + kColumnTile - 1) / kColumnTile;
  const int64_t tile_elems = S.axis * std::min(S.inner, kColumnTile);
  parallel_for(S.outer * tiles, std::max<int64_t>(1, kElementwiseGrain / tile_elems), [&](int64_t i0, int64_t i1) {
    for (int64_t item = i0; item < i1; ++item) {
      const int64_t o = item / tiles, c0 = (item % tiles) * kColumnTile;
      tile(o * S.axis * S.inner + c0, std::min(kColumnTile, S.inner - c0));
    }
  });
}

template <class T>
void columns_forward(const T* x, T* y, const SoftmaxLayout& S) {
  const int64_t len = S.axis, stride = S.inner;
  for_each_column_tile(S, [&](int64_t offset, int64_t w) {
    T col_max[kColumnTile], col_sum[kColumnTile];
    const T* xb = x + offset;
    T* yb = y + offset;
    for (int64_t c = 0; c < w; ++c) col_max[c] = xb[c];
    for (int64_t l = 1; l < len; ++l) {
      const T* xr = xb + l * stride;
      for (int64_t c = 0; c < w; ++c) col_max[c] = xr[c] > col_max[c] ? xr[c] : col_max[c];
    }
    for (int64_t c = 0; c < w; ++c) col_sum[c] = 0;
    for (int64_t l = 0; l < len; ++l) {
      const T* xr = xb + l * stride;
      T* yr = yb + l * stride;
      for (int64_t c = 0; c < w; ++c) {
        const T e = vmath::exp(xr[c] - col_max[c]);
        yr[c] = e;
        col_sum[c] += e;
      }
    }
    for (int64_t c = 0; c < w; ++c) col_sum[c] = T(1) / col_sum[c];
    for (int64_t l = 0; l < len; ++l) {
      T* yr = yb + l * stride;
      for (int64_t c = 0; c < w; ++c) yr[c] *= col_sum[c];
    }
  });
}

template <class T>
void columns_backward(const T* g, const T* y, T* gin, const SoftmaxLayout& S) {
  const int64_t len = S.axis, stride = S.inner;
  for_each_column_tile(S, [&](int64_t offset, int64_t w) {
    T dot[kColumnTile] = {};
    for (int64_t l = 0; l < len; ++l) {
      const T* gr = g + offset + l * stride;
      const T* yr = y + offset + l * stride;
      for (int64_t c = 0; c < w; ++c) dot[c] += gr[c] * yr[c];
    }
    for (int64_t l = 0; l < len; ++l) {
      const int64_t row = offset + l * stride;
      for (int64_t c = 0; c < w; ++c) gin[row + c] = y[row + c] * (g[row + c] - dot[c]);
    }
  });
}

template <class T>
void forward_typed(const T* x, T* y, const SoftmaxLayout& S) {
  if (S.inner == 1) {
    rows_forward(x, y, S.outer, S.axis);
  } else {
    columns_forward(x, y, S);
  }
}

template <class T>
void backward_typed(const T* g, const T* y, T* gin, const SoftmaxLayout& S) {
  if (S.inner == 1) {
    rows_backward(g, y, gin, S.outer, S.axis);
  } else {
    columns_backward(g, y, gin, S);
  }
}

}  // namespace

void softmax_forward(const Tensor& x, const SoftmaxLayout& layout, Tensor& y) {
  if (x.dtype() == DType::F64) {
    forward_typed(x.data<double>(), y.data<double>(), layout);
  } else {
    forward_typed(x.data<float>(), y.data<float>(), layout);
  }
}

void softmax_backward(const Tensor& grad, const Tensor& y, const SoftmaxLayout& layout, Tensor& grad_in) {
  if (y.dtype() == DType::F64) {
    backward_typed(grad.data<double>(), y.data<double>(), grad_in.data<double>(), layout);
  } else {
    backward_typed(grad.data<float>(), y.data<float>(), grad_in.data<float>(), layout);
  }
}

}  // namespace fh::kernels::cpu
