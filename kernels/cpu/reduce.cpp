// Sum over dims on the CPU. Sums accumulate in double. The order in which an output's
// terms are added depends only on the shapes (never on the thread count), so results are
// bit-identical across runs and thread counts.
#include <algorithm>
#include <vector>

#include "kernels/cpu/cpu_kernels.h"
#include "runtime/thread_pool.h"

namespace fh::kernels::cpu {

namespace {

// When there are few outer outputs to share among threads, each output's reduced range is
// cut into up to 64 pieces (a function of the sizes only, never of the thread count), so
// every core takes part; pieces are combined in order.
int64_t reduced_pieces(const ReduceLayout& L) {
  if (L.outer_outputs >= 64) return 1;
  const int64_t work = L.outer_outputs * L.inner * L.reduced;
  const int64_t wanted = (64 + L.outer_outputs - 1) / L.outer_outputs;
  return std::clamp<int64_t>(std::min(wanted, work / (1 << 15)), 1, L.reduced);
}

// Accumulator width for short rows (see reduce_typed).
constexpr int64_t kWide = 256;
// Rows summed in the input type before joining the double sums: 16 terms keep float32's
// rounding error near 16·2^-24 relative, well inside float32 parity, at half the cost.
constexpr int64_t kRun = 16;

// Offset of flat index i over `n` dims of (sizes, strides), row-major.
int64_t strided_offset(int64_t i, int n, const int64_t* sizes, const int64_t* strides) {
  int64_t off = 0;
  for (int d = n - 1; d >= 0; --d) {
    off += (i % sizes[d]) * strides[d];
    i /= sizes[d];
  }
  return off;
}

// Sum of n elements at stride s: four independent accumulators for throughput, combined
// in a fixed order.
template <class T>
double strided_sum(const T* p, int64_t n, int64_t s) {
  double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    a0 += p[i * s];
    a1 += p[(i + 1) * s];
    a2 += p[(i + 2) * s];
    a3 += p[(i + 3) * s];
  }
  for (; i < n; ++i) a0 += p[i * s];
  return (a0 + a1) + (a2 + a3);
}

template <class T>
void reduce_typed(const T* in, const ReduceLayout& L, T* out) {
  const int64_t inner = L.inner;
  const int nr = L.num_red;
  // The last reduced dim is the tight loop; the others are walked by flat index.
  const int64_t tight = nr ? L.red_sizes[nr - 1] : 1;
  const int64_t tight_stride = nr ? L.red_strides[nr - 1] : 0;
  // Each output's reduced range [0, L.reduced) may be cut into pieces (see reduced_pieces).
  const int64_t pieces = reduced_pieces(L);
  const int64_t items = L.outer_outputs * pieces;
  std::vector<double> partial(pieces > 1 ? static_cast<size_t>(items * inner) : 0);

  const int64_t grain = std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(1, inner * L.reduced / pieces));
  if (inner == 1 && nr == 1 && pieces == 1 && L.num_kept == 1) {
    // Many short rows at one stride (a vector's length over its last dim: [B, 2880, 3] for
    // the eye meshes' edges): the general walk below spends far more per output on its
    // offsets and buffers than on the few terms. The same terms in the same order.
    const int64_t row_stride = L.kept_strides[0];
    parallel_for(items, grain, [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o)
        out[o] = static_cast<T>(strided_sum(in + o * row_stride, tight, tight_stride));
    });
    return;
  }
  parallel_for(items, grain, [&](int64_t begin, int64_t end) {
    std::vector<double> acc(static_cast<size_t>(inner));
    std::vector<double> wide(static_cast<size_t>(2 * kWide));
    std::vector<T> run(static_cast<size_t>(inner));
    for (int64_t item = begin; item < end; ++item) {
      const int64_t o = item / pieces, piece = item % pieces;
      const int64_t r0 = L.reduced * piece / pieces, r1 = L.reduced * (piece + 1) / pieces;
      const T* base = in + strided_offset(o, L.num_kept, L.kept_sizes, L.kept_strides);
      std::fill(acc.begin(), acc.end(), 0.0);
      // Walk [r0, r1) as segments of the tight dim.
      for (int64_t r = r0; r < r1;) {
        const int64_t t0 = r % tight, t1 = std::min(tight, t0 + (r1 - r));
        const T* p = base + strided_offset(r / tight, nr - 1, L.red_sizes, L.red_strides) + t0 * tight_stride;
        if (inner == 1) {
          acc[0] += strided_sum(p, t1 - t0, tight_stride);
        } else if (tight_stride == inner && inner < kWide) {
          // Short contiguous rows: add `fold` rows at a time into a wide accumulator so the
          // vector loop is long, then fold its columns into acc. Runs of kRun row groups are
          // summed in T first (cheap, vectorised), each run then added to the double sums.
          const int64_t rows = t1 - t0, fold = (kWide + inner - 1) / inner, width = fold * inner;
          std::fill(wide.begin(), wide.begin() + width, 0.0);
          int64_t t = 0;
          while (t + fold <= rows) {
            T run[2 * kWide] = {};
            for (int64_t g = 0; g < kRun && t + fold <= rows; ++g, t += fold) {
              const T* q = p + t * inner;
              for (int64_t j = 0; j < width; ++j) run[j] += q[j];
            }
            for (int64_t j = 0; j < width; ++j) wide[j] += run[j];
          }
          for (; t < rows; ++t)
            for (int64_t i = 0; i < inner; ++i) wide[i] += p[t * inner + i];
          for (int64_t k = 0; k < fold; ++k)
            for (int64_t i = 0; i < inner; ++i) acc[i] += wide[k * inner + i];
        } else {
          // Long rows: runs of kRun rows are summed in T into `run` (one vector loop per
          // row), each run then added to the double sums.
          const int64_t rows = t1 - t0;
          for (int64_t t = 0; t < rows; t += kRun) {
            std::fill(run.begin(), run.end(), T(0));
            const int64_t end = std::min(rows, t + kRun);
            for (int64_t u = t; u < end; ++u) {
              const T* q = p + u * tight_stride;
              for (int64_t i = 0; i < inner; ++i) run[i] += q[i];
            }
            for (int64_t i = 0; i < inner; ++i) acc[i] += run[i];
          }
        }
        r += t1 - t0;
      }
      if (pieces == 1) {
        for (int64_t i = 0; i < inner; ++i) out[o * inner + i] = static_cast<T>(acc[i]);
      } else {
        std::copy(acc.begin(), acc.end(), partial.begin() + item * inner);
      }
    }
  });
  if (pieces == 1) return;
  for (int64_t o = 0; o < L.outer_outputs; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      double s = 0;
      for (int64_t piece = 0; piece < pieces; ++piece) s += partial[(o * pieces + piece) * inner + i];
      out[o * inner + i] = static_cast<T>(s);
    }
  }
}

}  // namespace

void reduce_sum(const Tensor& x, const ReduceLayout& layout, Tensor& out) {
  if (x.dtype() == DType::F64) {
    reduce_typed(x.data<double>(), layout, out.data<double>());
  } else {
    reduce_typed(x.data<float>(), layout, out.data<float>());
  }
}

}  // namespace fh::kernels::cpu
