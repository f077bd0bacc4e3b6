// Batched matmul on the GPU through cuBLAS.
//
// cuBLAS is column-major, freehead is row-major. A row-major M x N matrix has the same bytes
// as a column-major N x M matrix (its transpose), so instead of out = op(a) · op(b) we ask
// cuBLAS for out^T = op(b)^T · op(a)^T: operands swapped, each keeping its own transpose flag,
// and every leading dimension is the row length of the row-major matrix as stored.
#include <cublas_v2.h>

#include <climits>
#include <map>
#include <mutex>
#include <optional>

#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/launch.cuh"

// FH_CUBLAS_CHECK(call, op, context...): throws fh::Error naming the call and cuBLAS's status.
#define FH_CUBLAS_CHECK(call, op, ...)                                                                      \
  do {                                                                                                      \
    const cublasStatus_t fh_cublas_status_ = (call);                                                        \
    if (fh_cublas_status_ != CUBLAS_STATUS_SUCCESS) [[unlikely]]                                            \
      FH_FAIL(op, #call " failed" __VA_OPT__(, " ", ) __VA_OPT__(__VA_ARGS__, ) ": ",                        \
              cublasGetStatusName(fh_cublas_status_), " (", cublasGetStatusString(fh_cublas_status_), ")"); \
  } while (0)

namespace fh::kernels::cuda {

namespace {

// ---- Handles -----------------------------------------------------------------------------

// One cuBLAS handle per device, created on first use (creating one costs milliseconds and
// allocates device memory). A handle holds a stream setting, so a mutex keeps "set stream,
// enqueue gemm" atomic when several threads share it; the lock is held only while enqueuing.
// Handles are never destroyed: at process exit the CUDA runtime may already be gone.
class CublasHandles {
 public:
  // Runs fn(handle) for the current device's handle, bound to the current stream. The
  // caller has made `device` current.
  template <class Fn>
  void run(int device, Fn&& fn) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = handles_.find(device);
    if (it == handles_.end()) {
      cublasHandle_t handle = nullptr;
      FH_CUBLAS_CHECK(cublasCreate(&handle), "cuda::matmul", "creating the cuBLAS handle of cuda:", device);
      it = handles_.emplace(device, handle).first;
    }
    FH_CUBLAS_CHECK(cublasSetStream(it->second, current_stream()), "cuda::matmul", "on cuda:", device);
    fn(it->second);
  }

