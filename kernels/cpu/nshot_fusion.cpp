// N-shot fusion on the CPU: out(n,p,:) = Σ_j softmax_j(m(n,:,p)) · x(n,j,p,:).
//
// The M source images of a batch entry are M separate [H,W,C] blocks, so a pixel reads M
// channel rows H·W·C apart; work is split over pixels, and each pixel computes its M
// softmax weights once (in a per-chunk scratch) and then runs vectorised channel loops.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/lane_sum.h"
#include "runtime/thread_pool.h"

namespace fh::kernels::cpu {

namespace {

struct FusionDims {
  int64_t N, M, P, C;  // P = H·W pixels per image
};

FusionDims fusion_dims(const Tensor& x) { return {x.size(0), x.size(1), x.size(2) * x.size(3), x.size(4)}; }

// a[j] = softmax over j of m[j·stride], j < M: exp(m_j - max) / Σ_k exp(m_k - max), summed in j order.
template <class T>
inline void softmax_weights(const T* m, int64_t stride, int64_t M, T* a) {
  T top = m[0];
  for (int64_t j = 1; j < M; ++j) top = std::max(top, m[j * stride]);
  T total = 0;
  for (int64_t j = 0; j < M; ++j) {
    a[j] = std::exp(m[j * stride] - top);
    total += a[j];
  }
  for (int64_t j = 0; j < M; ++j) a[j] /= total;
}

// Pixels per parallel chunk: about 32K channel elements of output.
int64_t pixel_grain(int64_t C) { return std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(1, C)); }

// Calls fn(n, pixel, a) for every pixel of every image, a = its M softmax weights.
template <class T, class Fn>
void for_each_weighted_pixel(const T* m, const FusionDims& d, Fn&& fn) {
  parallel_for(d.N * d.P, pixel_grain(d.C), [&](int64_t q0, int64_t q1) {
    std::vector<T> a(static_cast<size_t>(d.M));
    for (int64_t q = q0; q < q1; ++q) {
      const int64_t n = q / d.P, p = q % d.P;
      softmax_weights(m + n * d.M * d.P + p, d.P, d.M, a.data());
      fn(n, p, a.data());
    }
  });
}

template <class T>
void fusion_typed(const T* m, const T* x, T* out, const FusionDims& d) {
  for_each_weighted_pixel(m, d, [&](int64_t n, int64_t p, const T* a) {
    T* __restrict o = out + (n * d.P + p) * d.C;
    const T* xj = x + (n * d.M * d.P + p) * d.C;
    {
      const T* __restrict x0 = xj;
      for (int64_t c = 0; c < d.C; ++c) o[c] = a[0] * x0[c];
    }
    for (int64_t j = 1; j < d.M; ++j) {
      const T* __restrict xs = xj + j * d.P * d.C;
      const T w = a[j];
      for (int64_t c = 0; c < d.C; ++c) o[c] += w * xs[c];
    }
  });
}

template <class T>
void fusion_backward_x_typed(const T* m, const T* go, T* gx, const FusionDims& d) {
  for_each_weighted_pixel(m, d, [&](int64_t n, int64_t p, const T* a) {
    const T* __restrict g = go + (n * d.P + p) * d.C;
    for (int64_t j = 0; j < d.M; ++j) {
      T* __restrict o = gx + ((n * d.M + j) * d.P + p) * d.C;
      const T w = a[j];
      for (int64_t c = 0; c < d.C; ++c) o[c] = w * g[c];
    }
  });
}

template <class T>
void fusion_backward_m_typed(const T* m, const T* x, const T* go, T* gm, const FusionDims& d) {
  parallel_for(d.N * d.P, pixel_grain(d.C * d.M), [&](int64_t q0, int64_t q1) {
    // Per chunk: the weights a and the dot products dots[j] = <grad_out, x_j>.
    std::vector<T> a(static_cast<size_t>(d.M)), dots(static_cast<size_t>(d.M));
    for (int64_t q = q0; q < q1; ++q) {
      const int64_t n = q / d.P, p = q % d.P;
      const T* mp = m + n * d.M * d.P + p;
      softmax_weights(mp, d.P, d.M, a.data());
      const T* __restrict g = go + q * d.C;
      T mean = 0;  // Σ_j a_j · dots_j = <grad_out, out>
      for (int64_t j = 0; j < d.M; ++j) {
        const T* __restrict xs = x + ((n * d.M + j) * d.P + p) * d.C;
        Lanes<T> dot;
        int64_t c = 0;
        for (; c + kLanes <= d.C; c += kLanes) {
          for (int l = 0; l < kLanes; ++l) dot.v[l] += g[c + l] * xs[c + l];
        }
        for (; c < d.C; ++c) dot.v[0] += g[c] * xs[c];
        dots[j] = dot.total();
        mean += a[j] * dots[j];
      }
      T* out = gm + n * d.M * d.P + p;
      for (int64_t j = 0; j < d.M; ++j) out[j * d.P] = a[j] * (dots[j] - mean);
    }
  });
}

}  // namespace

void nshot_fusion(const Tensor& m, const Tensor& x, Tensor& out) {
  const FusionDims d = fusion_dims(x);
  if (x.dtype() == DType::F64) {
    fusion_typed(m.data<double>(), x.data<double>(), out.data<double>(), d);
  } else {
    fusion_typed(m.data<float>(), x.data<float>(), out.data<float>(), d);
  }
}

void nshot_fusion_backward_x(const Tensor& m, const Tensor& grad_out, Tensor& grad_x) {
  const FusionDims d = fusion_dims(grad_x);
  if (m.dtype() == DType::F64) {
    fusion_backward_x_typed(m.data<double>(), grad_out.data<double>(), grad_x.data<double>(), d);
  } else {
    fusion_backward_x_typed(m.data<float>(), grad_out.data<float>(), grad_x.data<float>(), d);
  }
}

void nshot_fusion_backward_m(const Tensor& m, const Tensor& x, const Tensor& grad_out, Tensor& grad_m) {
  const FusionDims d = fusion_dims(x);
  if (m.dtype() == DType::F64) {
    fusion_backward_m_typed(m.data<double>(), x.data<double>(), grad_out.data<double>(), grad_m.data<double>(), d);
  } else {
    fusion_backward_m_typed(m.data<float>(), x.data<float>(), grad_out.data<float>(), grad_m.data<float>(), d);
  }
}

}  // namespace fh::kernels::cpu
