// Batched matmul on the CPU through Eigen's GEMM. Eigen runs single-threaded
// (EIGEN_DONT_PARALLELIZE); freehead splits batches, or row blocks of one product, over its
// own pool, so a given thread count always splits the same way (bit-reproducible). Small
// products (up to about a thousand multiply-adds) are done by plain loops instead, and a
// single float32 product with op(A) = A (the linear layers' forward and input gradient) by
// the register-blocked product of register_product.h (packed_matmul).
#include <Eigen/Core>
#include <algorithm>
#include <type_traits>
#include <vector>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/register_product.h"
#include "runtime/thread_pool.h"

namespace fh::kernels::cpu {

namespace {

template <class T>
using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Rows [m0, m1) of C = op(A) · op(B) for one matrix pair.
template <class T>
void gemm_rows(const T* a, const T* b, T* c, const MatmulLayout& L, int64_t m0, int64_t m1) {
  const Eigen::Map<const RowMajor<T>> A(a, L.trans_a ? L.K : L.M, L.trans_a ? L.M : L.K);
  const Eigen::Map<const RowMajor<T>> B(b, L.trans_b ? L.N : L.K, L.trans_b ? L.K : L.N);
  Eigen::Map<RowMajor<T>> C(c + m0 * L.N, m1 - m0, L.N);
  const int64_t rows = m1 - m0;
  if (!L.trans_a && !L.trans_b) C.noalias() = A.middleRows(m0, rows) * B;
  if (!L.trans_a && L.trans_b) C.noalias() = A.middleRows(m0, rows) * B.transpose();
  if (L.trans_a && !L.trans_b) C.noalias() = A.middleCols(m0, rows).transpose() * B;
  if (L.trans_a && L.trans_b) C.noalias() = A.middleCols(m0, rows).transpose() * B.transpose();
}

// Products of at most this many multiply-adds (M·N·K) skip Eigen: the rotation of 68
// key-points (3x3 · 3x68) costs Eigen's GEMM setup and packing more than its arithmetic
// (measured: plain loops win up to about 1K multiply-adds and lose from about 4K).
constexpr int64_t kSmallProduct = 1024;

// One AVX register of values (Eigen's fixed-size arrays compile to packet operations).
template <class T>
using Packet = Eigen::Array<T, 32 / sizeof(T), 1>;

// Σ x[i]·y[i] over contiguous x and y: partial sums in lanes, then the lanes and the tail,
// always in the same order.
template <class T>
T lane_dot(const T* x, const T* y, int64_t n) {
  constexpr int64_t kWidth = Packet<T>::SizeAtCompileTime;
  Packet<T> acc = Packet<T>::Zero();
  int64_t i = 0;
  for (; i + kWidth <= n; i += kWidth) acc += Eigen::Map<const Packet<T>>(x + i) * Eigen::Map<const Packet<T>>(y + i);
  T tail = 0;
  for (; i < n; ++i) tail += x[i] * y[i];
  return acc.sum() + tail;
}

// C = op(A) · op(B) for one small product by plain loops, C(m, n) summed over k in order.
// With A's rows and Bᵀ's rows both contiguous along k (a · bᵀ), each C(m, n) is a dot
// product; otherwise C's row m is built a register of columns at a time, the sums over k
// staying in the register.
template <class T>
void small_product(const T* a, const T* b, T* c, const MatmulLayout& L) {
  if (!L.trans_a && L.trans_b) {
    for (int64_t m = 0; m < L.M; ++m)
      for (int64_t n = 0; n < L.N; ++n) c[m * L.N + n] = lane_dot(a + m * L.K, b + n * L.K, L.K);
    return;
  }
  constexpr int64_t kWidth = Packet<T>::SizeAtCompileTime;
  const int64_t a_m = L.trans_a ? 1 : L.K, a_k = L.trans_a ? L.M : 1;  // A(m, k) = a[m·a_m + k·a_k]
  const int64_t b_k = L.trans_b ? 1 : L.N, b_n = L.trans_b ? L.K : 1;  // B(k, n) = b[k·b_k + n·b_n]
  for (int64_t m = 0; m < L.M; ++m) {
    const T* am = a + m * a_m;
    T* row = c + m * L.N;
    int64_t n0 = 0;
    if (b_n == 1) {
      for (; n0 + kWidth <= L.N; n0 += kWidth) {
        Packet<T> acc = Packet<T>::Zero();
        for (int64_t k = 0; k < L.K; ++k) acc += am[k * a_k] * Eigen::Map<const Packet<T>>(b + k * b_k + n0);
        Eigen::Map<Packet<T>>(row + n0) = acc;
      }
    }
    for (int64_t n = n0; n < L.N; ++n) {
      T acc = 0;
      for (int64_t k = 0; k < L.K; ++k) acc += am[k * a_k] * b[k * b_k + n * b_n];
      row[n] = acc;
    }
  }
}

// One float32 product with op(A) = A (the linear layers' forward x·Wᵀ and input gradient
// g·W) by the register-blocked product (register_product.h), for K up to this.
constexpr int64_t kMaxPackedK = 4096;

// B is packed once into blocks of 64 columns laid out [K, 64] (transposed on the way when
// op(B) = Bᵀ), one pass shared by the threads; tasks are (row block, column block) pairs
// multiplying straight into C. Eigen's GEMM, called per row block, packed all of B in every
// task, and with a few rows (a batch of 64 against a 512 × 1446 weight) that packing took
// longer than the multiplies. Each C value sums its K products in increasing order, so the
// split never changes a value.
void packed_matmul(const float* a, const float* b, float* c, const MatmulLayout& L) {
  const int64_t M = L.M, N = L.N, K = L.K;
  const product::PackedPanels packed = product::PackedPanels::pack(b, K, N, L.trans_b);  // B is [N, K] if trans_b
  const int64_t blocks = packed.panels;
  // Row blocks of at most 96 rows, more of them where there are too few tasks for the threads.
  const int64_t tasks_wanted = 2 * num_threads();
  const int64_t row_blocks = std::max((M + 95) / 96, std::min((tasks_wanted + blocks - 1) / blocks, (M + 11) / 12));
  const int64_t rows_per_block = (M + row_blocks - 1) / row_blocks;
  parallel_for(row_blocks * blocks, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t task = t0; task < t1; ++task) {
      const int64_t r0 = task / blocks * rows_per_block, rows = std::min(rows_per_block, M - r0);
      if (rows > 0) packed.multiply_panel(a + r0 * K, K, rows, task % blocks, c + r0 * N, N);
    }
  });
}

