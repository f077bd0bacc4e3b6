// Sum over dims on the GPU, deterministically.
//
// Float atomics would make the result depend on which thread gets there first, so there are
// none: every output is the sum of its terms in an order fixed by the shapes alone (never by
// the GPU model or the timing). Sums accumulate in double, as on the CPU.
//
// Two strategies, both splitting each output's reduced range into `pieces` contiguous runs
// when there are few outputs and many terms (so that the whole GPU takes part):
//   rows:    the reduced elements of an output are contiguous (innermost dim reduced) and
//            numerous: one block per (output, piece); the threads stride through the run
//            (coalesced reads), then add their sums in a fixed tree.
//   columns: otherwise (innermost dims kept, or short runs): one thread per (output, piece),
//            adding its run in order; neighbouring threads handle neighbouring outputs, so
//            reads are coalesced along the kept inner dim.
// With pieces > 1, pass 1 writes per-piece partial sums (double) and pass 2 adds each output's
// pieces in piece order.
#include <algorithm>

#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/launch.cuh"

namespace fh::kernels::cuda {

namespace {

constexpr int kReduceBlock = 256;  // threads per block in the tree kernels; a power of two

// Work sizing: constants and shapes only (the determinism contract above).
constexpr int64_t kRowStrategyMinTerms = 256;            // shorter contiguous runs use the column strategy
constexpr int64_t kRowTargetBlocks = 1024;               // rows: split until about this many blocks...
constexpr int64_t kRowMinTermsPerBlock = 32 * kReduceBlock;  // ...each adding at least this many terms
constexpr int64_t kColumnTargetThreads = int64_t{1} << 18;   // columns: about this many threads...
constexpr int64_t kColumnMinTermsPerThread = 64;             // ...each adding at least this many terms
constexpr int64_t kMaxPieces = 1024;
constexpr int64_t kTreeCombineMinPieces = 64;  // pass 2 uses a block per output from this many pieces

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

int64_t choose_pieces(int64_t outputs, int64_t terms, int64_t min_terms_per_worker, int64_t target_workers) {
  const int64_t by_work = ceil_div(terms, min_terms_per_worker);
  const int64_t by_parallelism = target_workers / outputs;
  return std::clamp<int64_t>(std::min(by_work, by_parallelism), 1, kMaxPieces);
}

// Start of piece p of n terms cut into `pieces` runs (computed in 64 bits: n * p may not fit 32).
__device__ __forceinline__ int64_t piece_begin(int64_t n, int64_t p, int64_t pieces) { return n * p / pieces; }

// Sum of every thread's v, in a fixed tree order. The result is meaningful in thread 0 only.
// All threads of the block must call it (it synchronises).
__device__ double block_tree_sum(double v, double* shared) {
  shared[threadIdx.x] = v;
  __syncthreads();
  for (int s = kReduceBlock / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) shared[threadIdx.x] += shared[threadIdx.x + s];
    __syncthreads();
  }
  // Only thread 0 reads shared[0]; only thread 0 writes it in a next round, so no barrier is needed here.
  return threadIdx.x == 0 ? shared[0] : 0.0;
}

// Rows: layout.inner == 1. out[piece * outputs + o] = sum of piece `piece` of output o.
template <class T, class Out, class Index>
__global__ void __launch_bounds__(kReduceBlock)
    reduce_rows_kernel(const T* __restrict__ x, Out* __restrict__ out, ReduceLayout L, int64_t pieces) {
  __shared__ double shared[kReduceBlock];
  const int64_t outputs = L.outer_outputs;
  const int64_t items = outputs * pieces;
  for (int64_t item = blockIdx.x; item < items; item += gridDim.x) {  // uniform per block: barriers are safe
    const int64_t o = item / pieces, piece = item % pieces;
    const Index r0 = static_cast<Index>(piece_begin(L.reduced, piece, pieces));
    const Index r1 = static_cast<Index>(piece_begin(L.reduced, piece + 1, pieces));
    const T* base = x + strided_offset<Index>(static_cast<Index>(o), L.num_kept, L.kept_sizes, L.kept_strides);
    double acc = 0.0;
    for (Index r = r0 + threadIdx.x; r < r1; r += kReduceBlock)
      acc += static_cast<double>(base[strided_offset<Index>(r, L.num_red, L.red_sizes, L.red_strides)]);
    const double total = block_tree_sum(acc, shared);
    if (threadIdx.x == 0) out[piece * outputs + o] = static_cast<Out>(total);
  }
}

// Columns: any layout. out[piece * outputs + o] = sum of piece `piece` of output o.
template <class T, class Out, class Index>
__global__ void reduce_columns_kernel(const T* __restrict__ x, Out* __restrict__ out, ReduceLayout L,
                                      int64_t pieces) {
  const int64_t outputs = L.outer_outputs * L.inner;
  const int64_t items = outputs * pieces;
  const int nr = L.num_red;
  // The last reduced dim is walked with a plain strided loop; only run starts need division.
  const Index tight = nr > 0 ? static_cast<Index>(L.red_sizes[nr - 1]) : 1;
  const Index tight_stride = nr > 0 ? static_cast<Index>(L.red_strides[nr - 1]) : 0;
  const Index inner = static_cast<Index>(L.inner);
  for (int64_t item = grid_start<int64_t>(); item < items; item += grid_stride<int64_t>()) {
    const int64_t piece = item / outputs, o = item % outputs;  // o fastest: neighbours read neighbours
    const Index outer = static_cast<Index>(o) / inner, j = static_cast<Index>(o) % inner;
    const T* base = x + strided_offset<Index>(outer, L.num_kept, L.kept_sizes, L.kept_strides) + j;
    const Index r1 = static_cast<Index>(piece_begin(L.reduced, piece + 1, pieces));
    double acc = 0.0;
    for (Index r = static_cast<Index>(piece_begin(L.reduced, piece, pieces)); r < r1;) {
      const Index len = min(tight - r % tight, r1 - r);
      const T* p = base + strided_offset<Index>(r, nr, L.red_sizes, L.red_strides);
      for (Index k = 0; k < len; ++k) acc += static_cast<double>(p[k * tight_stride]);
      r += len;
    }
    out[piece * outputs + o] = static_cast<Out>(acc);
  }
}

// Pass 2, few pieces: one thread per output adds its pieces in order.
template <class T>
__global__ void combine_pieces_serial(const double* __restrict__ partial, T* __restrict__ out, int64_t outputs,
                                      int64_t pieces) {
  for (int64_t o = grid_start<int64_t>(); o < outputs; o += grid_stride<int64_t>()) {
    double acc = 0.0;
    for (int64_t p = 0; p < pieces; ++p) acc += partial[p * outputs + o];
    out[o] = static_cast<T>(acc);
  }
}

// Pass 2, many pieces: one block per output, a fixed tree over its pieces.
template <class T>
__global__ void __launch_bounds__(kReduceBlock)
    combine_pieces_tree(const double* __restrict__ partial, T* __restrict__ out, int64_t outputs, int64_t pieces) {
  __shared__ double shared[kReduceBlock];
  for (int64_t o = blockIdx.x; o < outputs; o += gridDim.x) {
    double acc = 0.0;
    for (int64_t p = threadIdx.x; p < pieces; p += kReduceBlock) acc += partial[p * outputs + o];
    const double total = block_tree_sum(acc, shared);
    if (threadIdx.x == 0) out[o] = static_cast<T>(total);
  }
}

unsigned block_grid(int64_t items) { return static_cast<unsigned>(std::clamp<int64_t>(items, 1, kMaxGridBlocks)); }

template <class Out, class T, class Index>
void launch_pass1(bool rows, const T* x, Out* out, const ReduceLayout& L, int64_t outputs, int64_t pieces) {
  const cudaStream_t stream = current_stream();
  if (rows) {
    reduce_rows_kernel<T, Out, Index><<<block_grid(outputs * pieces), kReduceBlock, 0, stream>>>(x, out, L, pieces);
  } else {
    reduce_columns_kernel<T, Out, Index><<<grid_for(outputs * pieces), kBlockSize, 0, stream>>>(x, out, L, pieces);
  }
}

template <class T>
void reduce_typed(const Tensor& xt, const ReduceLayout& L, Tensor& outt) {
  const T* x = device_ptr<T>(xt);
  T* out = device_ptr<T>(outt);
  const int64_t outputs = L.outer_outputs * L.inner;
  const bool rows = L.inner == 1 && L.reduced >= kRowStrategyMinTerms;
  const int64_t pieces = rows ? choose_pieces(outputs, L.reduced, kRowMinTermsPerBlock, kRowTargetBlocks)
                              : choose_pieces(outputs, L.reduced, kColumnMinTermsPerThread, kColumnTargetThreads);
  // Offsets stay below the input's numel (outputs * reduced): 32-bit index math when it fits.
  const bool narrow = fits_32bit(outputs * L.reduced);
  if (pieces == 1) {
    if (narrow) launch_pass1<T, T, uint32_t>(rows, x, out, L, outputs, 1);
    else launch_pass1<T, T, int64_t>(rows, x, out, L, outputs, 1);
    FH_CUDA_CHECK_LAUNCH("cuda::reduce_sum", xt.describe());
    return;
  }
  ScratchBuffer partial(static_cast<size_t>(outputs * pieces) * sizeof(double), outt.device().index);
  if (narrow) launch_pass1<double, T, uint32_t>(rows, x, partial.as<double>(), L, outputs, pieces);
  else launch_pass1<double, T, int64_t>(rows, x, partial.as<double>(), L, outputs, pieces);
  FH_CUDA_CHECK_LAUNCH("cuda::reduce_sum", "pass 1 of ", xt.describe(), " in ", pieces, " pieces");
  if (pieces >= kTreeCombineMinPieces) {
    combine_pieces_tree<<<block_grid(outputs), kReduceBlock, 0, current_stream()>>>(partial.as<double>(), out, outputs,
                                                                                    pieces);
  } else {
    combine_pieces_serial<<<grid_for(outputs), kBlockSize, 0, current_stream()>>>(partial.as<double>(), out, outputs,
                                                                                  pieces);
  }
  FH_CUDA_CHECK_LAUNCH("cuda::reduce_sum", "pass 2 of ", xt.describe(), " in ", pieces, " pieces");
}

}  // namespace

void reduce_sum(const Tensor& x, const ReduceLayout& layout, Tensor& out) {
  const int64_t outputs = layout.outer_outputs * layout.inner;
  if (outputs == 0) return;
  fh::cuda::DeviceGuard guard(out.device().index);
  if (layout.reduced == 0) {
    // An empty sum is 0, and 0.0 is all-zero bytes in float and double.
    FH_CUDA_CHECK(cudaMemsetAsync(out.raw_data(), 0, out.nbytes(), current_stream()), "cuda::reduce_sum",
                  "zeroing ", out.describe());
    return;
  }
  if (x.dtype() == DType::F64) {
    reduce_typed<double>(x, layout, out);
  } else {
    reduce_typed<float>(x, layout, out);
  }
}

}  // namespace fh::kernels::cuda
