// Convolution as GEMM on the CPU, the building blocks shared by the forward pass and the
// gradients (kernels/cpu/conv.cpp, conv_weight_grad.cpp).
//
// A convolution slides a window over a source image; every window position is one row of
// an implicit "column matrix" holding the window's pixels in (tap row, tap column, channel)
// order, so that out = columns · weightᵀ is one GEMM. The column matrix is never built
// whole (a batch of 256² maps with a 3x3x32 window would take 600 MB): rows are gathered a
// tile at a time into per-thread scratch and multiplied there with single-threaded Eigen.
// Images are NHWC, so a window row is one contiguous run of win_w·channels values in both
// the source and the column row: the gather is a few memcpys per position.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <memory>

#include "kernels/conv_types.h"
#include "runtime/thread_pool.h"

namespace fh::kernels::cpu::conv {

template <class T>
using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
// Row-major views with a leading dimension (elements from one row to the next).
template <class T>
using ConstMatrixView = Eigen::Map<const RowMajor<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <class T>
using MatrixView = Eigen::Map<RowMajor<T>, Eigen::Unaligned, Eigen::OuterStride<>>;

// Where each row of a column matrix reads its window. Row r = (n, gy, gx) over a grid of
// grid_h × grid_w positions per image reads source pixels
//   (n, gy·stride + origin_y + i, gx·stride + origin_x + j),  i < win_h, j < win_w,
// from a source [batch, src_h, src_w, channels]; pixels outside the source read as zero.
struct Window {
  int64_t batch = 0, src_h = 0, src_w = 0, channels = 0;
  int64_t grid_h = 0, grid_w = 0;
  int64_t win_h = 0, win_w = 0, stride = 1;
  int64_t origin_y = 0, origin_x = 0;

