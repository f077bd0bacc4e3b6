// Pixel shuffle and unshuffle on the GPU: pure data movement.
// PyTorch's channel order: out(n, h·r+i, w·r+j, c) = x(n, h, w, c·r² + i·r + j).
//  - r = 2 (the generator's factor): one thread per (low-resolution pixel, channel c) moves
//    the 4 values x(.., 4c .. 4c+3), contiguous and aligned, as one wide access on the
//    low-resolution side and as 4 single values on the high-resolution side, where the
//    neighbouring threads (c + 1, ...) write (read) the neighbouring addresses: every access
//    of a warp is coalesced.
//  - any r: one thread per output element (writes coalesced); the reads of a warp are strided
//    but share cache lines, so each byte still comes from DRAM once.
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/device_util.cuh"

namespace fh::kernels::cuda {

namespace {

// Low-resolution side [N, H, W, C·r²], high-resolution side [N, H·r, W·r, C].
struct ShuffleDims {
  int64_t N, H, W, C, r;
};

// Any r, to the high resolution: thread per output element.
template <class T, class Index>
__global__ void shuffle_kernel(const T* __restrict__ x, ShuffleDims d, T* __restrict__ out) {
  const Index r = static_cast<Index>(d.r), C = static_cast<Index>(d.C);
  const Index HR = static_cast<Index>(d.H) * r, WR = static_cast<Index>(d.W) * r;
  const Index n_out = static_cast<Index>(d.N) * HR * WR * C;
  for (Index e = grid_start<Index>(); e < n_out; e += grid_stride<Index>()) {
    Index t = e;
    const Index c = t % C;
    t /= C;
    const Index xx = t % WR;
    t /= WR;
    const Index yy = t % HR, n = t / HR;
    const Index h = yy / r, i = yy % r, w = xx / r, j = xx % r;
    out[e] = x[((n * static_cast<Index>(d.H) + h) * static_cast<Index>(d.W) + w) * (C * r * r) + (c * r + i) * r + j];
  }
}

// Any r, to the low resolution: thread per output element.
template <class T, class Index>
__global__ void unshuffle_kernel(const T* __restrict__ x, ShuffleDims d, T* __restrict__ out) {
  const Index r = static_cast<Index>(d.r), C = static_cast<Index>(d.C), H = static_cast<Index>(d.H),
              W = static_cast<Index>(d.W);
  const Index K = C * r * r;
  const Index n_out = static_cast<Index>(d.N) * H * W * K;
  for (Index e = grid_start<Index>(); e < n_out; e += grid_stride<Index>()) {
    Index t = e;
    const Index k = t % K;
    t /= K;
    const Index w = t % W;
    t /= W;
    const Index h = t % H, n = t / H;
    const Index c = k / (r * r), i = (k / r) % r, j = k % r;
    out[e] = x[((n * H * r + h * r + i) * (W * r) + w * r + j) * C + c];
  }
}

// Four consecutive elements, aligned to their size (16 bytes of float, 32 of double).
template <class T>
struct alignas(4 * sizeof(T)) Quad {
  T v[4];
};

// r = 2. Item (n, h, w, c) over the low-resolution pixels and the high-resolution channels.
template <class T, class Index, bool kToHigh>
__global__ void shuffle_by_2_kernel(T* __restrict__ low, T* __restrict__ high, ShuffleDims d) {
  const Index C = static_cast<Index>(d.C), W = static_cast<Index>(d.W);
  const Index n_items = static_cast<Index>(d.N * d.H) * W * C;
  for (Index item = grid_start<Index>(); item < n_items; item += grid_stride<Index>()) {
    const Index c = item % C, pixel = item / C;  // pixel = (n·H + h)·W + w
    const Index w = pixel % W, nh = pixel / W;
    Quad<T>* lo = reinterpret_cast<Quad<T>*>(low + pixel * 4 * C + 4 * c);
    T* hi = high + ((nh * 2) * (2 * W) + 2 * w) * C + c;  // (n, 2h, 2w, c)
    const Index row = 2 * W * C;                             // to (n, 2h + 1, ...)
    if constexpr (kToHigh) {
      const Quad<T> q = *lo;
      hi[0] = q.v[0];
      hi[C] = q.v[1];
      hi[row] = q.v[2];
      hi[row + C] = q.v[3];
    } else {
      Quad<T> q;
      q.v[0] = hi[0];
      q.v[1] = hi[C];
      q.v[2] = hi[row];
      q.v[3] = hi[row + C];
      *lo = q;
    }
  }
}

void shuffle(const Tensor& x, const ShuffleDims& d, bool to_high, Tensor& out) {
  const int64_t n = out.numel();
  if (n == 0) return;
  fh::cuda::DeviceGuard guard(out.device().index);
  dispatch_float(x, [&](auto tag) {
    using T = decltype(tag);
    const T* px = device_ptr<T>(x);
    T* po = device_ptr<T>(out);
    T* low = to_high ? const_cast<T*>(px) : po;
    T* high = to_high ? po : const_cast<T*>(px);
    const bool by_2 = d.r == 2 && reinterpret_cast<uintptr_t>(low) % sizeof(Quad<T>) == 0;
    const cudaStream_t stream = current_stream();
    with_index(n, [&](auto index) {
      using Index = decltype(index);
      if (by_2) {
        if (to_high) shuffle_by_2_kernel<T, Index, true><<<grid_for(n / 4), kBlockSize, 0, stream>>>(low, high, d);
        else shuffle_by_2_kernel<T, Index, false><<<grid_for(n / 4), kBlockSize, 0, stream>>>(low, high, d);
      } else {
        if (to_high) shuffle_kernel<T, Index><<<grid_for(n), kBlockSize, 0, stream>>>(px, d, po);
        else unshuffle_kernel<T, Index><<<grid_for(n), kBlockSize, 0, stream>>>(px, d, po);
      }
    });
  });
  FH_CUDA_CHECK_LAUNCH(to_high ? "cuda::pixel_shuffle" : "cuda::pixel_unshuffle", x.describe(), " with r = ", d.r);
}

}  // namespace

void pixel_shuffle(const Tensor& x, int64_t r, Tensor& out) {
  shuffle(x, {x.size(0), x.size(1), x.size(2), out.size(3), r}, true, out);
}

void pixel_unshuffle(const Tensor& x, int64_t r, Tensor& out) {
  shuffle(x, {out.size(0), out.size(1), out.size(2), x.size(3), r}, false, out);
}

}  // namespace fh::kernels::cuda