 private:
  std::mutex mutex_;
  std::map<int, cublasHandle_t> handles_;
};

CublasHandles& cublas_handles() {
  static CublasHandles* const handles = new CublasHandles();
  return *handles;
}

// ---- float / double entry points ------------------------------------------------------------

template <class T>
struct Gemm;

template <>
struct Gemm<float> {
  static constexpr auto strided = cublasSgemmStridedBatched;
  static constexpr auto batched = cublasSgemmBatched;
};

template <>
struct Gemm<double> {
  static constexpr auto strided = cublasDgemmStridedBatched;
  static constexpr auto batched = cublasDgemmBatched;
};

// ---- Batch walk ------------------------------------------------------------------------------

// When an operand's matrix index is `stride * batch_index` for a single stride (0: one matrix
// shared by the whole batch), returns that stride: cuBLAS's strided-batched call then covers
// the batch without pointer arrays. Broadcasting over some batch dims but not others breaks
// this (e.g. a [1, 3] batch against [2, 3]).
std::optional<int64_t> uniform_stride(const ElementwiseLayout& walk, int operand) {
  if (walk.ndim == 0) return 0;
  const int64_t stride = walk.strides[operand][walk.ndim - 1];
  int64_t expected = stride;  // stride * (number of batch elements inside dim d)
  for (int d = walk.ndim - 1; d >= 0; --d) {
    if (walk.strides[operand][d] != expected) return std::nullopt;
    expected *= walk.sizes[d];
  }
  return stride;
}

// Pointer arrays for cuBLAS's batched call, computed on the device from the batch walk so
// that nothing crosses the PCIe bus.
template <class T>
__global__ void batch_pointers_kernel(const T* a, const T* b, T* out, ElementwiseLayout walk, int64_t a_size,
                                      int64_t b_size, int64_t out_size, const T** a_ptrs, const T** b_ptrs,
                                      T** out_ptrs) {
  for (int64_t i = grid_start<int64_t>(); i < walk.numel; i += grid_stride<int64_t>()) {
    int64_t index[2];
    element_offsets<int64_t, 2>(walk, i, index);
    a_ptrs[i] = a + index[0] * a_size;
    b_ptrs[i] = b + index[1] * b_size;
    out_ptrs[i] = out + i * out_size;
  }
}

int checked_int(int64_t v, const char* what, const Tensor& a, const Tensor& b) {
  FH_CHECK(v <= INT_MAX, "cuda::matmul", what, " = ", v, " exceeds cuBLAS's 32-bit limit for ", a.describe(), " · ",
           b.describe());
  return static_cast<int>(v);
}

template <class T>
void matmul_typed(const Tensor& a, const Tensor& b, const MatmulLayout& L, Tensor& out) {
  const int device = out.device().index;
  const int m = checked_int(L.N, "N", a, b);  // cuBLAS's C is out^T: N rows, M columns
  const int n = checked_int(L.M, "M", a, b);
  const int k = checked_int(L.K, "K", a, b);
  const int batch = checked_int(L.batch, "batch", a, b);
  // cuBLAS A = b as stored: row-major [K, N] (or [N, K] when trans_b), leading dimension = its row length.
  const cublasOperation_t op_b = L.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const int ld_b = L.trans_b ? k : m;
  // cuBLAS B = a as stored: row-major [M, K] (or [K, M] when trans_a).
  const cublasOperation_t op_a = L.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const int ld_a = L.trans_a ? n : k;
  const int ld_out = m;
  const int64_t a_size = L.M * L.K, b_size = L.K * L.N, out_size = L.M * L.N;
  const T alpha = 1, beta = 0;
  const T* pa = device_ptr<T>(a);
  const T* pb = device_ptr<T>(b);
  T* po = device_ptr<T>(out);

  const std::optional<int64_t> a_stride = uniform_stride(L.batch_walk, 0);
  const std::optional<int64_t> b_stride = uniform_stride(L.batch_walk, 1);
  if (a_stride && b_stride) {
    cublas_handles().run(device, [&](cublasHandle_t h) {
      FH_CUBLAS_CHECK(Gemm<T>::strided(h, op_b, op_a, m, n, k, &alpha, pb, ld_b, *b_stride * b_size, pa, ld_a,
                                       *a_stride * a_size, &beta, po, ld_out, out_size, batch),
                      "cuda::matmul", "for ", a.describe(), " · ", b.describe());
    });
    return;
  }

  // Irregular broadcasting: one pointer per matrix, in a scratch block that is returned to
  // the allocator once the gemm is enqueued (stream order keeps it alive long enough).
  ScratchBuffer pointers(3 * static_cast<size_t>(batch) * sizeof(T*), device);
  const T** a_ptrs = pointers.as<const T*>();
  const T** b_ptrs = a_ptrs + batch;
  T** out_ptrs = pointers.as<T*>() + 2 * static_cast<size_t>(batch);
  batch_pointers_kernel<<<grid_for(batch), kBlockSize, 0, current_stream()>>>(pa, pb, po, L.batch_walk, a_size, b_size,
                                                                              out_size, a_ptrs, b_ptrs, out_ptrs);
  FH_CUDA_CHECK_LAUNCH("cuda::matmul", "batch pointers of ", a.describe(), " · ", b.describe());
  cublas_handles().run(device, [&](cublasHandle_t h) {
    FH_CUBLAS_CHECK(Gemm<T>::batched(h, op_b, op_a, m, n, k, &alpha, b_ptrs, ld_b, a_ptrs, ld_a, &beta, out_ptrs,
                                     ld_out, batch),
                    "cuda::matmul", "for ", a.describe(), " · ", b.describe());
  });
}

}  // namespace

void matmul(const Tensor& a, const Tensor& b, const MatmulLayout& layout, Tensor& out) {
  if (layout.M == 0 || layout.N == 0 || layout.batch == 0) return;
  fh::cuda::DeviceGuard guard(out.device().index);
  if (layout.K == 0) {
    // An empty inner product is 0 (all-zero bytes in float and double).
    FH_CUDA_CHECK(cudaMemsetAsync(out.raw_data(), 0, out.nbytes(), current_stream()), "cuda::matmul", "zeroing ",
                  out.describe());
    return;
  }
  if (a.dtype() == DType::F64) {
    matmul_typed<double>(a, b, layout, out);
  } else {
    matmul_typed<float>(a, b, layout, out);
  }
}

}  // namespace fh::kernels::cuda
