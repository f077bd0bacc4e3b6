// Bilinear warp by a flow field (FlowNet2's Resample2d) on the GPU, forward and both
// gradients. The sample point and its clamping are the CPU twin's own code (axis_tap,
// kernels/warp_tap.h) and the weights its formulas (make_tap in kernels/cpu/warp.cpp), so
// the weights are identical.
//
// warp, warp_backward_flow: gathers by nature (an output pixel reads its four corners).
// warp_backward_src: by nature a scatter (an output pixel adds into the four corners it
// sampled, and any number of output pixels may hit one source pixel). Done here as a gather
// with no atomics at all, in the CPU's summation order:
//   1. every output pixel's top-left corner t = i0y·W + i0x (an int per pixel);
//   2. a stable counting sort of each image's pixels by t, as two stable passes with small
//      key ranges (by column i0x, then by row i0y: an LSD radix sort whose digits are the
//      coordinates). A pass = per-chunk histograms, one exclusive scan, and a scatter that
//      ranks equal keys within a warp with __match_any_sync and across the block's warps in
//      warp order; integers only, so its result is exact and unique;
//   3. seg_start[t] = the first sorted position with corner >= t (a binary search), so the
//      pixels whose top-left corner is t are sorted[seg_start[t] .. seg_start[t + 1]), in
//      raster order;
//   4. each source element gathers from the four segments whose pixels can touch it (corners
//      (sy,sx), (sy,sx-1), (sy-1,sx), (sy-1,sx-1)), merged by pixel index: the contributions
//      arrive in raster order of the output pixels with corners in the order 00, 01, 10, 11,
//      exactly the order in which the CPU's scatter adds them;
//   5. source pixels with more than kHeavyTerms contributions (a flow piling much of the
//      image onto a few pixels, or clamping it to a border) are skipped by step 4 and done by
//      a block each, its threads taking the terms in a fixed interleave and a fixed tree
//      adding their sums: so one pixel's thousands of terms never serialise the whole grid.
// Bit-identical across runs. Cost: a few int passes over the pixels (not the channels) plus
// one read of grad_out and one write of grad_src, whatever the flow.
#include <limits>

#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/device_util.cuh"
#include "kernels/warp_tap.h"

