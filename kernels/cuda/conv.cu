// The CUDA conv backend: conv2d and its two gradients for CUDA tensors, run by the
// implementation FH_CONV selects (kernels/conv_backend.h): freehead's implicit GEMM on CUDA
// cores (conv_simt.cu) or tensor cores (conv_tc.cu), or cuDNN (conv_cudnn.cu). Float64
// always takes the float64 CUDA-core kernels.
#include <climits>
#include <map>
#include <mutex>
#include <type_traits>

#include "kernels/conv_backend.h"
#include "kernels/cuda/conv_own.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/launch.cuh"
#if FH_WITH_CUDNN
#include "kernels/cuda/conv_cudnn.h"
#endif

namespace fh::kernels::cuda {

namespace {

using igemm::Geometry;
using igemm::LaunchShape;
using igemm::Tile;

// The kernels index within one image, the pixel counts and the reductions in 32 bits (batch
// offsets in 64); sizes beyond that are refused with the shapes named.
Geometry checked_geometry(const Conv2dParams& p, const char* op) {
  const auto fits = [](int64_t v) { return v >= 0 && v <= INT_MAX; };
  const bool ok = fits(p.N * p.H * p.W) && fits(p.H * p.W * p.Cin) && fits(p.N * p.Ho * p.Wo) &&
                  fits(p.Ho * p.Wo * p.Cout) && fits(p.kh * p.kw * p.Cin) && fits(p.kh * p.kw * p.Cout) &&
                  fits(p.Cout * p.kh * p.kw * p.Cin) && fits(p.pad + p.kh + p.kw) && p.stride <= 255;
  FH_CHECK(ok, op, "convolution of input [", p.N, ", ", p.H, ", ", p.W, ", ", p.Cin, "] by weight [", p.Cout, ", ", p.kh,
           ", ", p.kw, ", ", p.Cin, "] (stride ", p.stride, ", padding ", p.pad,
           ") exceeds the 32-bit index range of the CUDA kernels (per image, per batch of pixels, per reduction; "
           "stride <= 255)");
  return igemm::geometry(p.N, p.H, p.W, p.Cin, p.Cout, p.kh, p.kw, p.stride, p.pad, p.Ho, p.Wo);
}

// Tensor cores need compute capability 8.0 (mma.sync with TF32); asked once per device.
void check_tensor_cores(int device, const char* op) {
  static std::mutex mutex;
  static std::map<int, int> major_of;
  int major = 0;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = major_of.find(device);
    if (it == major_of.end()) {
      int m = 0;
      FH_CUDA_CHECK(cudaDeviceGetAttribute(&m, cudaDevAttrComputeCapabilityMajor, device), op);
      it = major_of.emplace(device, m).first;
    }
    major = it->second;
  }
  FH_CHECK(major >= 8, op, "FH_CONV=own-tc needs tensor cores with TF32 (compute capability 8.0 or newer); cuda:",
           device, " has ", major, ".x");
}

// Which kernel family runs a float32 convolution.
enum class Route { CudaCores, TensorCores, Cudnn, CudnnTensorCores };

Route route_for(const Tensor& t) {
  if (t.dtype() == DType::F64) return Route::CudaCores;
  switch (conv_backend()) {
    case ConvBackend::Own: return Route::CudaCores;
    case ConvBackend::OwnTensorCores: return Route::TensorCores;
    case ConvBackend::Cudnn: return Route::Cudnn;
    case ConvBackend::CudnnTensorCores: return Route::CudnnTensorCores;
  }
  return Route::CudaCores;
}

template <class P>
void run_own(const P& prob, const LaunchShape& shape, Tile simt_tile, Tile mma_tile, bool tensor_cores, int device,
             const char* op) {
  if constexpr (std::is_same_v<typename P::value_type, float>) {
    if (tensor_cores) {
      check_tensor_cores(device, op);
      igemm::run_tensor_cores(prob, shape, mma_tile, op);
      return;
    }
  }
  igemm::run_cuda_cores(prob, shape, simt_tile, op);
}

template <class T>
void own_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p, Tensor& out,
                 bool tensor_cores) {
  const char* op = "cuda::conv2d";
  igemm::ForwardProblem<T> prob;
  prob.g = checked_geometry(p, op);
  prob.x = device_ptr<T>(x);
  prob.w = device_ptr<T>(w);
  prob.bias = bias.defined() ? device_ptr<T>(bias) : nullptr;
  prob.out = device_ptr<T>(out);
  prob.M = p.N * p.Ho * p.Wo;
  prob.K = static_cast<int>(p.kh * p.kw * p.Cin);
  const LaunchShape shape = igemm::forward_shape(prob.g);
  run_own(prob, shape, igemm::choose_tile(shape.rows, shape.cols, igemm::kSimtNarrowLimit),
          igemm::choose_tile(shape.rows, shape.cols, igemm::kMmaNarrowLimit), tensor_cores, out.device().index, op);
}

template <class T>
void own_backward_input(const Tensor& grad_out, const Tensor& w, const Conv2dParams& p, Tensor& grad_in,
                        bool tensor_cores) {
  const char* op = "cuda::conv2d_backward_input";
  igemm::BackwardInputProblem<T> prob;
  prob.g = checked_geometry(p, op);
  prob.grad_out = device_ptr<T>(grad_out);
  prob.w = device_ptr<T>(w);
  prob.grad_in = device_ptr<T>(grad_in);
  const LaunchShape shape = igemm::backward_input_shape(prob.g);
  run_own(prob, shape, igemm::choose_tile(shape.rows, shape.cols, igemm::kSimtNarrowLimit),
          igemm::choose_tile(shape.rows, shape.cols, igemm::kMmaNarrowLimit), tensor_cores, grad_in.device().index, op);
}

