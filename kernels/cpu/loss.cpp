// Mean-reduced losses on the CPU. The forward reads its operands once and reduces the
// per-element terms directly (no intermediate tensor); the backward writes both operands'
// gradients in the same pass. The sum runs over fixed blocks of kLossBlock elements (so its
// order depends on the size alone, never on the thread count), each block in lane-parallel
// accumulators (see ordered_sum), the block sums added in order in double.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/walk.h"
#include "runtime/thread_pool.h"

namespace fh::kernels::cpu {

namespace {

constexpr int64_t kLossBlock = 1 << 14;
constexpr int kLanes = 16;
constexpr int64_t kPiece = 512;

// Σ_i term(i) over [0, n), term(i) being element i's term as T. Pieces of kPiece terms are
// summed in kLanes accumulators of T (32 terms each, so rounding stays within a few ulp of
// the piece's sum whatever n is); the pieces' lanes are summed in double. With `Buffered`,
// a piece's terms are first formed into a buffer by a plain elementwise loop: the compiler
// vectorises that one even where the term has a select (as relu does), but not the select
// fused into the accumulation.
template <class T, bool Buffered, class Term>
double ordered_sum(int64_t n, Term term) {
  const int64_t blocks = (n + kLossBlock - 1) / kLossBlock;
  std::vector<double> partial(static_cast<size_t>(blocks));
  parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
    const Term term_fn = term;  // a local copy: see write_grads
    T terms[Buffered ? kPiece : 1];
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t begin = blk * kLossBlock, end = std::min(n, begin + kLossBlock);
      double acc[kLanes] = {};
      for (int64_t p0 = begin; p0 < end; p0 += kPiece) {
        const int64_t m = std::min(kPiece, end - p0);
        if constexpr (Buffered) {
          for (int64_t j = 0; j < m; ++j) terms[j] = term_fn(p0 + j);
        }
        auto term_at = [&](int64_t j) { return Buffered ? terms[j] : term_fn(p0 + j); };
        T lane[kLanes] = {};
        int64_t j = 0;
        for (; j + kLanes <= m; j += kLanes)
          for (int k = 0; k < kLanes; ++k) lane[k] += term_at(j + k);
        for (int k = 0; j < m; ++j, ++k) lane[k] += term_at(j);
        for (int k = 0; k < kLanes; ++k) acc[k] += static_cast<double>(lane[k]);
      }
      for (int width = kLanes / 2; width > 0; width /= 2)
        for (int k = 0; k < width; ++k) acc[k] += acc[k + width];
      partial[blk] = acc[0];
    }
  });
  double total = 0;
  for (double p : partial) total += p;
  return total;
}

template <class T>
T loss_forward_typed(LossOp op, const T* a, const T* b, int64_t n) {
  double total = 0;
  switch (op) {
    case LossOp::L1: total = ordered_sum<T, false>(n, [=](int64_t i) { return std::abs(a[i] - b[i]); }); break;
    case LossOp::Mse:
      total = ordered_sum<T, false>(n, [=](int64_t i) {
        const T d = a[i] - b[i];
        return d * d;
      });
      break;
    // relu(v) as (v < 0 ? 0 : v) keeps NaN, as torch.relu does.
    case LossOp::HingeReal:
      total = ordered_sum<T, true>(n, [=](int64_t i) {
        const T v = T(1) - a[i];
        return v < T(0) ? T(0) : v;
      });
      break;
    case LossOp::HingeFake:
      total = ordered_sum<T, true>(n, [=](int64_t i) {
        const T v = T(1) + a[i];
        return v < T(0) ? T(0) : v;
      });
      break;
    case LossOp::HingeGenerator: total = -ordered_sum<T, false>(n, [=](int64_t i) { return a[i]; }); break;
  }
  return static_cast<T>(total / static_cast<double>(n));
}

// Writes ga[i] = f(i) and, when gb is wanted, gb[i] = -f(i). The chunk body works on a
// local copy of f: its constants, read through the closure, might be changed by the stores
// as far as the compiler knows, which would stop it vectorising the loops.
template <class T, class F>
void write_grads(int64_t n, T* ga_out, T* gb_out, F f_in) {
  parallel_for(n, kElementwiseGrain, [=](int64_t begin, int64_t end) {
    const F f = f_in;
    T* ga = ga_out;
    T* gb = gb_out;
    if (ga && gb) {
      for (int64_t i = begin; i < end; ++i) {
        const T v = f(i);
        ga[i] = v;
        gb[i] = -v;
      }
    } else if (ga) {
      for (int64_t i = begin; i < end; ++i) ga[i] = f(i);
    } else {
      for (int64_t i = begin; i < end; ++i) gb[i] = -f(i);
    }
  });
}

// The formulas and roundings of PyTorch's backward for each loss: the mean's backward hands
// every element g / n; mse_loss_backward computes (2/n)·(a - b)·g.
template <class T>
void loss_backward_typed(LossOp op, T g, const T* a, const T* b, T* ga, T* gb, int64_t n) {
  const T s = g / static_cast<T>(n);
  switch (op) {
    case LossOp::L1:
      // sign(a - b), 0 where equal (and for NaN).
      return write_grads(n, ga, gb, [=](int64_t i) {
        const T d = a[i] - b[i];
        return s * static_cast<T>((d > T(0)) - (d < T(0)));
      });
    case LossOp::Mse: {
      const T norm = static_cast<T>(2.0 / static_cast<double>(n));
      return write_grads(n, ga, gb, [=](int64_t i) { return norm * (a[i] - b[i]) * g; });
    }
    // relu passes the gradient where its output is > 0 (relu'(0) = 0).
    case LossOp::HingeReal:
      return write_grads(n, ga, gb, [=](int64_t i) { return T(1) - a[i] > T(0) ? -s : T(0); });
    case LossOp::HingeFake:
      return write_grads(n, ga, gb, [=](int64_t i) { return T(1) + a[i] > T(0) ? s : T(0); });
    case LossOp::HingeGenerator: return write_grads(n, ga, gb, [=](int64_t) { return -s; });
  }
}

template <class T>
T* data_or_null(Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

template <class T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

}  // namespace

void loss_forward(LossOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  if (a.dtype() == DType::F64) {
    out.data<double>()[0] = loss_forward_typed(op, a.data<double>(), data_or_null<double>(b), a.numel());
  } else {
    out.data<float>()[0] = loss_forward_typed(op, a.data<float>(), data_or_null<float>(b), a.numel());
  }
}

void loss_backward(LossOp op, const Tensor& grad_out, const Tensor& a, const Tensor& b, Tensor& grad_a,
                   Tensor& grad_b) {
  if (a.dtype() == DType::F64) {
    loss_backward_typed(op, grad_out.data<double>()[0], a.data<double>(), data_or_null<double>(b),
                        data_or_null<double>(grad_a), data_or_null<double>(grad_b), a.numel());
  } else {
    loss_backward_typed(op, grad_out.data<float>()[0], a.data<float>(), data_or_null<float>(b),
                        data_or_null<float>(grad_a), data_or_null<float>(grad_b), a.numel());
  }
}

}  // namespace fh::kernels::cpu
