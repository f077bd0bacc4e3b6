// Deterministic per-channel sums over NHWC rows on the GPU, shared by the normalisation
// kernels and the global average pool.
//
// The tensor is viewed as [groups, rows, channels] (batch norm: one group of N·H·W rows;
// instance norm, SPADE and the global pool: N groups of H·W rows). Each (group, channel)
// needs kSums sums of per-element terms, in double. Two kernels, no atomics:
//   pass 1 (partial_sums_kernel): the rows of a group are cut into `pieces` runs and the
//     channels into tiles of up to kSumTile; one block per (group, piece, tile). Within a
//     block each thread keeps one channel for the whole run (the block's threads cover
//     rows_per_step consecutive rows of the tile's channels per step, so reads are
//     contiguous and coalesced), then the threads sharing a channel are combined by a fixed
//     tree in shared memory. The piece's sums go to partial[g][s][c][piece].
//   pass 2 (finish_sums_kernel): one warp per (group, channel) adds its pieces (lanes take
//     pieces lane, lane + 32, ... in order, then a fixed shuffle tree) and hands the totals
//     to a finishing functor run by lane 0.
// The cut depends on the shapes alone (never on the GPU), so every sum is taken in the
// same order on every run and every device.
#pragma once

#include <algorithm>

#include "kernels/cuda/device_util.cuh"

namespace fh::kernels::cuda {

struct GroupedRows {
  int64_t groups = 1, rows = 1, channels = 1;
};

constexpr int kSumBlock = 256;  // threads per pass-1 block
constexpr int kSumTile = 256;   // channels per tile: one per thread when C >= 256
// Pass 1 aims at about one wave of 8 blocks per SM on the largest GPUs (132 SMs on an H200):
// enough loads in flight to cover the memory latency. Each block sums at least
// kMinTermsPerBlock elements (16 per thread), so that the per-block overhead and pass 2 stay
// small. Constants, not device queries: the cut must not depend on the device.
constexpr int64_t kTargetBlocks = 1024;
constexpr int64_t kMinTermsPerBlock = 4096;
constexpr int64_t kMaxPieces = 4096;

struct SumCut {
  int64_t tiles, pieces;
};

inline SumCut cut_sums(const GroupedRows& geo) {
  const int64_t tiles = ceil_div(geo.channels, kSumTile);
  const int64_t width = std::min<int64_t>(geo.channels, kSumTile);
  const int64_t by_parallelism = ceil_div(kTargetBlocks, geo.groups * tiles);
  const int64_t by_work = ceil_div(geo.rows * width, kMinTermsPerBlock);
  const int64_t pieces = std::clamp<int64_t>(std::min(by_parallelism, by_work), 1, std::min(geo.rows, kMaxPieces));
  return {tiles, pieces};
}

// Pass 1. Term provides
//   struct Ctx;                                            per-(group, channel) constants
//   Ctx context(int64_t g, int64_t c) const;               loaded once per thread
//   void add(int64_t e, const Ctx&, double (&s)[kSums]);   adds element e's terms
// (add may also write per-element outputs of element e).
template <int kSums, class Term>
__global__ void __launch_bounds__(kSumBlock)
    partial_sums_kernel(GroupedRows geo, SumCut cut, double* __restrict__ partial, Term term) {
  __shared__ double shared[kSums][kSumBlock];
  const int64_t G = geo.groups, R = geo.rows, C = geo.channels;
  const int t = threadIdx.x;
  const int64_t items = G * cut.pieces * cut.tiles;
  for (int64_t item = blockIdx.x; item < items; item += gridDim.x) {  // block-uniform: barriers are safe
    const int64_t tile = item % cut.tiles, piece = (item / cut.tiles) % cut.pieces, g = item / (cut.tiles * cut.pieces);
    const int64_t c0 = tile * kSumTile;
    const int w = static_cast<int>(C - c0 < kSumTile ? C - c0 : kSumTile);
    const int rows_per_step = kSumBlock / w;
    const int lane_row = t / w, cl = t % w;
    const bool active = lane_row < rows_per_step;
    const int64_t r0 = R * piece / cut.pieces, r1 = R * (piece + 1) / cut.pieces;
    double s[kSums];
#pragma unroll
    for (int k = 0; k < kSums; ++k) s[k] = 0;
    if (active) {
      const int64_t c = c0 + cl;
      const auto ctx = term.context(g, c);
      const int64_t base = g * R * C + c;
#pragma unroll 4
      for (int64_t r = r0 + lane_row; r < r1; r += rows_per_step) term.add(base + r * C, ctx, s);
    }
    __syncthreads();  // the previous item's combine may still read `shared`
#pragma unroll
    for (int k = 0; k < kSums; ++k) shared[k][t] = s[k];
    __syncthreads();
    // Row-lanes k and k + step of a channel are added pairwise, step doubling: a fixed tree.
    for (int step = 1; step < rows_per_step; step *= 2) {
      if (active && lane_row % (2 * step) == 0 && lane_row + step < rows_per_step) {
#pragma unroll
        for (int k = 0; k < kSums; ++k) shared[k][t] += shared[k][t + step * w];
      }
      __syncthreads();
    }
    if (t < w) {
      const int64_t c = c0 + t;
#pragma unroll
      for (int k = 0; k < kSums; ++k) partial[((g * kSums + k) * C + c) * cut.pieces + piece] = shared[k][t];
    }
  }
}

// Pass 2. finish(g, c, totals) runs once per (group, channel), in lane 0 of its warp.
template <int kSums, class Finish>
__global__ void finish_sums_kernel(GroupedRows geo, int64_t pieces, const double* __restrict__ partial,
                                   Finish finish) {
  const int lane = threadIdx.x % 32;
  const int64_t items = geo.groups * geo.channels;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / 32);
  for (int64_t item = grid_start<int64_t>() / 32; item < items; item += warps) {  // warp-uniform
    const int64_t g = item / geo.channels, c = item % geo.channels;
    double tot[kSums];
#pragma unroll
    for (int k = 0; k < kSums; ++k) {
      const double* p = partial + ((g * kSums + k) * geo.channels + c) * pieces;
      double acc = 0;
      for (int64_t i = lane; i < pieces; i += 32) acc += p[i];
      tot[k] = group_sum(acc, 32);
    }
    if (lane == 0) finish(g, c, tot);
  }
}

// Runs both passes: the finishing functor sees every (group, channel)'s complete sums.
template <int kSums, class Term, class Finish>
void grouped_channel_sums(const GroupedRows& geo, int device, const Term& term, const Finish& finish,
                          const char* op) {
  const SumCut cut = cut_sums(geo);
  ScratchBuffer partial(static_cast<size_t>(geo.groups * kSums * geo.channels * cut.pieces) * sizeof(double), device);
  const int64_t blocks = geo.groups * cut.pieces * cut.tiles;
  partial_sums_kernel<kSums><<<static_cast<unsigned>(std::min(blocks, kMaxGridBlocks)), kSumBlock, 0,
                               current_stream()>>>(geo, cut, partial.as<double>(), term);
  FH_CUDA_CHECK_LAUNCH(op, "channel sums, pass 1: ", geo.groups, " groups of ", geo.rows, " rows of ", geo.channels,
                       " channels in ", cut.pieces, " pieces");
  finish_sums_kernel<kSums><<<grid_for(geo.groups * geo.channels * 32), kBlockSize, 0, current_stream()>>>(
      geo, cut.pieces, partial.as<double>(), finish);
  FH_CUDA_CHECK_LAUNCH(op, "channel sums, pass 2: ", geo.groups, " groups of ", geo.channels, " channels");
}

}  // namespace fh::kernels::cuda