// Sums the slices' partial weight gradients in slice order: out[i] = Σ_z partial[z·n + i].
template <class T>
__global__ void sum_slices_kernel(const T* __restrict__ partial, int slices, int64_t n, T* __restrict__ out) {
  for (int64_t i = grid_start<int64_t>(); i < n; i += grid_stride<int64_t>()) {
    T s = partial[i];
    for (int z = 1; z < slices; ++z) s += partial[z * n + i];
    out[i] = s;
  }
}

template <class T>
void own_backward_weight(const Tensor& grad_out, const Tensor& x, const Conv2dParams& p, Tensor& grad_w,
                         bool tensor_cores) {
  const char* op = "cuda::conv2d_backward_weight";
  const int device = grad_w.device().index;
  igemm::BackwardWeightProblem<T> prob;
  prob.g = checked_geometry(p, op);
  prob.grad_out = device_ptr<T>(grad_out);
  prob.x = device_ptr<T>(x);
  prob.M = p.N * p.Ho * p.Wo;
  prob.K = static_cast<int>(p.kh * p.kw * p.Cin);
  const bool mma = tensor_cores && std::is_same_v<T, float>;
  const Tile simt_tile = igemm::choose_tile(p.Cout, prob.K, igemm::kSimtNarrowLimit);
  const Tile mma_tile = igemm::choose_tile(p.Cout, prob.K, igemm::kMmaNarrowLimit);
  int bm = 0, bn = 0;
  if (std::is_same_v<T, double>) {
    bm = igemm::SimtF64::BM, bn = igemm::SimtF64::BN;
  } else if (mma) {
    igemm::with_tile<true>(mma_tile, [&](auto cfg) { bm = decltype(cfg)::BM, bn = decltype(cfg)::BN; });
  } else {
    igemm::with_tile<false>(simt_tile, [&](auto cfg) { bm = decltype(cfg)::BM, bn = decltype(cfg)::BN; });
  }
  prob.slices = igemm::weight_grad_slices(p.Cout, prob.K, prob.M, bm, bn);
  const int64_t total = grad_w.numel();
  // With several slices each writes its own partial gradient; the scratch returns to the
  // allocator after the kernels are enqueued (stream order keeps it alive long enough).
  ScratchBuffer partial(prob.slices > 1 ? static_cast<size_t>(prob.slices) * total * sizeof(T) : 0, device);
  prob.dst = prob.slices > 1 ? partial.as<T>() : device_ptr<T>(grad_w);
  run_own(prob, igemm::backward_weight_shape(prob.g, prob.slices), simt_tile, mma_tile, tensor_cores, device, op);
  if (prob.slices > 1) {
    sum_slices_kernel<T><<<grid_for(total), kBlockSize, 0, current_stream()>>>(partial.as<T>(), prob.slices, total,
                                                                              device_ptr<T>(grad_w));
    FH_CUDA_CHECK_LAUNCH(op, "summing ", prob.slices, " partial weight gradients of ", grad_w.describe());
  }
}

#if !FH_WITH_CUDNN
[[noreturn]] void no_cudnn(const char* op) {
  FH_FAIL(op, "the cuDNN backend was selected but this build has no cuDNN");
}
#endif

}  // namespace

void conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p, Tensor& out) {
  fh::cuda::DeviceGuard guard(out.device().index);
  const Route route = route_for(x);
  if (x.dtype() == DType::F64) return own_forward<double>(x, w, bias, p, out, false);
  switch (route) {
    case Route::CudaCores: return own_forward<float>(x, w, bias, p, out, false);
    case Route::TensorCores: return own_forward<float>(x, w, bias, p, out, true);
    case Route::Cudnn:
    case Route::CudnnTensorCores:
#if FH_WITH_CUDNN
      return cudnn_conv::forward(x, w, bias, p, out, route == Route::CudnnTensorCores);
#else
      no_cudnn("cuda::conv2d");
#endif
  }
}

void conv2d_backward_input(const Tensor& grad_out, const Tensor& w, const Conv2dParams& p, Tensor& grad_in) {
  fh::cuda::DeviceGuard guard(grad_in.device().index);
  const Route route = route_for(w);
  if (w.dtype() == DType::F64) return own_backward_input<double>(grad_out, w, p, grad_in, false);
  switch (route) {
    case Route::CudaCores: return own_backward_input<float>(grad_out, w, p, grad_in, false);
    case Route::TensorCores: return own_backward_input<float>(grad_out, w, p, grad_in, true);
    case Route::Cudnn:
    case Route::CudnnTensorCores:
#if FH_WITH_CUDNN
      return cudnn_conv::backward_input(grad_out, w, p, grad_in, route == Route::CudnnTensorCores);
#else
      no_cudnn("cuda::conv2d_backward_input");
#endif
  }
}

void conv2d_backward_weight(const Tensor& grad_out, const Tensor& x, const Conv2dParams& p, Tensor& grad_w) {
  fh::cuda::DeviceGuard guard(grad_w.device().index);
  const Route route = route_for(x);
  if (x.dtype() == DType::F64) return own_backward_weight<double>(grad_out, x, p, grad_w, false);
  switch (route) {
    case Route::CudaCores: return own_backward_weight<float>(grad_out, x, p, grad_w, false);
    case Route::TensorCores: return own_backward_weight<float>(grad_out, x, p, grad_w, true);
    case Route::Cudnn:
    case Route::CudnnTensorCores:
#if FH_WITH_CUDNN
      return cudnn_conv::backward_weight(grad_out, x, p, grad_w, route == Route::CudnnTensorCores);
#else
      no_cudnn("cuda::conv2d_backward_weight");
#endif
  }
}

}  // namespace fh::kernels::cuda