namespace fh::kernels::cuda {

namespace {

// ---- The sample point (axis_tap in kernels/warp_tap.h, shared with the CPU twin) ------------

// The bilinear weights of the corners 00, 01, 10, 11 (the CPU twin's make_tap).
template <class T>
struct Weights {
  T w00, w01, w10, w11;
};

template <class T>
__device__ __forceinline__ Weights<T> corner_weights(T wx, T wy) {
  return {(T(1) - wx) * (T(1) - wy), wx * (T(1) - wy), (T(1) - wx) * wy, wx * wy};
}

struct ImageDims {
  int64_t N, H, W, C;
};

// ---- Forward -------------------------------------------------------------------------------------

// One thread per (output pixel, W channels): the tap is recomputed per thread (a few
// instructions), which keeps every thread independent and the channel reads coalesced.
template <class T, class Index, int Wd>
__global__ void warp_forward_kernel(const T* __restrict__ src, const T* __restrict__ flow, ImageDims d,
                                    T* __restrict__ out) {
  const Index vecs = static_cast<Index>(d.C / Wd);
  const Index n_items = static_cast<Index>(d.N * d.H * d.W) * vecs;
  for (Index item = grid_start<Index>(); item < n_items; item += grid_stride<Index>()) {
    const Index p = item / vecs;  // pixel (n, y, x), raster order over the batch
    const int64_t c = static_cast<int64_t>(item % vecs) * Wd;
    const Index x = p % static_cast<Index>(d.W), ny = p / static_cast<Index>(d.W);
    const Index y = ny % static_cast<Index>(d.H), n = ny / static_cast<Index>(d.H);
    const AxisTap<T> ax = axis_tap<T>(x, flow[2 * static_cast<int64_t>(p)], d.W);
    const AxisTap<T> ay = axis_tap<T>(y, flow[2 * static_cast<int64_t>(p) + 1], d.H);
    const Weights<T> w = corner_weights(ax.w, ay.w);
    const T* img = src + static_cast<int64_t>(n) * d.H * d.W * d.C + c;
    const int64_t o00 = (ay.i0 * d.W + ax.i0) * d.C, o01 = o00 + ax.step * d.C;
    const int64_t o10 = o00 + ay.step * d.W * d.C, o11 = o10 + ax.step * d.C;
    T a[Wd], b[Wd], cc[Wd], dd[Wd], r[Wd];
    load<Wd>(img + o00, a);
    load<Wd>(img + o01, b);
    load<Wd>(img + o10, cc);
    load<Wd>(img + o11, dd);
#pragma unroll
    for (int k = 0; k < Wd; ++k) r[k] = w.w00 * a[k] + w.w01 * b[k] + w.w10 * cc[k] + w.w11 * dd[k];
    store<Wd>(out + static_cast<int64_t>(p) * d.C + c, r);
  }
}

// ---- Gradient to the flow ------------------------------------------------------------------------

// A group of G lanes (a power of two <= 32) per output pixel sums ∂out/∂u·grad and
// ∂out/∂v·grad over the channels (lane l takes channels l, l + G, ...), then a fixed shuffle
// tree: deterministic. The loop is warp-uniform so that every lane reaches the shuffles.
template <class T, class Index>
__global__ void warp_backward_flow_kernel(const T* __restrict__ src, const T* __restrict__ flow,
                                          const T* __restrict__ grad_out, ImageDims d, int group,
                                          T* __restrict__ grad_flow) {
  const int lane = threadIdx.x % 32, sub = lane % group;
  const Index per_warp = static_cast<Index>(32 / group);
  const Index pixels = static_cast<Index>(d.N * d.H * d.W);
  const Index warps = static_cast<Index>(gridDim.x) * (blockDim.x / 32);
  for (Index base = (grid_start<Index>() / 32) * per_warp; base < pixels; base += warps * per_warp) {
    const Index p = base + static_cast<Index>(lane / group);
    T su = 0, sv = 0;
    bool ix = false, iy = false;
    if (p < pixels) {
      const Index x = p % static_cast<Index>(d.W), ny = p / static_cast<Index>(d.W);
      const Index y = ny % static_cast<Index>(d.H), n = ny / static_cast<Index>(d.H);
      const AxisTap<T> ax = axis_tap<T>(x, flow[2 * static_cast<int64_t>(p)], d.W);
      const AxisTap<T> ay = axis_tap<T>(y, flow[2 * static_cast<int64_t>(p) + 1], d.H);
      ix = ax.interior;
      iy = ay.interior;
      const T* img = src + static_cast<int64_t>(n) * d.H * d.W * d.C;
      const int64_t o00 = (ay.i0 * d.W + ax.i0) * d.C, o01 = o00 + ax.step * d.C;
      const int64_t o10 = o00 + ay.step * d.W * d.C, o11 = o10 + ax.step * d.C;
      const T* g = grad_out + static_cast<int64_t>(p) * d.C;
      const T wx = ax.w, wy = ay.w;
      for (int64_t c = sub; c < d.C; c += group) {
        const T a = img[o00 + c], b = img[o01 + c], cc = img[o10 + c], dd = img[o11 + c];
        // ∂out/∂u = (1-wy)·(b - a) + wy·(d - c);  ∂out/∂v = (1-wx)·(c - a) + wx·(d - b).
        su += g[c] * ((T(1) - wy) * (b - a) + wy * (dd - cc));
        sv += g[c] * ((T(1) - wx) * (cc - a) + wx * (dd - b));
      }
    }
    su = group_sum(su, group);
    sv = group_sum(sv, group);
    if (p < pixels && sub == 0) {
      grad_flow[2 * static_cast<int64_t>(p)] = ix ? su : T(0);
      grad_flow[2 * static_cast<int64_t>(p) + 1] = iy ? sv : T(0);
    }
  }
}

// ---- Gradient to the source: the sort ---------------------------------------------------------

constexpr int kSortBlock = 256;               // threads per sort block (8 warps)
constexpr int kSortChunk = 2 * kSortBlock;    // pixels per sort block: many blocks, short serial turns
constexpr int64_t kMaxSortKeys = 12288;       // keys (W or H) per histogram: 48 KB of shared memory

// corner[q] = top-left corner i0y·W + i0x of output pixel q (within its image).
template <class T>
__global__ void corner_kernel(const T* __restrict__ flow, ImageDims d, int32_t* __restrict__ corner) {
  const int64_t pixels = d.N * d.H * d.W;
  for (int64_t p = grid_start<int64_t>(); p < pixels; p += grid_stride<int64_t>()) {
    const int64_t x = p % d.W, y = (p / d.W) % d.H;
    const AxisTap<T> ax = axis_tap<T>(x, flow[2 * p], d.W);
    const AxisTap<T> ay = axis_tap<T>(y, flow[2 * p + 1], d.H);
    corner[p] = static_cast<int32_t>(ay.i0 * d.W + ax.i0);
  }
}

// The pass's key of an item (a pixel index within image n): its corner's column (kDigit 0)
// or row (kDigit 1).
template <int kDigit>
__device__ __forceinline__ int32_t sort_key(const int32_t* corner_n, int32_t item, int32_t W) {
  const int32_t t = corner_n[item];
  return kDigit == 0 ? t % W : t / W;
}

// The pass's input: the identity order (in == null, pass 1) or the previous pass's output.
__device__ __forceinline__ int32_t item_at(const int32_t* in_n, int32_t i) { return in_n ? in_n[i] : i; }

// counts[n][key][chunk] = items of the chunk with that key (shared-memory integer counts).
template <int kDigit>
__global__ void __launch_bounds__(kSortBlock)
    sort_histogram_kernel(const int32_t* __restrict__ corner, const int32_t* __restrict__ in, int32_t P, int32_t W,
                          int32_t keys, int32_t chunks, int32_t* __restrict__ counts) {
  extern __shared__ int32_t hist[];
  const int64_t n = blockIdx.x / chunks;
  const int32_t chunk = static_cast<int32_t>(blockIdx.x % chunks);
  for (int32_t k = threadIdx.x; k < keys; k += blockDim.x) hist[k] = 0;
  __syncthreads();
  const int32_t* corner_n = corner + n * P;
  const int32_t* in_n = in ? in + n * P : nullptr;
  const int32_t end = min(P, (chunk + 1) * kSortChunk);
  for (int32_t i = chunk * kSortChunk + threadIdx.x; i < end; i += blockDim.x)
    atomicAdd(&hist[sort_key<kDigit>(corner_n, item_at(in_n, i), W)], 1);
  __syncthreads();
  int32_t* counts_n = counts + n * keys * chunks;
  for (int32_t k = threadIdx.x; k < keys; k += blockDim.x) counts_n[static_cast<int64_t>(k) * chunks + chunk] = hist[k];
}

// In place, per image (one block of 1024 threads each): counts -> exclusive prefix sums over
// (key, chunk) in key-major order, i.e. where each chunk's items of each key start.
__global__ void __launch_bounds__(1024) scan_counts_kernel(int32_t* __restrict__ counts, int64_t len) {
  __shared__ int32_t warp_base[32];
  int32_t* c = counts + static_cast<int64_t>(blockIdx.x) * len;
  const int t = threadIdx.x, lane = t % 32, warp = t / 32;
  const int64_t b = len * t / blockDim.x, e = len * (t + 1) / blockDim.x;
  int32_t sum = 0;
  for (int64_t i = b; i < e; ++i) sum += c[i];
  int32_t incl = sum;
  for (int offset = 1; offset < 32; offset *= 2) {
    const int32_t v = __shfl_up_sync(0xffffffffu, incl, offset);
    if (lane >= offset) incl += v;
  }
  if (lane == 31) warp_base[warp] = incl;
  __syncthreads();
  if (warp == 0) {
    const int32_t v = lane < static_cast<int>(blockDim.x / 32) ? warp_base[lane] : 0;
    int32_t wincl = v;
    for (int offset = 1; offset < 32; offset *= 2) {
      const int32_t u = __shfl_up_sync(0xffffffffu, wincl, offset);
      if (lane >= offset) wincl += u;
    }
    warp_base[lane] = wincl - v;
  }
  __syncthreads();
  int32_t run = warp_base[warp] + incl - sum;
  for (int64_t i = b; i < e; ++i) {
    const int32_t v = c[i];
    c[i] = run;
    run += v;
  }
}

// Stable scatter: the chunk's items, in order, to offsets[n][key][chunk] + their rank among
// the chunk's earlier items of the same key. Rounds of 256 items; within a round, ranks
// within each warp from __match_any_sync, and the warps take their turns in order.
// kDigit 1 (the last pass) also writes each item's full corner key beside it.
template <int kDigit>
__global__ void __launch_bounds__(kSortBlock)
    sort_scatter_kernel(const int32_t* __restrict__ corner, const int32_t* __restrict__ in, int32_t P, int32_t W,
                        int32_t keys, int32_t chunks, const int32_t* __restrict__ offsets, int32_t* __restrict__ out,
                        int32_t* __restrict__ out_keys) {
  extern __shared__ int32_t next[];  // next free position of each key
  const int64_t n = blockIdx.x / chunks;
  const int32_t chunk = static_cast<int32_t>(blockIdx.x % chunks);
  const int32_t* offsets_n = offsets + n * keys * chunks;
  for (int32_t k = threadIdx.x; k < keys; k += blockDim.x) next[k] = offsets_n[static_cast<int64_t>(k) * chunks + chunk];
  __syncthreads();
  const int32_t* corner_n = corner + n * P;
  const int32_t* in_n = in ? in + n * P : nullptr;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const unsigned lower = (1u << lane) - 1u;
  const int32_t begin = chunk * kSortChunk, end = min(P, begin + kSortChunk);
  for (int32_t round = begin; round < end; round += kSortBlock) {  // block-uniform
    const int32_t i = round + static_cast<int32_t>(threadIdx.x);
    const bool valid = i < end;
    const int32_t item = valid ? item_at(in_n, i) : 0;
    const int32_t key = valid ? sort_key<kDigit>(corner_n, item, W) : -1;
    const unsigned peers = __match_any_sync(0xffffffffu, key);
    const int32_t rank = __popc(peers & lower);
    const bool leader = (peers & lower) == 0;
    for (int w = 0; w < kSortBlock / 32; ++w) {
      if (warp == w && valid) {
        const int32_t dest = next[key] + rank;
        out[n * P + dest] = item;
        if (out_keys) out_keys[n * P + dest] = corner_n[item];
      }
      __syncwarp();
      if (warp == w && valid && leader) next[key] += __popc(peers);
      __syncthreads();
    }
  }
}

// seg_start[n][t] = first position of image n's sorted pixels whose corner is >= t, t in [0, P].
__global__ void segment_start_kernel(const int32_t* __restrict__ sorted_keys, int32_t P, int64_t N,
                                     int32_t* __restrict__ seg_start) {
  const int64_t total = N * (static_cast<int64_t>(P) + 1);
  for (int64_t i = grid_start<int64_t>(); i < total; i += grid_stride<int64_t>()) {
    const int64_t n = i / (P + 1);
    const int32_t t = static_cast<int32_t>(i % (P + 1));
    const int32_t* keys = sorted_keys + n * P;
    int32_t lo = 0, hi = P;
    while (lo < hi) {
      const int32_t mid = lo + (hi - lo) / 2;
      if (keys[mid] >= t) hi = mid;
      else lo = mid + 1;
    }
    seg_start[i] = lo;
  }
}

// ---- Gradient to the source: the gather --------------------------------------------------------

// The sorted pixels whose corners can land on source pixel q (within its image): segments
// 0 = top-left corner (sy, sx), 1 = (sy, sx-1), 2 = (sy-1, sx), 3 = (sy-1, sx-1), each the
// range [head, stop) of the image's sorted pixels. On a one-pixel axis the step is 0 and the
// segments along it do not exist (their corners coincide with segment 0's).
struct Segments {
  int32_t head[4], stop[4];
};

__device__ __forceinline__ Segments source_segments(const int32_t* seg, int64_t q, int64_t W, bool step_x,
                                                    bool step_y) {
  const int64_t sy = q / W, sx = q % W;
  const bool has[4] = {true, step_x && sx > 0, step_y && sy > 0, step_x && step_y && sx > 0 && sy > 0};
  const int64_t target[4] = {q, q - 1, q - W, q - W - 1};
  Segments s;
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    s.head[k] = has[k] ? seg[target[k]] : 0;
    s.stop[k] = has[k] ? seg[target[k] + 1] : 0;
  }
  return s;
}

__device__ __forceinline__ int32_t segment_total(const Segments& s) {
  return (s.stop[0] - s.head[0]) + (s.stop[1] - s.head[1]) + (s.stop[2] - s.head[2]) + (s.stop[3] - s.head[3]);
}

// acc += the contributions of pixel p (found in segment k, gradient g, weights w) that land
// on the source pixel: its corners there, in the order 00, 01, 10, 11.
template <class T, int Wd>
__device__ __forceinline__ void add_contributions(int k, const Weights<T>& w, bool step_x, bool step_y,
                                                  const T (&g)[Wd], T (&acc)[Wd]) {
  auto add = [&](T weight) {
#pragma unroll
    for (int i = 0; i < Wd; ++i) acc[i] += weight * g[i];
  };
  if (k == 0) {
    add(w.w00);
    if (!step_x) add(w.w01);
    if (!step_y) add(w.w10);
    if (!step_x && !step_y) add(w.w11);
  } else if (k == 1) {
    add(w.w01);
    if (!step_y) add(w.w11);
  } else if (k == 2) {
    add(w.w10);
    if (!step_x) add(w.w11);
  } else {
    add(w.w11);
  }
}

// The weights of pixel `pixel` of image n.
template <class T>
__device__ __forceinline__ Weights<T> pixel_weights(const T* flow, const ImageDims& d, int64_t n, int32_t pixel) {
  const int64_t p = n * d.H * d.W + pixel;
  const AxisTap<T> ax = axis_tap<T>(pixel % d.W, flow[2 * p], d.W);
  const AxisTap<T> ay = axis_tap<T>(pixel / d.W, flow[2 * p + 1], d.H);
  return corner_weights(ax.w, ay.w);
}

// Source pixels with more contributions than this go to the heavy kernel below: a thread
// adding thousands of terms in turn (a flow that piles the image onto a few pixels, or clamps
// much of it to a border) would otherwise hold up the whole grid.
constexpr int32_t kHeavyTerms = 64;

// Source element (n, sy, sx, channels c .. c + Wd), at most kHeavyTerms contributions: the
// four segments merged by pixel index, so the terms arrive in raster order of the output
// pixels, corners in the order 00, 01, 10, 11: the CPU's order, term for term.
template <class T, class Index, int Wd>
__global__ void warp_backward_src_kernel(const T* __restrict__ flow, const T* __restrict__ grad_out,
                                         const int32_t* __restrict__ sorted, const int32_t* __restrict__ seg_start,
                                         ImageDims d, T* __restrict__ grad_src) {
  const Index vecs = static_cast<Index>(d.C / Wd);
  const Index n_items = static_cast<Index>(d.N * d.H * d.W) * vecs;
  const int64_t P = d.H * d.W;
  const bool step_x = d.W > 1, step_y = d.H > 1;
  constexpr int32_t kNone = std::numeric_limits<int32_t>::max();
  for (Index item = grid_start<Index>(); item < n_items; item += grid_stride<Index>()) {
    const Index s = item / vecs;  // source pixel over the batch
    const int64_t c = static_cast<int64_t>(item % vecs) * Wd;
    const int64_t n = static_cast<int64_t>(s) / P, q = static_cast<int64_t>(s) % P;
    const int32_t* order = sorted + n * P;
    Segments sg = source_segments(seg_start + n * (P + 1), q, d.W, step_x, step_y);
    if (segment_total(sg) > kHeavyTerms) continue;  // the heavy kernel writes this one
    int32_t pixel[4];  // each segment's next pixel, kNone when exhausted
#pragma unroll
    for (int k = 0; k < 4; ++k) pixel[k] = sg.head[k] < sg.stop[k] ? order[sg.head[k]] : kNone;
    T acc[Wd];
#pragma unroll
    for (int k = 0; k < Wd; ++k) acc[k] = T(0);
    while (true) {
      // The segment whose next pixel comes first in raster order (pixel indices are unique
      // across segments: a pixel sits in the segment of its own top-left corner only).
      int best = 0;
      int32_t best_pixel = pixel[0];
#pragma unroll
      for (int k = 1; k < 4; ++k) {
        if (pixel[k] < best_pixel) {
          best = k;
          best_pixel = pixel[k];
        }
      }
      if (best_pixel == kNone) break;
#pragma unroll
      for (int k = 0; k < 4; ++k) {  // constant indices: the arrays stay in registers
        if (k == best) {
          ++sg.head[k];
          pixel[k] = sg.head[k] < sg.stop[k] ? order[sg.head[k]] : kNone;
        }
      }
      T g[Wd];
      load<Wd>(grad_out + (n * P + best_pixel) * d.C + c, g);
      add_contributions<T, Wd>(best, pixel_weights(flow, d, n, best_pixel), step_x, step_y, g, acc);
    }
    store<Wd>(grad_src + static_cast<int64_t>(s) * d.C + c, acc);
  }
}

// Lists the source pixels (over the batch) with more than kHeavyTerms contributions. The
// list's order depends on timing (an integer atomic counter), but each entry is processed
// on its own, so the results do not.
__global__ void heavy_list_kernel(const int32_t* __restrict__ seg_start, ImageDims d, int32_t* __restrict__ count,
                                  int32_t* __restrict__ list) {
  const int64_t P = d.H * d.W, pixels = d.N * P;
  for (int64_t s = grid_start<int64_t>(); s < pixels; s += grid_stride<int64_t>()) {
    const int64_t n = s / P;
    const Segments sg = source_segments(seg_start + n * (P + 1), s % P, d.W, d.W > 1, d.H > 1);
    if (segment_total(sg) > kHeavyTerms) list[atomicAdd(count, 1)] = static_cast<int32_t>(s);
  }
}

constexpr int kHeavyBlock = 256;
constexpr unsigned kHeavyGrid = 1024;  // fixed: the number of heavy pixels is only known on the device

// One block per (heavy source pixel, channel vector): thread t adds the segments' entries
// t, t + 256, ... (segments in order, corners in order), then a fixed tree adds the threads'
// sums. Deterministic, though not in the CPU's order (within the tests' tolerance).
template <class T, int Wd>
__global__ void __launch_bounds__(kHeavyBlock)
    warp_backward_src_heavy_kernel(const T* __restrict__ flow, const T* __restrict__ grad_out,
                                   const int32_t* __restrict__ sorted, const int32_t* __restrict__ seg_start,
                                   const int32_t* __restrict__ count, const int32_t* __restrict__ list, ImageDims d,
                                   T* __restrict__ grad_src) {
  __shared__ T shared[Wd][kHeavyBlock];
  const int64_t vecs = d.C / Wd, P = d.H * d.W;
  const bool step_x = d.W > 1, step_y = d.H > 1;
  const int64_t items = static_cast<int64_t>(*count) * vecs;
  const int t = threadIdx.x;
  for (int64_t item = blockIdx.x; item < items; item += gridDim.x) {  // block-uniform
    const int64_t s = list[item / vecs], c = (item % vecs) * Wd;
    const int64_t n = s / P;
    const int32_t* order = sorted + n * P;
    const Segments sg = source_segments(seg_start + n * (P + 1), s % P, d.W, step_x, step_y);
    T acc[Wd];
#pragma unroll
    for (int i = 0; i < Wd; ++i) acc[i] = T(0);
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      for (int32_t e = sg.head[k] + t; e < sg.stop[k]; e += kHeavyBlock) {
        const int32_t pixel = order[e];
        T g[Wd];
        load<Wd>(grad_out + (n * P + pixel) * d.C + c, g);
        add_contributions<T, Wd>(k, pixel_weights(flow, d, n, pixel), step_x, step_y, g, acc);
      }
    }
    __syncthreads();  // the previous item's tree may still read `shared`
#pragma unroll
    for (int i = 0; i < Wd; ++i) shared[i][t] = acc[i];
    __syncthreads();
    for (int half = kHeavyBlock / 2; half > 0; half /= 2) {
      if (t < half) {
#pragma unroll
        for (int i = 0; i < Wd; ++i) shared[i][t] += shared[i][t + half];
      }
      __syncthreads();
    }
    if (t == 0) {
#pragma unroll
      for (int i = 0; i < Wd; ++i) acc[i] = shared[i][0];
      store<Wd>(grad_src + s * d.C + c, acc);
    }
  }
}

