// Nearest-neighbour resizing of NHWC images, PyTorch's `nearest` index rule
// (nearest_source_index in kernels/pool_types.h), forward and backward.
//
// The forward pass copies whole pixels (C contiguous values) row by row. The backward pass
// is a gather: the source index is non-decreasing in the destination index, so the output
// rows reading input row iy form one run [first[iy], first[iy + 1]); each input row is
// owned by one chunk, which adds those output rows' gradients in row-major order (as
// PyTorch's kernel does), so sums are deterministic and never race.
#include <algorithm>
#include <vector>

#include "kernels/cpu/channels.h"
#include "kernels/cpu/cpu_kernels.h"
#include "runtime/thread_pool.h"

namespace fh::kernels::cpu {

namespace {

// source[o] for every destination index o.
std::vector<int64_t> source_table(int64_t in_size, int64_t out_size) {
  std::vector<int64_t> source(static_cast<size_t>(out_size));
  for (int64_t o = 0; o < out_size; ++o) source[o] = nearest_source_index(o, in_size, out_size);
  return source;
}

// first[i] = the first destination index whose source is >= i (first[in_size] = out_size).
std::vector<int64_t> first_reader_table(const std::vector<int64_t>& source, int64_t in_size) {
  std::vector<int64_t> first(static_cast<size_t>(in_size + 1));
  int64_t o = 0;
  const int64_t out_size = static_cast<int64_t>(source.size());
  for (int64_t i = 0; i <= in_size; ++i) {
    while (o < out_size && source[o] < i) ++o;
    first[i] = o;
  }
  return first;
}

template <class T, int kC>
void resize_forward(const T* x, int64_t N, int64_t H, int64_t W, int64_t C_runtime, int64_t OH, int64_t OW, T* out) {
  const int64_t C = kC > 0 ? kC : C_runtime;
  const std::vector<int64_t> sy = source_table(H, OH), sx = source_table(W, OW);
  const bool same_width = OW == W;
  parallel_for(N * OH, grain_for(OW * C), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / OH, oy = r % OH;
      const T* src = x + (n * H + sy[oy]) * W * C;
      T* dst = out + r * OW * C;
      if (same_width) {
        std::copy(src, src + W * C, dst);
        continue;
      }
      for (int64_t ox = 0; ox < OW; ++ox) {
        const T* p = src + sx[ox] * C;
        for (int64_t c = 0; c < C; ++c) dst[ox * C + c] = p[c];
      }
    }
  });
}

template <class T, int kC>
void resize_backward(const T* grad_out, int64_t N, int64_t H, int64_t W, int64_t C_runtime, int64_t OH, int64_t OW,
                     T* grad_in) {
  const int64_t C = kC > 0 ? kC : C_runtime;
  const std::vector<int64_t> sy = source_table(H, OH), sx = source_table(W, OW);
  const std::vector<int64_t> first_row = first_reader_table(sy, H);
  // Average output rows per input row, for the grain.
  const int64_t work = std::max<int64_t>(1, (OH + H - 1) / H) * std::max(W, OW) * C;
  parallel_for(N * H, grain_for(work), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / H, iy = r % H;
      T* row = grad_in + r * W * C;
      std::fill(row, row + W * C, T(0));
      for (int64_t oy = first_row[iy]; oy < first_row[iy + 1]; ++oy) {
        const T* go = grad_out + (n * OH + oy) * OW * C;
        for (int64_t ox = 0; ox < OW; ++ox) {
          T* dst = row + sx[ox] * C;
          for (int64_t c = 0; c < C; ++c) dst[c] += go[ox * C + c];
        }
      }
    }
  });
}

}  // namespace

void resize_nearest(const Tensor& x, Tensor& out) {
  const int64_t N = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3), OH = out.size(1), OW = out.size(2);
  dispatch_float_channels(x, C, [&]<class T, int kC>() { resize_forward<T, kC>(x.data<T>(), N, H, W, C, OH, OW, out.data<T>()); });
}

void resize_nearest_backward(const Tensor& grad_out, Tensor& grad_in) {
  const int64_t N = grad_in.size(0), H = grad_in.size(1), W = grad_in.size(2), C = grad_in.size(3);
  const int64_t OH = grad_out.size(1), OW = grad_out.size(2);
  dispatch_float_channels(grad_out, C, [&]<class T, int kC>() {
    resize_backward<T, kC>(grad_out.data<T>(), N, H, W, C, OH, OW, grad_in.data<T>());
  });
}

}  // namespace fh::kernels::cpu
