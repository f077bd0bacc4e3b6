// Per-channel sums over the rows of a grouped NHWC tensor, the reduction every
// normalisation kernel is built on, and the row walk that applies its results.
//
// A tensor is viewed as [groups, rows, channels]: batch norm has one group of N·H·W rows,
// instance norm and SPADE have N groups of H·W rows. A group's rows are cut into pieces (a
// number that depends on the shapes only) so that a batch of 1 or 8 keeps every thread
// busy; a piece is summed row after row, then each channel's piece sums are added in piece
// order. So a channel's terms are always added in the same order, whatever the thread count.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/cpu/walk.h"
#include "runtime/thread_pool.h"

namespace fh::kernels::cpu {

struct GroupedRows {
  int64_t groups = 1, rows = 1, channels = 1;
  int64_t elements_per_group() const { return rows * channels; }
};

// Pieces per group: enough (group, piece) items for 64 threads, each of at least 16K elements.
inline int64_t pieces_per_group(const GroupedRows& g) {
  const int64_t wanted = (64 + g.groups - 1) / g.groups;
  const int64_t by_work = std::max<int64_t>(1, g.elements_per_group() / (1 << 14));
  return std::clamp<int64_t>(std::min(wanted, by_work), 1, std::max<int64_t>(1, g.rows));
}

// Returns totals[s * groups * channels + g * channels + c], for s < kSums, of the terms that
// `accumulate_row` adds. accumulate_row(g, r, double* sums) adds row r of group g's terms to
// sums[s * channels + c] (a loop over the contiguous channels that vectorises; the sums of
// one piece stay in L1); it may also write per-element outputs of that row.
template <int kSums, class AccumulateRow>
std::vector<double> sum_channels(const GroupedRows& geo, AccumulateRow&& accumulate_row) {
  const int64_t G = geo.groups, R = geo.rows, C = geo.channels;
  const int64_t pieces = pieces_per_group(geo);
  const int64_t items = G * pieces;
  // partial[item][s][c]: one item's sums, written by the chunk that owns the item.
  std::vector<double> partial(static_cast<size_t>(items * kSums * C), 0.0);
  parallel_for(items, 1, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t g = item / pieces, piece = item % pieces;
      double* sums = partial.data() + item * kSums * C;
      for (int64_t r = R * piece / pieces; r < R * (piece + 1) / pieces; ++r) accumulate_row(g, r, sums);
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