// ---- Launch helpers ----------------------------------------------------------------------------

ImageDims dims_of(const Tensor& t) { return {t.size(0), t.size(1), t.size(2), t.size(3)}; }

// Calls launch(Index{}, integral_constant<int, Wd>{}, grid) with 16-byte channel vectors when
// C allows and the pointers are aligned, 32-bit indices when the tensor allows.
template <class T, class Launch>
void launch_channels(const ImageDims& d, bool aligned, int64_t numel, Launch&& launch) {
  with_vectors<T>(numel, aligned && d.C % kVec<T> == 0, numel, launch);
}

// Lanes per pixel for the flow gradient: enough to cover the channels, at most a warp.
int flow_group(int64_t C) {
  int g = 1;
  while (g < 32 && g < C) g *= 2;
  return g;
}

template <class T>
void warp_backward_src_typed(const Tensor& flow_t, const Tensor& grad_out_t, Tensor& grad_src_t) {
  const char* op = "cuda::warp_backward_src";
  const ImageDims d = dims_of(grad_src_t);
  const int device = grad_src_t.device().index;
  const int64_t P = d.H * d.W, pixels = d.N * P;
  FH_CHECK(pixels + d.N < std::numeric_limits<int32_t>::max(), "warp_backward_src",
           "the CUDA kernel indexes pixels in 32 bits; ", grad_out_t.describe(), " has too many");
  FH_CHECK(d.W <= kMaxSortKeys && d.H <= kMaxSortKeys, "warp_backward_src", "the CUDA kernel sorts by row and column",
           " with at most ", kMaxSortKeys, " of each; got ", grad_out_t.describe());
  const T* flow = device_ptr<T>(flow_t);
  const cudaStream_t stream = current_stream();
  const int32_t chunks = static_cast<int32_t>(ceil_div(P, kSortChunk));
  const int64_t max_keys = std::max(d.W, d.H);
  // Scratch: corners, the two passes' outputs, the sorted keys, counts, segment starts.
  ScratchBuffer corner(static_cast<size_t>(pixels) * sizeof(int32_t), device);
  ScratchBuffer by_column(static_cast<size_t>(pixels) * sizeof(int32_t), device);
  ScratchBuffer sorted(static_cast<size_t>(pixels) * sizeof(int32_t), device);
  ScratchBuffer sorted_keys(static_cast<size_t>(pixels) * sizeof(int32_t), device);
  ScratchBuffer counts(static_cast<size_t>(d.N * max_keys * chunks) * sizeof(int32_t), device);
  ScratchBuffer seg_start(static_cast<size_t>(d.N * (P + 1)) * sizeof(int32_t), device);

  corner_kernel<T><<<grid_for(pixels), kBlockSize, 0, stream>>>(flow, d, corner.as<int32_t>());
  FH_CUDA_CHECK_LAUNCH(op, "corners of ", flow_t.describe());

  const unsigned sort_blocks = static_cast<unsigned>(d.N * chunks);
  auto pass = [&](auto digit, const int32_t* in, int32_t* out, int32_t* out_keys) {
    constexpr int kDigit = decltype(digit)::value;
    const int32_t keys = static_cast<int32_t>(kDigit == 0 ? d.W : d.H);
    const size_t shared = static_cast<size_t>(keys) * sizeof(int32_t);
    const int32_t P32 = static_cast<int32_t>(P), W32 = static_cast<int32_t>(d.W);
    sort_histogram_kernel<kDigit><<<sort_blocks, kSortBlock, shared, stream>>>(corner.as<int32_t>(), in, P32, W32,
                                                                               keys, chunks, counts.as<int32_t>());
    FH_CUDA_CHECK_LAUNCH(op, "sort pass ", kDigit, " histogram of ", flow_t.describe());
    scan_counts_kernel<<<static_cast<unsigned>(d.N), 1024, 0, stream>>>(counts.as<int32_t>(),
                                                                        static_cast<int64_t>(keys) * chunks);
    FH_CUDA_CHECK_LAUNCH(op, "sort pass ", kDigit, " scan of ", flow_t.describe());
    sort_scatter_kernel<kDigit><<<sort_blocks, kSortBlock, shared, stream>>>(
        corner.as<int32_t>(), in, P32, W32, keys, chunks, counts.as<int32_t>(), out, out_keys);
    FH_CUDA_CHECK_LAUNCH(op, "sort pass ", kDigit, " scatter of ", flow_t.describe());
  };
  pass(std::integral_constant<int, 0>{}, nullptr, by_column.as<int32_t>(), nullptr);
  pass(std::integral_constant<int, 1>{}, by_column.as<int32_t>(), sorted.as<int32_t>(), sorted_keys.as<int32_t>());

  segment_start_kernel<<<grid_for(d.N * (P + 1)), kBlockSize, 0, stream>>>(
      sorted_keys.as<int32_t>(), static_cast<int32_t>(P), d.N, seg_start.as<int32_t>());
  FH_CUDA_CHECK_LAUNCH(op, "segment starts of ", flow_t.describe());

  const T* go = device_ptr<T>(grad_out_t);
  T* gs = device_ptr<T>(grad_src_t);
  ScratchBuffer heavy(static_cast<size_t>(pixels + 1) * sizeof(int32_t), device);  // [count, list...]
  int32_t* heavy_count = heavy.as<int32_t>();
  int32_t* heavy_list = heavy_count + 1;
  FH_CUDA_CHECK(cudaMemsetAsync(heavy_count, 0, sizeof(int32_t), stream), op, "clearing the heavy-pixel count");
  heavy_list_kernel<<<grid_for(pixels), kBlockSize, 0, stream>>>(seg_start.as<int32_t>(), d, heavy_count, heavy_list);
  FH_CUDA_CHECK_LAUNCH(op, "heavy pixels of ", flow_t.describe());
  launch_channels<T>(d, aligned16(go) && aligned16(gs), grad_src_t.numel(), [&](auto index, auto width, unsigned grid) {
    constexpr int Wd = decltype(width)::value;
    warp_backward_src_kernel<T, decltype(index), Wd><<<grid, kBlockSize, 0, stream>>>(
        flow, go, sorted.as<int32_t>(), seg_start.as<int32_t>(), d, gs);
    FH_CUDA_CHECK_LAUNCH(op, "gather of ", grad_out_t.describe());
    warp_backward_src_heavy_kernel<T, Wd><<<kHeavyGrid, kHeavyBlock, 0, stream>>>(
        flow, go, sorted.as<int32_t>(), seg_start.as<int32_t>(), heavy_count, heavy_list, d, gs);
  });
  FH_CUDA_CHECK_LAUNCH(op, "heavy gather of ", grad_out_t.describe());
}

}  // namespace