  int64_t rows() const { return batch * grid_h * grid_w; }
  int64_t cols() const { return win_h * win_w * channels; }
  // A 1x1 window reading every source pixel in order: the source is its own column matrix.
  bool identity() const {
    return win_h == 1 && win_w == 1 && stride == 1 && origin_y == 0 && origin_x == 0 && grid_h == src_h &&
           grid_w == src_w;
  }
};

// The forward pass's window: output pixel (n, oy, ox) reads input pixels from
// (oy·stride - pad, ox·stride - pad) on. A weight [Cout, kh, kw, Cin] is then already the
// [Cout, K] matrix whose columns follow the window's (i, j, c) order.
inline Window forward_window(const Conv2dParams& p) {
  return Window{p.N, p.H, p.W, p.Cin, p.Ho, p.Wo, p.kh, p.kw, p.stride, -p.pad, -p.pad};
}

// Writes columns [k0, k1) of rows [r0, r0 + rows) of the column matrix to dst, row-major
// with leading dimension k1 - k0.
template <class T>
void gather_columns(const T* src, const Window& win, int64_t r0, int64_t rows, int64_t k0, int64_t k1, T* dst) {
  const int64_t C = win.channels, run = win.win_w * C, width = k1 - k0;
  const int64_t i_first = k0 / run, i_last = (k1 - 1) / run;
  int64_t gx = r0 % win.grid_w, gy = (r0 / win.grid_w) % win.grid_h, n = r0 / (win.grid_w * win.grid_h);
  for (int64_t r = 0; r < rows; ++r) {
    T* d = dst + r * width;
    const int64_t y0 = gy * win.stride + win.origin_y, x0 = gx * win.stride + win.origin_x;
    // Window columns [j_lo, j_hi) fall inside the source; as offsets into a window row: [e_lo, e_hi).
    const int64_t j_lo = std::clamp<int64_t>(-x0, 0, win.win_w);
    const int64_t j_hi = std::clamp<int64_t>(win.src_w - x0, j_lo, win.win_w);
    const int64_t e_lo = j_lo * C, e_hi = j_hi * C;
    for (int64_t i = i_first; i <= i_last; ++i) {
      // The part [a, b) of window row i that lies in [k0, k1).
      const int64_t a = std::max<int64_t>(k0 - i * run, 0), b = std::min<int64_t>(k1 - i * run, run);
      T* out = d + (i * run + a - k0);  // holds window-row offsets [a, b)
      const int64_t y = y0 + i;
      if (y < 0 || y >= win.src_h) {
        std::fill(out, out + (b - a), T(0));
        continue;
      }
      // Source offset of window row i's first value; only offsets [e_lo, e_hi) past it are read.
      const int64_t base = ((n * win.src_h + y) * win.src_w + x0) * C;
      const int64_t copy_begin = std::clamp(e_lo, a, b), copy_end = std::clamp(e_hi, copy_begin, b);
      std::fill(out, out + (copy_begin - a), T(0));
      std::copy(src + (base + copy_begin), src + (base + copy_end), out + (copy_begin - a));
      std::fill(out + (copy_end - a), out + (b - a), T(0));
    }
    if (++gx == win.grid_w) {
      gx = 0;
      if (++gy == win.grid_h) gy = 0, ++n;
    }
  }
}

// How the rows × outputs of a column-matrix product are cut into tasks: row tiles of
// `rows` (the last one shorter), each split over `out_blocks` blocks of output columns when
// there are too few tiles. A function of the sizes only, so results do not depend on the
// thread count (Eigen's blocking, and with it the summation order, depends on a product's
// sizes).
struct TilePlan {
  int64_t rows = 1, tiles = 0, out_blocks = 1;
};

inline TilePlan plan_tiles(int64_t M, int64_t K, int64_t n_out) {
  // A tile of about 1M column values: large enough that repacking the weight for every tile
  // costs little next to the tile's FLOPs, small enough to stay in the last-level cache.
  constexpr int64_t kTileValues = int64_t{1} << 20, kMinRows = 32, kMaxRows = 1024;
  // Enough tasks to share among the threads of a large machine.
  constexpr int64_t kMinTasks = 32;
  // Output blocks narrower than this make Eigen's micro-kernel inefficient.
  constexpr int64_t kMinBlockOutputs = 64;
  TilePlan plan;
  plan.rows = std::min(M, std::clamp(kTileValues / std::max<int64_t>(K, 1), kMinRows, kMaxRows));
  plan.tiles = (M + plan.rows - 1) / plan.rows;
  if (plan.tiles < kMinTasks) {
    plan.out_blocks = std::clamp((kMinTasks + plan.tiles - 1) / plan.tiles, int64_t{1},
                                 std::max<int64_t>(1, n_out / kMinBlockOutputs));
    const int64_t tiles_wanted = (kMinTasks + plan.out_blocks - 1) / plan.out_blocks;
    if (plan.tiles < tiles_wanted) {
      plan.rows = std::min(M, std::max(kMinRows, (M + tiles_wanted - 1) / tiles_wanted));
      plan.tiles = (M + plan.rows - 1) / plan.rows;
    }
  }
  return plan;
}

// out(rows, c0:c1) = col · wmat(c0:c1, :)ᵀ + bias(c0:c1) for a tile: col [rows, K] with
// leading dimension ld_col, wmat [n_out, K] row-major, out with leading dimension ld_out.
// A null bias adds nothing.
template <class T>
void tile_product(const T* col, int64_t ld_col, int64_t rows, int64_t K, const T* wmat, int64_t c0, int64_t c1,
                  const T* bias, T* out, int64_t ld_out) {
  const ConstMatrixView<T> A(col, rows, K, Eigen::OuterStride<>(ld_col));
  const ConstMatrixView<T> B(wmat + c0 * K, c1 - c0, K, Eigen::OuterStride<>(K));
  MatrixView<T> C(out + c0, rows, c1 - c0, Eigen::OuterStride<>(ld_out));
  if (bias) {
    for (int64_t r = 0; r < rows; ++r) std::copy(bias + c0, bias + c1, out + r * ld_out + c0);
    C.noalias() += A * B.transpose();
  } else {
    C.noalias() = A * B.transpose();
  }
}

// Where the output rows of a column-matrix product go: `base + r·ld` when contiguous,
// else wherever row(r) says (the product is formed in scratch and copied out).
template <class RowAddress>
struct RowDestination {
  bool contiguous;
  RowAddress row;  // int64_t r -> T*
};

// dest rows = columns(src, win) · wmatᵀ + bias, wmat [n_out, win.cols()] row-major, in
// parallel over the tasks of plan_tiles. Every output value is computed by one task.
template <class T, class RowAddress>
void product_with_weight(const T* src, const Window& win, const T* wmat, int64_t n_out, const T* bias,
                         const RowDestination<RowAddress>& dest) {
  const int64_t M = win.rows(), K = win.cols();
  if (M == 0 || n_out == 0) return;
  const TilePlan plan = plan_tiles(M, K, n_out);
  const bool src_is_columns = win.identity();
  parallel_for(plan.tiles * plan.out_blocks, 1, [&](int64_t task_begin, int64_t task_end) {
    // Scratch for this chunk of tasks, reused by each of its tiles.
    std::unique_ptr<T[]> col(src_is_columns ? nullptr : new T[plan.rows * K]);
    std::unique_ptr<T[]> staging(dest.contiguous ? nullptr : new T[plan.rows * n_out]);
    int64_t gathered = -1;  // the tile whose columns `col` holds
    for (int64_t task = task_begin; task < task_end; ++task) {
      const int64_t tile = task / plan.out_blocks, block = task % plan.out_blocks;
      const int64_t r0 = tile * plan.rows, rows = std::min(plan.rows, M - r0);
      const int64_t c0 = n_out * block / plan.out_blocks, c1 = n_out * (block + 1) / plan.out_blocks;
      const T* columns = src + r0 * K;
      if (!src_is_columns) {
        if (gathered != tile) gather_columns(src, win, r0, rows, 0, K, col.get());
        gathered = tile;
        columns = col.get();
      }
      T* out = dest.contiguous ? dest.row(r0) : staging.get();
      tile_product(columns, K, rows, K, wmat, c0, c1, bias, out, n_out);
      if (!dest.contiguous) {
        for (int64_t r = 0; r < rows; ++r)
          std::copy(staging.get() + r * n_out + c0, staging.get() + r * n_out + c1, dest.row(r0 + r) + c0);
      }
    }
  });
}

}  // namespace fh::kernels::cpu::conv