template <class T>
void matmul_typed(const T* a, const T* b, T* c, const MatmulLayout& L) {
  // Matrix indices of a and b for every output batch element.
  std::vector<int64_t> a_index(L.batch), b_index(L.batch);
  for (int64_t i = 0; i < L.batch; ++i) {
    int64_t rem = i;
    a_index[i] = b_index[i] = 0;
    for (int d = L.batch_walk.ndim - 1; d >= 0; --d) {
      const int64_t coord = rem % L.batch_walk.sizes[d];
      rem /= L.batch_walk.sizes[d];
      a_index[i] += coord * L.batch_walk.strides[0][d];
      b_index[i] += coord * L.batch_walk.strides[1][d];
    }
  }
  const int64_t a_size = L.M * L.K, b_size = L.K * L.N, c_size = L.M * L.N;
  if (L.M * L.N * L.K <= kSmallProduct) {
    // Whole products per chunk, at least ~64K multiply-adds each (the pool's wake-up costs
    // more than a few small products).
    const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(1, L.M * L.N * L.K));
    parallel_for(L.batch, grain, [&](int64_t begin, int64_t end) {
      for (int64_t bi = begin; bi < end; ++bi)
        small_product(a + a_index[bi] * a_size, b + b_index[bi] * b_size, c + bi * c_size, L);
    });
    return;
  }
  if constexpr (std::is_same_v<T, float>) {
    if (L.batch == 1 && !L.trans_a && L.K <= kMaxPackedK)
      return packed_matmul(a + a_index[0] * a_size, b + b_index[0] * b_size, c, L);
  }
  const int threads = num_threads();
  // Enough independent products: one task per product. Otherwise cut each product's rows
  // into blocks so that every thread has work.
  const int64_t blocks = L.batch >= threads ? 1 : std::min<int64_t>((threads + L.batch - 1) / L.batch, (L.M + 7) / 8);
  const int64_t flops = 2 * L.M * L.N * L.K;
  const int64_t grain = flops >= (1 << 18) ? 1 : std::max<int64_t>(1, (1 << 18) / std::max<int64_t>(1, flops));
  parallel_for(L.batch * blocks, grain, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t bi = task / blocks, block = task % blocks;
      const int64_t m0 = L.M * block / blocks, m1 = L.M * (block + 1) / blocks;
      gemm_rows(a + a_index[bi] * a_size, b + b_index[bi] * b_size, c + bi * c_size, L, m0, m1);
    }
  });
}

}  // namespace

void matmul(const Tensor& a, const Tensor& b, const MatmulLayout& layout, Tensor& out) {
  if (a.dtype() == DType::F64) {
    matmul_typed(a.data<double>(), b.data<double>(), out.data<double>(), layout);
  } else {
    matmul_typed(a.data<float>(), b.data<float>(), out.data<float>(), layout);
  }
}

}  // namespace fh::kernels::cpu