void warp(const Tensor& src, const Tensor& flow, Tensor& out) {
  if (out.numel() == 0) return;
  fh::cuda::DeviceGuard guard(out.device().index);
  const ImageDims d = dims_of(src);
  dispatch_float(src, [&](auto tag) {
    using T = decltype(tag);
    const T *s = device_ptr<T>(src), *f = device_ptr<T>(flow);
    T* o = device_ptr<T>(out);
    launch_channels<T>(d, aligned16(s) && aligned16(o), out.numel(), [&](auto index, auto width, unsigned grid) {
      warp_forward_kernel<T, decltype(index), decltype(width)::value><<<grid, kBlockSize, 0, current_stream()>>>(
          s, f, d, o);
    });
  });
  FH_CUDA_CHECK_LAUNCH("cuda::warp", src.describe(), " by ", flow.describe());
}

void warp_backward_src(const Tensor& flow, const Tensor& grad_out, Tensor& grad_src) {
  if (grad_src.numel() == 0) return;
  fh::cuda::DeviceGuard guard(grad_src.device().index);
  dispatch_float(flow, [&](auto tag) { warp_backward_src_typed<decltype(tag)>(flow, grad_out, grad_src); });
}

void warp_backward_flow(const Tensor& src, const Tensor& flow, const Tensor& grad_out, Tensor& grad_flow) {
  if (grad_flow.numel() == 0) return;
  fh::cuda::DeviceGuard guard(grad_flow.device().index);
  const ImageDims d = dims_of(src);
  const int group = flow_group(d.C);
  const int64_t pixels = d.N * d.H * d.W;
  dispatch_float(src, [&](auto tag) {
    using T = decltype(tag);
    const unsigned grid = grid_for(ceil_div(pixels, 32 / group) * 32);
    with_index(std::max(src.numel(), pixels * 32), [&](auto index) {
      warp_backward_flow_kernel<T, decltype(index)><<<grid, kBlockSize, 0, current_stream()>>>(
          device_ptr<T>(src), device_ptr<T>(flow), device_ptr<T>(grad_out), d, group, device_ptr<T>(grad_flow));
    });
  });
  FH_CUDA_CHECK_LAUNCH("cuda::warp_backward_flow", src.describe(), " by ", flow.describe());
}

}  // namespace fh::kernels::cuda
