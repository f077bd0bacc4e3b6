// N-shot fusion on the GPU: out(n,p,:) = Σ_j softmax_j(m(n,:,p)) · x(n,j,p,:), and its two
// gradients. The softmax is the CPU twin's (kernels/cpu/nshot_fusion.cpp): max over j,
// exp(m_j - max), the total summed in j order, a_j = exp(m_j - max) / total.
//
// forward, backward_x: one thread per (pixel, 16-byte channel vector); the thread computes its
//   pixel's M weights itself (M exps, recomputed rather than stored: M is a handful) and walks
//   the sources, so x and grad_out are read once, coalesced along the channels.
// backward_m: a group of lanes per pixel reduces <grad_out, x_j> over the channels by a fixed
//   shuffle tree for each j (deterministic); the group's first lane keeps the dots in grad_m
//   itself until it knows Σ_j a_j·dot_j, then overwrites them with a_j·(dot_j - Σ).
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/device_util.cuh"

namespace fh::kernels::cuda {

namespace {

struct FusionDims {
  int64_t N, M, P, C;  // P = H·W pixels per image
};

// The max and 1 / Σ exp(m_j - max) of the M weights m[0], m[stride], ...
template <class T>
struct SoftmaxOf {
  T top, total;
  __device__ SoftmaxOf(const T* m, int64_t stride, int64_t M) {
    top = m[0];
    for (int64_t j = 1; j < M; ++j) {
      const T v = m[j * stride];
      top = top < v ? v : top;  // std::max(top, v)
    }
    total = 0;
    for (int64_t j = 0; j < M; ++j) total += dev_exp(m[j * stride] - top);
  }
  __device__ T weight(T mj) const { return dev_exp(mj - top) / total; }
};

// Thread per (pixel, channel vector): its pixel's weights, then Σ_j a_j·x_j in j order.
template <class T, class Index, int Wd>
__global__ void fusion_kernel(const T* __restrict__ m, const T* __restrict__ x, FusionDims d, T* __restrict__ out) {
  const Index vecs = static_cast<Index>(d.C / Wd);
  const Index n_items = static_cast<Index>(d.N * d.P) * vecs;
  for (Index item = grid_start<Index>(); item < n_items; item += grid_stride<Index>()) {
    const int64_t q = static_cast<int64_t>(item / vecs), c = static_cast<int64_t>(item % vecs) * Wd;
    const int64_t n = q / d.P, p = q % d.P;
    const T* mp = m + n * d.M * d.P + p;
    const SoftmaxOf<T> sm(mp, d.P, d.M);
    const T* xj = x + (n * d.M * d.P + p) * d.C + c;
    T acc[Wd], v[Wd];
    load<Wd>(xj, v);
    const T a0 = sm.weight(mp[0]);
#pragma unroll
    for (int k = 0; k < Wd; ++k) acc[k] = a0 * v[k];
    for (int64_t j = 1; j < d.M; ++j) {
      load<Wd>(xj + j * d.P * d.C, v);
      const T a = sm.weight(mp[j * d.P]);
#pragma unroll
      for (int k = 0; k < Wd; ++k) acc[k] += a * v[k];
    }
    store<Wd>(out + q * d.C + c, acc);
  }
}

// Thread per (pixel, channel vector): grad_x_j = a_j·grad_out for every source j.
template <class T, class Index, int Wd>
__global__ void fusion_backward_x_kernel(const T* __restrict__ m, const T* __restrict__ grad_out, FusionDims d,
                                         T* __restrict__ grad_x) {
  const Index vecs = static_cast<Index>(d.C / Wd);
  const Index n_items = static_cast<Index>(d.N * d.P) * vecs;
  for (Index item = grid_start<Index>(); item < n_items; item += grid_stride<Index>()) {
    const int64_t q = static_cast<int64_t>(item / vecs), c = static_cast<int64_t>(item % vecs) * Wd;
    const int64_t n = q / d.P, p = q % d.P;
    const T* mp = m + n * d.M * d.P + p;
    const SoftmaxOf<T> sm(mp, d.P, d.M);
    T g[Wd], o[Wd];
    load<Wd>(grad_out + q * d.C + c, g);
    for (int64_t j = 0; j < d.M; ++j) {
      const T a = sm.weight(mp[j * d.P]);
#pragma unroll
      for (int k = 0; k < Wd; ++k) o[k] = a * g[k];
      store<Wd>(grad_x + ((n * d.M + j) * d.P + p) * d.C + c, o);
    }
  }
}

// A group of `group` lanes (a power of two <= 32) per pixel; warp-uniform loop for the shuffles.
template <class T, class Index>
__global__ void fusion_backward_m_kernel(const T* __restrict__ m, const T* __restrict__ x,
                                         const T* __restrict__ grad_out, FusionDims d, int group,
                                         T* __restrict__ grad_m) {
  const int lane = threadIdx.x % 32, sub = lane % group;
  const Index per_warp = static_cast<Index>(32 / group);
  const Index pixels = static_cast<Index>(d.N * d.P);
  const Index warps = static_cast<Index>(gridDim.x) * (blockDim.x / 32);
  for (Index base = (grid_start<Index>() / 32) * per_warp; base < pixels; base += warps * per_warp) {
    const Index qi = base + static_cast<Index>(lane / group);
    const bool valid = qi < pixels;
    const int64_t q = valid ? static_cast<int64_t>(qi) : 0;
    const int64_t n = q / d.P, p = q % d.P;
    const T* g = grad_out + q * d.C;
    T* gm = grad_m + n * d.M * d.P + p;
    T mean = 0;  // Σ_j a_j·dot_j = <grad_out, out>, in j order
    const T* mp = m + n * d.M * d.P + p;
    const SoftmaxOf<T> sm(mp, d.P, d.M);
    for (int64_t j = 0; j < d.M; ++j) {  // uniform across the warp (M is)
      const T* xs = x + ((n * d.M + j) * d.P + p) * d.C;
      T dot = 0;
      if (valid)
        for (int64_t c = sub; c < d.C; c += group) dot += g[c] * xs[c];
      dot = group_sum(dot, group);
      if (valid && sub == 0) {
        gm[j * d.P] = dot;
        mean += sm.weight(mp[j * d.P]) * dot;
      }
    }
    if (valid && sub == 0) {
      for (int64_t j = 0; j < d.M; ++j) {
        const T a = sm.weight(mp[j * d.P]);
        gm[j * d.P] = a * (gm[j * d.P] - mean);
      }
    }
  }
}

FusionDims fusion_dims(const Tensor& x) { return {x.size(0), x.size(1), x.size(2) * x.size(3), x.size(4)}; }

// A thread per (pixel, channel vector) of one image stack, 16-byte vectors when C and the
// pointers allow; `largest` sizes the index type.
template <class T, class Launch>
void launch_channels(const FusionDims& d, bool aligned, int64_t largest, Launch&& launch) {
  with_vectors<T>(d.N * d.P * d.C, aligned && d.C % kVec<T> == 0, largest, launch);
}

}  // namespace

void nshot_fusion(const Tensor& m, const Tensor& x, Tensor& out) {
  if (out.numel() == 0) return;
  fh::cuda::DeviceGuard guard(out.device().index);
  const FusionDims d = fusion_dims(x);
  dispatch_float(x, [&](auto tag) {
    using T = decltype(tag);
    const T *pm = device_ptr<T>(m), *px = device_ptr<T>(x);
    T* po = device_ptr<T>(out);
    launch_channels<T>(d, aligned16(px) && aligned16(po), x.numel(), [&](auto index, auto width, unsigned grid) {
      fusion_kernel<T, decltype(index), decltype(width)::value><<<grid, kBlockSize, 0, current_stream()>>>(pm, px, d,
                                                                                                           po);
    });
  });
  FH_CUDA_CHECK_LAUNCH("cuda::nshot_fusion", "m ", m.describe(), ", x ", x.describe());
}

void nshot_fusion_backward_x(const Tensor& m, const Tensor& grad_out, Tensor& grad_x) {
  if (grad_x.numel() == 0) return;
  fh::cuda::DeviceGuard guard(grad_x.device().index);
  const FusionDims d = fusion_dims(grad_x);
  dispatch_float(m, [&](auto tag) {
    using T = decltype(tag);
    const T *pm = device_ptr<T>(m), *pg = device_ptr<T>(grad_out);
    T* px = device_ptr<T>(grad_x);
    launch_channels<T>(d, aligned16(pg) && aligned16(px), grad_x.numel(), [&](auto index, auto width, unsigned grid) {
      fusion_backward_x_kernel<T, decltype(index), decltype(width)::value>
          <<<grid, kBlockSize, 0, current_stream()>>>(pm, pg, d, px);
    });
  });
  FH_CUDA_CHECK_LAUNCH("cuda::nshot_fusion_backward_x", "m ", m.describe(), ", grad_out ", grad_out.describe());
}

void nshot_fusion_backward_m(const Tensor& m, const Tensor& x, const Tensor& grad_out, Tensor& grad_m) {
  if (grad_m.numel() == 0) return;
  fh::cuda::DeviceGuard guard(grad_m.device().index);
  const FusionDims d = fusion_dims(x);
  int group = 1;
  while (group < 32 && group < d.C) group *= 2;
  const int64_t pixels = d.N * d.P;
  const unsigned grid = grid_for(ceil_div(pixels, 32 / group) * 32);
  dispatch_float(m, [&](auto tag) {
    using T = decltype(tag);
    const T *pm = device_ptr<T>(m), *px = device_ptr<T>(x), *pg = device_ptr<T>(grad_out);
    T* po = device_ptr<T>(grad_m);
    with_index(std::max(x.numel(), pixels * 32), [&](auto index) {
      fusion_backward_m_kernel<T, decltype(index)><<<grid, kBlockSize, 0, current_stream()>>>(pm, px, pg, d, group, po);
    });
  });
  FH_CUDA_CHECK_LAUNCH("cuda::nshot_fusion_backward_m", "m ", m.describe(), ", x ", x.describe());
}

}  // namespace fh::kernels::cuda
