// The weight gradient of a 2-d convolution on the CPU:
//   grad_w [Cout, K] = Σ over output pixels r of grad_out(r, :)ᵀ · columns(r, :),
// a GEMM whose inner dimension is the N·Ho·Wo output pixels. The pixels are cut into a
// fixed number of pieces and the K columns into blocks; each (piece, block) task sums its
// pixels tile by tile into its own partial result, and the pieces' partials are added in
// piece order. Both cuts depend on the sizes only, so the result does not depend on the
// thread count. Float32 tiles multiply by the register-blocked product; float64 ones by
// Eigen, or with a handful of outputs (the 7x7 heads) a piece sums straight from the input
// (conv_narrow.h). Float32 3x3 stride-1 layers that winograd_tile picks take the Winograd
// forward's transposed form instead (conv_winograd.h).
#include <type_traits>
#include <vector>

#include "kernels/cpu/conv_gemm.h"
#include "kernels/cpu/conv_winograd.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/register_product.h"

namespace fh::kernels::cpu {

namespace {

using conv::ConstMatrixView;
using conv::MatrixView;
using conv::Window;

struct WeightGradPlan {
  int64_t pieces = 1;   // pixel ranges summed separately, then added in order
  int64_t kblocks = 1;  // column blocks of grad_w
  int64_t rows = 1;     // pixels per gathered tile
};

WeightGradPlan plan_weight_grad(int64_t M, int64_t K, int64_t Cout, bool narrow) {
  // A column block of at most 512 keeps a task's [Cout, block] accumulator and the tile's
  // columns cache-resident; tiles of ~512K values amortise the accumulator's load and
  // store over many pixels.
  constexpr int64_t kMaxBlock = 512, kTileValues = int64_t{1} << 19, kMinRows = 64, kMaxRows = 2048;
  constexpr int64_t kMinTasks = 32;                     // enough to share among the threads of a large machine
  constexpr int64_t kPartialBudget = int64_t{8} << 20;  // values held by all pieces' partials
  WeightGradPlan plan;
  // The narrow path keeps all of its [Cout, K] accumulator in cache and needs no blocks.
  plan.kblocks = narrow ? 1 : (K + kMaxBlock - 1) / kMaxBlock;
  const int64_t block = (K + plan.kblocks - 1) / plan.kblocks;
  plan.rows = std::clamp(kTileValues / block, kMinRows, kMaxRows);
  const int64_t wanted = (kMinTasks + plan.kblocks - 1) / plan.kblocks;
  const int64_t by_rows = std::max<int64_t>(1, M / plan.rows);  // each piece at least a full tile
  const int64_t by_memory = std::max<int64_t>(1, kPartialBudget / (Cout * K));
  plan.pieces = std::max<int64_t>(1, std::min({wanted, by_rows, by_memory}));
  return plan;
}

// Each (piece, column block) task: its pixels' columns gathered a tile at a time, and
// acc(:, k0:k1) = Σ over the tiles, in order, of G_tileᵀ · columns_tile by Eigen.
template <class T>
void sum_pieces_by_gemm(const T* grad_out, const T* x, const Window& win, int64_t Cout, const WeightGradPlan& plan,
                        T* const* piece_acc) {
  const int64_t M = win.rows(), K = win.cols();
  const bool src_is_columns = win.identity();
  const int64_t max_block = (K + plan.kblocks - 1) / plan.kblocks;
  const auto make_scratch = [&] {
    return std::unique_ptr<T[]>(src_is_columns ? nullptr : new T[plan.rows * max_block]);
  };
  conv::for_each_task(plan.pieces * plan.kblocks, make_scratch, [&](std::unique_ptr<T[]>& col, int64_t task) {
    const int64_t piece = task / plan.kblocks, kb = task % plan.kblocks;
    const int64_t r_begin = M * piece / plan.pieces, r_end = M * (piece + 1) / plan.pieces;
    const int64_t k0 = K * kb / plan.kblocks, k1 = K * (kb + 1) / plan.kblocks;
    MatrixView<T> D(piece_acc[piece] + k0, Cout, k1 - k0, Eigen::OuterStride<>(K));
    if (r_begin == r_end) D.setZero();
    for (int64_t r0 = r_begin; r0 < r_end; r0 += plan.rows) {
      const int64_t rows = std::min(plan.rows, r_end - r0);
      const T* columns = x + r0 * K + k0;
      int64_t ld = K;
      if (!src_is_columns) {
        conv::gather_columns(x, win, r0, rows, k0, k1, col.get());
        columns = col.get();
        ld = k1 - k0;
      }
      const ConstMatrixView<T> G(grad_out + r0 * Cout, rows, Cout, Eigen::OuterStride<>(Cout));
      const ConstMatrixView<T> A(columns, rows, k1 - k0, Eigen::OuterStride<>(ld));
      if (r0 == r_begin) {
        D.noalias() = G.transpose() * A;
      } else {
        D.noalias() += G.transpose() * A;
      }
    }
  });
}

// Float32 by the register-blocked product (register_product.h), which Eigen's GEMM would
// otherwise reach only after packing both operands for every tile: per tile the gradient
// rows are transposed once into Gᵀ [Cout, rows] and the tile's columns gathered once; the
// task's block of the accumulator takes Gᵀ · columns (read where they lie), written by the
// piece's first tile and added to by the rest. Each value of
// a piece's partial is then the sum over the piece's pixels in increasing order.
void sum_pieces_by_product(const float* grad_out, const float* x, const Window& win, int64_t Cout,
                           const WeightGradPlan& plan, float* const* piece_acc) {
  using product::kLanes;
  const int64_t M = win.rows(), K = win.cols();
  const int64_t max_block = (K + plan.kblocks - 1) / plan.kblocks;
  // The longest tile: plan.rows, or a whole piece where pieces are shorter (small images).
  const int64_t tile_rows = std::min(plan.rows, (M + plan.pieces - 1) / plan.pieces);
  const int64_t rows_pad = (tile_rows + kLanes - 1) / kLanes * kLanes;
  struct Scratch {
    std::unique_ptr<float[]> gt, columns;
  };
  const auto make_scratch = [&] {
    return Scratch{std::unique_ptr<float[]>(new float[Cout * rows_pad]),
                   std::unique_ptr<float[]>(new float[tile_rows * max_block + kLanes])};
  };
  conv::for_each_task(plan.pieces * plan.kblocks, make_scratch, [&](Scratch& sc, int64_t task) {
    const int64_t piece = task / plan.kblocks, kb = task % plan.kblocks;
    const int64_t r_begin = M * piece / plan.pieces, r_end = M * (piece + 1) / plan.pieces;
    const int64_t k0 = K * kb / plan.kblocks, k1 = K * (kb + 1) / plan.kblocks, width = k1 - k0;
    float* acc = piece_acc[piece] + k0;  // [Cout, width] with leading dimension K
    if (r_begin == r_end)
      for (int64_t o = 0; o < Cout; ++o) std::fill(acc + o * K, acc + o * K + width, 0.0f);
    for (int64_t r0 = r_begin; r0 < r_end; r0 += tile_rows) {
      const int64_t rows = std::min(tile_rows, r_end - r0);
      product::pack_transposed(grad_out + r0 * Cout, Cout, rows, Cout, rows_pad, sc.gt.get(), rows_pad);
      conv::gather_columns(x, win, r0, rows, k0, k1, sc.columns.get());
      // The product reads every row of a panel whole vectors wide: up to kLanes - 1 values
      // past the last row's end, which only reach lanes it does not store.
      std::fill_n(sc.columns.get() + rows * width, kLanes, 0.0f);
      product::multiply_strided(sc.gt.get(), rows_pad, Cout, sc.columns.get(), width, rows, width, acc, K,
                                /*accumulate=*/r0 != r_begin);
    }
  });
}

// Few input channels and 16 or 32 outputs: each piece sums outer products of the image rows
// read in place (conv_image_rows.h) into a [K, Cout] accumulator, then stores it transposed.
void sum_pieces_from_image_rows(const float* grad_out, const float* x, const Window& win, int64_t Cout,
                                const WeightGradPlan& plan, float* const* piece_acc) {
  const int64_t M = win.rows(), K = win.cols();
  struct Scratch {
    std::unique_ptr<float[]> acc, window;
  };
  const auto make_scratch = [&] {
    return Scratch{std::unique_ptr<float[]>(new float[K * Cout]), conv::border_scratch(win)};
  };
  conv::for_each_task(plan.pieces, make_scratch, [&](Scratch& sc, int64_t piece) {
    std::fill_n(sc.acc.get(), K * Cout, 0.0f);
    conv::image_rows_weight_grad(grad_out, x, win, Cout, M * piece / plan.pieces, M * (piece + 1) / plan.pieces,
                                 sc.acc.get(), sc.window.get());
    float* dst = piece_acc[piece];
    for (int64_t k = 0; k < K; ++k)
      for (int64_t o = 0; o < Cout; ++o) dst[o * K + k] = sc.acc[k * Cout + o];
  });
}

// A handful of outputs: each piece sums straight from the input, without a gather
// (conv_narrow.h).
template <class T>
void sum_pieces_narrow(const T* grad_out, const T* x, const Window& win, int64_t Cout, const WeightGradPlan& plan,
                       T* const* piece_acc) {
  const int64_t M = win.rows(), K = win.cols();
  conv::for_each_task(
      plan.pieces, [] { return 0; },
      [&](int, int64_t piece) {
        T* acc = piece_acc[piece];
        std::fill(acc, acc + Cout * K, T(0));
        conv::narrow_weight_rows(Cout, x, win, grad_out, M * piece / plan.pieces, M * (piece + 1) / plan.pieces, acc);
      });
}

template <class T>
void conv2d_backward_weight_typed(const T* grad_out, const T* x, const Conv2dParams& p, T* grad_w) {
  const Window win = conv::forward_window(p);
  const int64_t M = win.rows(), K = win.cols(), Cout = p.Cout;
  // Float32 takes the register product where it was measured faster: with a handful of
  // outputs, where it beats the dot products (1.3-2.8x at E_can's 4- and 8-channel layers,
  // 1.5x at its 7x7 stem), which float64 keeps; and from K = 64 (1.1-1.2x Eigen on 64²-128²
  // layers of 128-512 channels). Between, Eigen's kernel is ahead: 2-4x where K is under one
  // vector (1x1 layers widening 4-8 channels) and 1.2x at K = 27 (3x3 over 3 channels, 128
  // outputs).
  constexpr bool kFloat = std::is_same_v<T, float>;
  constexpr int64_t kMinProductK = 64;
  const bool narrow = !kFloat && Cout <= conv::kMaxNarrowOutputs;
  const bool by_product = kFloat && (K >= kMinProductK || Cout <= conv::kMaxNarrowOutputs);
  // Few input channels and 16 or 32 outputs (E_can's stem): the image rows read in place,
  // 2.3x the gathered product (docs/cpu-conv.md).
  const bool from_image_rows = kFloat && conv::weight_grad_reads_image_rows(win, Cout);
  const WeightGradPlan plan = plan_weight_grad(M, K, Cout, narrow || from_image_rows);
  // Each piece's partial sum; a single piece sums into grad_w directly.
  const int64_t total = Cout * K;
  std::unique_ptr<T[]> partial(plan.pieces > 1 ? new T[plan.pieces * total] : nullptr);
  std::vector<T*> piece_acc(static_cast<size_t>(plan.pieces), grad_w);
  for (int64_t piece = 0; piece < plan.pieces && plan.pieces > 1; ++piece)
    piece_acc[piece] = partial.get() + piece * total;
  if (narrow) {
    sum_pieces_narrow(grad_out, x, win, Cout, plan, piece_acc.data());
  } else if (from_image_rows) {
    if constexpr (kFloat) sum_pieces_from_image_rows(grad_out, x, win, Cout, plan, piece_acc.data());
  } else if (by_product) {
    if constexpr (kFloat) sum_pieces_by_product(grad_out, x, win, Cout, plan, piece_acc.data());
  } else {
    sum_pieces_by_gemm(grad_out, x, win, Cout, plan, piece_acc.data());
  }
  if (plan.pieces == 1) return;
  parallel_for(total, 1 << 14, [&](int64_t e0, int64_t e1) {
    std::copy(partial.get() + e0, partial.get() + e1, grad_w + e0);
    for (int64_t piece = 1; piece < plan.pieces; ++piece) {
      const T* part = partial.get() + piece * total;
      for (int64_t e = e0; e < e1; ++e) grad_w[e] += part[e];
    }
  });
}

}  // namespace

void conv2d_backward_weight(const Tensor& grad_out, const Tensor& x, const Conv2dParams& p, Tensor& grad_w) {
  const int tile = grad_out.dtype() == DType::F32 ? winograd_tile(p) : 0;
  if (tile == 0) return conv2d_backward_weight_direct(grad_out, x, p, grad_w);
  conv2d_backward_weight_winograd(grad_out.data<float>(), x.data<float>(), p, tile, grad_w.data<float>());
}

void conv2d_backward_weight_direct(const Tensor& grad_out, const Tensor& x, const Conv2dParams& p, Tensor& grad_w) {
  if (grad_out.dtype() == DType::F64) {
    conv2d_backward_weight_typed(grad_out.data<double>(), x.data<double>(), p, grad_w.data<double>());
  } else {
    conv2d_backward_weight_typed(grad_out.data<float>(), x.data<float>(), p, grad_w.data<float>());
  }
}

}  // namespace fh::kernels::cpu
