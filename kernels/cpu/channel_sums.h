// Per-channel sums over the rows of a grouped NHWC tensor, the reduction every
// normalisation kernel is built on, and the row walk that applies its results.
//
// A tensor is viewed as [groups, rows, channels]: batch norm has one group of N·H·W rows,
// instance norm and SPADE have N groups of H·W rows. A group's rows are cut into pieces (a
// number that depends on the shapes only) so that a batch of 1 or 8 keeps every thread
// busy; a piece is summed in blocks of rows, channel tile by channel tile, with the tile's
// sums in registers; then each channel's piece sums are added in piece order. So a
// channel's terms are always added in the same order, whatever the thread count.
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
  int64_t elements_per_group() const { return rows * channels; }
};

// Channels per register tile: 16 double sums fill 2 AVX-512 (4 AVX2) registers per sum.
constexpr int kChannelTile = 16;
// Rows summed in registers before the tile's sums go back to the piece's totals.
constexpr int64_t kRowBlock = 16;

// Pieces per group: enough (group, piece) items for 64 threads, each of at least 16K elements.
inline int64_t pieces_per_group(const GroupedRows& g) {
  const int64_t wanted = (64 + g.groups - 1) / g.groups;
  const int64_t by_work = std::max<int64_t>(1, g.elements_per_group() / (1 << 14));
  return std::clamp<int64_t>(std::min(wanted, by_work), 1, g.rows);
}

// A channel tile's width: the compile-time kChannelTile for full tiles (the loops over it
// unroll and vectorise), a run-time count for the last, partial one.
using FullTile = std::integral_constant<int, kChannelTile>;

template <int kSums>
using TileSums = double[kSums][kChannelTile];

// Returns totals[s * groups * channels + g * channels + c], for s < kSums, of the terms that
// `accumulate` adds. accumulate(g, r0, r1, c0, width, TileSums<kSums>& sums) adds, for rows
// [r0, r1) of group g and channels [c0, c0 + width), each row's terms to sums[s][c - c0],
// row after row (it may also write per-element outputs of those rows and channels).
template <int kSums, class Accumulate>
std::vector<double> sum_channels(const GroupedRows& geo, Accumulate&& accumulate) {
  const int64_t G = geo.groups, R = geo.rows, C = geo.channels;
  const int64_t pieces = pieces_per_group(geo);
  const int64_t items = G * pieces;
  // partial[item][s][c]: one item's sums, written by the chunk that owns the item.
  std::vector<double> partial(static_cast<size_t>(items * kSums * C), 0.0);
  parallel_for(items, 1, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t g = item / pieces, piece = item % pieces;
      const int64_t r_begin = R * piece / pieces, r_end = R * (piece + 1) / pieces;
      double* totals = partial.data() + item * kSums * C;
      for (int64_t r0 = r_begin; r0 < r_end; r0 += kRowBlock) {
        const int64_t r1 = std::min(r0 + kRowBlock, r_end);
        int64_t c0 = 0;
        for (; c0 + kChannelTile <= C; c0 += kChannelTile) {
          double sums[kSums][kChannelTile] = {};
          accumulate(g, r0, r1, c0, FullTile{}, sums);
          for (int s = 0; s < kSums; ++s)
            for (int i = 0; i < kChannelTile; ++i) totals[s * C + c0 + i] += sums[s][i];
        }
        if (c0 < C) {
          const int width = static_cast<int>(C - c0);
          double sums[kSums][kChannelTile] = {};
          accumulate(g, r0, r1, c0, width, sums);
          for (int s = 0; s < kSums; ++s)
            for (int i = 0; i < width; ++i) totals[s * C + c0 + i] += sums[s][i];
        }
      }
    }
  });
  std::vector<double> out(static_cast<size_t>(kSums * G * C), 0.0);
  for (int s = 0; s < kSums; ++s)
    for (int64_t g = 0; g < G; ++g)
      for (int64_t piece = 0; piece < pieces; ++piece) {
        const double* src = partial.data() + ((g * pieces + piece) * kSums + s) * C;
        double* dst = out.data() + (s * G + g) * C;
        for (int64_t c = 0; c < C; ++c) dst[c] += src[c];
      }
  return out;
}

// Calls row(g, r) for every row r of every group g, in parallel; each row is handled by one
// chunk (for elementwise passes that read per-(group, channel) coefficients).
template <class Row>
void for_each_row(const GroupedRows& geo, Row&& row) {
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, geo.channels));
  parallel_for(geo.groups * geo.rows, grain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) row(i / geo.rows, i % geo.rows);
  });
}

}  // namespace fh::kernels::cpu
