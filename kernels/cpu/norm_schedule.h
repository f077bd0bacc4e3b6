// How the CPU normalisation kernels split and order their work. Each is a reduction
// (per-channel sums in double over rows) followed by an elementwise pass that applies the
// result, on a tensor viewed as [groups, rows, channels]: batch norm has one group of N·H·W
// rows, instance norm and SPADE have N groups of H·W rows.
//
// Groups are processed in waves of about a million elements or more, one group at a time
// when groups are that large: the threads first sum a wave's rows, cut into pieces summed
// in parallel over whole, contiguous rows; the pieces' sums are added in piece order; then
// each thread applies the rows it summed, while they are still in its cache or in the
// shared one. (Blocks of channels over all rows would keep a channel's rows in a core's
// cache, but in NHWC they are strided reads, measured three times slower.) A channel's
// terms are thus added in an order fixed by the shapes, whatever the thread count, and
// every output element is written by one chunk.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "kernels/cpu/walk.h"
#include "runtime/thread_pool.h"

namespace fh::kernels::cpu {

struct GroupedRows {
  int64_t groups = 1, rows = 1, channels = 1;
};

// Rows a reduction step adds per accumulator load and store (in row order, so the result is
// that of adding them one by one).
constexpr int kRowsPerStep = 4;
template <int kRows>
using Rows = std::integral_constant<int, kRows>;

// apply(g, r) for every row, in parallel: the elementwise pass alone.
template <class Apply>
void apply_rows(const GroupedRows& geo, Apply&& apply) {
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, geo.channels));
  parallel_for(geo.groups * geo.rows, grain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) apply(i / geo.rows, i % geo.rows);
  });
}

// Groups are taken in waves of at least kWaveElements elements (one group when a group is
// that large); each wave's rows are cut into pieces, enough for 64 threads, each of at
// least kMinPieceElements. Both counts depend on the shapes only.
constexpr int64_t kWaveElements = 1 << 20;
constexpr int64_t kMinPieceElements = 1 << 14;

// The callbacks, for group g:
//   accumulate(g, r, rows, double* sums): adds the terms of rows r, ..., r + rows - 1 (rows
//       is Rows<kRowsPerStep> or Rows<1>), row after row, to sums[s * C + c] for s < kSums
//       and every channel c; it may also write per-element outputs of those rows;
//   finalize(g, const double* sums): the group's sums are complete;
//   apply(g, r): the elementwise pass over row r.
template <int kSums, class Accumulate, class Finalize, class Apply>
void reduce_then_apply(const GroupedRows& geo, Accumulate&& accumulate, Finalize&& finalize, Apply&& apply) {
  const int64_t G = geo.groups, R = geo.rows, C = geo.channels;
  if (G == 0 || R == 0 || C == 0) return;
  const int64_t wave = std::clamp<int64_t>((kWaveElements + R * C - 1) / (R * C), 1, G);
  const int64_t pieces = std::clamp<int64_t>(std::min((64 + wave - 1) / wave, R * C / kMinPieceElements), 1, R);
  auto piece_rows = [&](int64_t piece, int64_t& r0, int64_t& r1) {
    r0 = R * piece / pieces;
    r1 = R * (piece + 1) / pieces;
  };
  // partial[item][s][c]: one item's sums, written by the chunk that owns the item.
  std::vector<double> partial(static_cast<size_t>(wave * pieces * kSums * C));
  std::vector<double> totals(static_cast<size_t>(kSums * C));
  for (int64_t g0 = 0; g0 < G; g0 += wave) {
    const int64_t items = std::min(wave, G - g0) * pieces;
    std::fill(partial.begin(), partial.end(), 0.0);
    parallel_for(items, 1, [&](int64_t begin, int64_t end) {
      for (int64_t item = begin; item < end; ++item) {
        const int64_t g = g0 + item / pieces;
        int64_t r, r1;
        piece_rows(item % pieces, r, r1);
        double* sums = partial.data() + item * kSums * C;
        for (; r + kRowsPerStep <= r1; r += kRowsPerStep) accumulate(g, r, Rows<kRowsPerStep>{}, sums);
        for (; r < r1; ++r) accumulate(g, r, Rows<1>{}, sums);
      }
    });
    for (int64_t g = g0; g < g0 + items / pieces; ++g) {
      std::fill(totals.begin(), totals.end(), 0.0);
      for (int64_t piece = 0; piece < pieces; ++piece) {
        const double* src = partial.data() + ((g - g0) * pieces + piece) * kSums * C;
        for (int64_t i = 0; i < kSums * C; ++i) totals[i] += src[i];
      }
      finalize(g, static_cast<const double*>(totals.data()));
    }
    // The same items in the same chunks: each thread applies the rows it has just summed,
    // which its cache may still hold.
    parallel_for(items, 1, [&](int64_t begin, int64_t end) {
      for (int64_t item = begin; item < end; ++item) {
        int64_t r0, r1;
        piece_rows(item % pieces, r0, r1);
        for (int64_t r = r0; r < r1; ++r) apply(g0 + item / pieces, r);
      }
    });
  }
}

}  // namespace fh::kernels::cpu
