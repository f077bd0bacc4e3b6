// Pixel shuffle and unshuffle on the GPU: pure data movement, one thread per output element
// (writes coalesced). A thread's source lies in the same low-resolution pixel (C·r²
// contiguous values) or the same r high-resolution rows as its neighbours', so the strided
// reads of a warp share cache lines and each byte still comes from DRAM once.
// PyTorch's channel order: out(n, h·r+i, w·r+j, c) = x(n, h, w, c·r² + i·r + j).
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/device_util.cuh"

namespace fh::kernels::cuda {

namespace {

// Low-resolution side [N, H, W, C·r²], high-resolution side [N, H·r, W·r, C].
struct ShuffleDims {
  int64_t N, H, W, C, r;
};

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

void shuffle(const Tensor& x, const ShuffleDims& d, bool to_high, Tensor& out) {
  const int64_t n = out.numel();
  if (n == 0) return;
  fh::cuda::DeviceGuard guard(out.device().index);
  dispatch_float(x, [&](auto tag) {
    using T = decltype(tag);
    const T* px = device_ptr<T>(x);
    T* po = device_ptr<T>(out);
    const unsigned grid = grid_for(n);
    if (fits_32bit(n)) {
      if (to_high) shuffle_kernel<T, uint32_t><<<grid, kBlockSize, 0, current_stream()>>>(px, d, po);
      else unshuffle_kernel<T, uint32_t><<<grid, kBlockSize, 0, current_stream()>>>(px, d, po);
    } else {
      if (to_high) shuffle_kernel<T, int64_t><<<grid, kBlockSize, 0, current_stream()>>>(px, d, po);
      else unshuffle_kernel<T, int64_t><<<grid, kBlockSize, 0, current_stream()>>>(px, d, po);
    }
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
