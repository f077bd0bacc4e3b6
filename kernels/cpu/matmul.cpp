// Batched matmul on the CPU through Eigen's GEMM. Eigen runs single-threaded
// (EIGEN_DONT_PARALLELIZE); freehead splits batches, or row blocks of one product, over its
// own pool, so a given thread count always splits the same way (bit-reproducible).
#include <Eigen/Core>
#include <vector>

#include "kernels/cpu/cpu_kernels.h"
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
