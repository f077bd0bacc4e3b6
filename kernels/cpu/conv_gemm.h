// Convolution as GEMM on the CPU, the building blocks shared by the forward pass and the
// gradients (kernels/cpu/conv.cpp, conv_weight_grad.cpp).
//
// A convolution slides a window over a source image; every window position is one row of
// an implicit "column matrix" holding the window's pixels in (tap row, tap column, channel)
// order, so that out = columns · weightᵀ is one GEMM. The column matrix is never built
// whole (a batch of 256² maps with a 3x3x32 window would take 600 MB): rows are gathered a
// tile at a time into per-thread scratch and multiplied there: in float32 by the
// register-blocked product against the weight packed once per call
// (packed_product_with_weight), in float64 (the gradient checks) with single-threaded Eigen.
// Images are NHWC, so a window row is one contiguous run of win_w·channels values in both
// the source and the column row: the gather is a few memcpys per position
// (conv_window.h). Products with a handful of outputs skip the GEMM (conv_narrow.h).
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <type_traits>

#include "kernels/cpu/conv_image_rows.h"
#include "kernels/cpu/conv_narrow.h"
#include "kernels/cpu/conv_window.h"
#include "kernels/cpu/register_product.h"
#include "runtime/thread_pool.h"

namespace fh::kernels::cpu::conv {

template <class T>
using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
// Row-major views with a leading dimension (elements from one row to the next).
template <class T>
using ConstMatrixView = Eigen::Map<const RowMajor<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <class T>
using MatrixView = Eigen::Map<RowMajor<T>, Eigen::Unaligned, Eigen::OuterStride<>>;

// Runs body(scratch, task) for every task in [0, tasks) over the thread pool, with
// scratch = make_scratch() made once per participating thread. Threads claim tasks one at
// a time from a shared counter rather than owning a fixed range, so a thread that the OS
// deschedules on a busy machine holds up nothing. Every task writes only its own outputs,
// summed in an order of its own, so which thread runs a task never changes a value.
template <class MakeScratch, class Body>
void for_each_task(int64_t tasks, const MakeScratch& make_scratch, const Body& body) {
  std::atomic<int64_t> next{0};
  parallel_for(std::min<int64_t>(tasks, num_threads()), 1, [&](int64_t, int64_t) {
    auto scratch = make_scratch();
    for (int64_t task = next.fetch_add(1, std::memory_order_relaxed); task < tasks;
         task = next.fetch_add(1, std::memory_order_relaxed))
      body(scratch, task);
  });
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

// Where the output rows of a column-matrix product go: row(r) is row r's first value.
// Contiguous rows (row(r + 1) = row(r) + n_out) take a tile's product in place; others get
// it copied from scratch row by row.
template <class RowAddress>
struct RowDestination {
  bool contiguous;
  RowAddress row;  // int64_t r -> T*
};

// Per-thread scratch of the tiled products: the gathered tile (unless the source is its own
// column matrix), the product when dest rows are not contiguous, and which tile `col` holds.
template <class T>
struct TileScratch {
  std::unique_ptr<T[]> col, staging;
  int64_t gathered = -1;
};

// The column matrix rows [r0, r0 + rows) of row tile `tile`: the source itself when it is
// its own column matrix, else gathered into scratch (once per tile: a thread that claims the
// next output block of the same tile reuses it).
template <class T>
const T* tile_columns(const T* src, const Window& win, int64_t tile, int64_t r0, int64_t rows,
                      TileScratch<T>& scratch) {
  const int64_t K = win.cols();
  if (win.identity()) return src + r0 * K;
  if (scratch.gathered != tile) gather_columns(src, win, r0, rows, 0, K, scratch.col.get());
  scratch.gathered = tile;
  return scratch.col.get();
}

// Float32 products with a K up to this take packed_product_with_weight (its row tiles are
// sized to keep a tile's columns in cache: at most 256 rows of K values).
constexpr int64_t kMaxPackedProductK = 8192;

// dest rows = columns(src, win) · wmatᵀ + bias in float32 by the register-blocked product
// (register_product.h): the weight is packed once per call into blocks of 64 outputs laid
// out [K, 64]; tasks are (row tile, output block) pairs, each multiplying its tile's
// gathered columns by one block straight into the destination. Where Eigen's GEMM repacked
// the weight for every row tile and zeroed the output first, nothing is copied but the
// gather. Every output sums its K products in increasing order, so the split (which
// follows the thread count, to give every thread work) never changes a value.
template <class RowAddress>
void packed_product_with_weight(const float* src, const Window& win, const float* wmat, int64_t n_out,
                                const float* bias, const RowDestination<RowAddress>& dest) {
  const int64_t M = win.rows(), K = win.cols();
  const product::PackedPanels weight = product::PackedPanels::pack(wmat, K, n_out, /*transposed=*/true);
  const int64_t blocks = weight.panels;
  // Row tiles of at most ~1M column values (and 256 rows), fewer rows where there are too few
  // tasks for the threads.
  const int64_t max_rows = std::clamp<int64_t>((int64_t{1} << 20) / std::max<int64_t>(K, 1), 12, 256);
  const int64_t tiles_for_threads = (2 * num_threads() + blocks - 1) / blocks;
  const int64_t tiles = std::max((M + max_rows - 1) / max_rows, std::min(tiles_for_threads, (M + 11) / 12));
  const int64_t rows_per_tile = (M + tiles - 1) / tiles;
  if (dest.contiguous && reads_image_rows(win)) {  // few input channels: no gather (conv_image_rows.h)
    for_each_task(tiles * blocks, [&] { return border_scratch(win); },
                  [&](std::unique_ptr<float[]>& windows, int64_t task) {
                    const int64_t tile = task / blocks, block = task % blocks;
                    const int64_t r0 = tile * rows_per_tile, rows = std::min(rows_per_tile, M - r0);
                    if (rows > 0)
                      image_rows_forward(src, win, weight, block, bias, r0, rows, dest.row(0), n_out, windows.get());
                  });
    return;
  }
  const auto make_scratch = [&] {
    return TileScratch<float>{
        std::unique_ptr<float[]>(win.identity() ? nullptr : new float[rows_per_tile * K]),
        std::unique_ptr<float[]>(dest.contiguous ? nullptr : new float[rows_per_tile * n_out]), -1};
  };
  for_each_task(tiles * blocks, make_scratch, [&](TileScratch<float>& scratch, int64_t task) {
    const int64_t tile = task / blocks, block = task % blocks;
    const int64_t r0 = tile * rows_per_tile, rows = std::min(rows_per_tile, M - r0);
    if (rows <= 0) return;
    const int64_t o0 = weight.begin(block), cols = weight.columns(block);
    const float* columns = tile_columns(src, win, tile, r0, rows, scratch);
    float* out = dest.contiguous ? dest.row(r0) : scratch.staging.get();
    weight.multiply_panel(columns, K, rows, block, out, n_out);
    if (bias)
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < cols; ++j) out[r * n_out + o0 + j] += bias[o0 + j];
    if (!dest.contiguous)
      for (int64_t r = 0; r < rows; ++r)
        std::copy(out + r * n_out + o0, out + r * n_out + o0 + cols, dest.row(r0 + r) + o0);
  });
}

// dest rows = columns(src, win) · wmatᵀ + bias, wmat [n_out, win.cols()] row-major, in
// parallel over the tasks of plan_tiles (or, for a handful of outputs, narrow_rows over
// blocks of rows). Every output value is computed by one task.
template <class T, class RowAddress>
void product_with_weight(const T* src, const Window& win, const T* wmat, int64_t n_out, const T* bias,
                         const RowDestination<RowAddress>& dest) {
  const int64_t M = win.rows(), K = win.cols();
  if (M == 0 || n_out == 0) return;
  if (n_out <= max_narrow_outputs<T>()) {
    // Each row is computed on its own; tasks of ~64K multiply-adds.
    const int64_t rows = std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(1, K * n_out));
    for_each_task((M + rows - 1) / rows, [] { return 0; },
                  [&](int, int64_t task) {
                    narrow_rows(n_out, src, win, wmat, bias, task * rows, std::min(M, (task + 1) * rows), dest.row);
                  });
    return;
  }
  if constexpr (std::is_same_v<T, float>) {
    if (K <= kMaxPackedProductK) return packed_product_with_weight(src, win, wmat, n_out, bias, dest);
  }
  const TilePlan plan = plan_tiles(M, K, n_out);
  const auto make_scratch = [&] {
    return TileScratch<T>{std::unique_ptr<T[]>(win.identity() ? nullptr : new T[plan.rows * K]),
                          std::unique_ptr<T[]>(dest.contiguous ? nullptr : new T[plan.rows * n_out]), -1};
  };
  // Tasks are tile-major, so a thread that claims the next output block of the same tile
  // reuses its gather.
  for_each_task(plan.tiles * plan.out_blocks, make_scratch, [&](TileScratch<T>& scratch, int64_t task) {
    const int64_t tile = task / plan.out_blocks, block = task % plan.out_blocks;
    const int64_t r0 = tile * plan.rows, rows = std::min(plan.rows, M - r0);
    const int64_t c0 = n_out * block / plan.out_blocks, c1 = n_out * (block + 1) / plan.out_blocks;
    const T* columns = tile_columns(src, win, tile, r0, rows, scratch);
    T* out = dest.contiguous ? dest.row(r0) : scratch.staging.get();
    tile_product(columns, K, rows, K, wmat, c0, c1, bias, out, n_out);
    if (!dest.contiguous) {
      for (int64_t r = 0; r < rows; ++r)
        std::copy(scratch.staging.get() + r * n_out + c0, scratch.staging.get() + r * n_out + c1,
                  dest.row(r0 + r) + c0);
    }
  });
}

}  // namespace fh::kernels::cpu::conv
