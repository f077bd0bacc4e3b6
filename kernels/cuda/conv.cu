// The CUDA conv backend: conv2d and its two gradients for CUDA tensors, run by the
// implementation FH_CONV selects (kernels/conv_backend.h): freehead's implicit GEMM on CUDA
// cores (conv_simt.cu) or tensor cores (conv_tc.cu), or cuDNN (conv_cudnn.cu). Float64
// always takes the float64 CUDA-core kernels.
#include <climits>
#include <map>
#include <mutex>
#include <type_traits>

#include "kernels/conv_backend.h"
#include "kernels/cuda/conv_cudnn.h"
#include "kernels/cuda/conv_own.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/launch.cuh"

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

// Runs the implementation FH_CONV selects for t's dtype: own(T{}, tensor_cores) for
// freehead's kernels (float64 always takes own(double{}, false)), cudnn(tensor_cores) for
// cuDNN's.
template <class Own, class Cudnn>
void route(const Tensor& t, Own&& own, Cudnn&& cudnn) {
  if (t.dtype() == DType::F64) return own(double{}, false);
  const ConvBackend backend = conv_backend();
  switch (backend) {
    case ConvBackend::Own:
    case ConvBackend::OwnTensorCores: return own(float{}, backend == ConvBackend::OwnTensorCores);
    case ConvBackend::Cudnn:
    case ConvBackend::CudnnTensorCores: return cudnn(backend == ConvBackend::CudnnTensorCores);
  }
}

template <class P>
void run_own(const P& prob, const LaunchShape& shape, Tile tile, bool tensor_cores, int device, const char* op) {
  if constexpr (std::is_same_v<typename P::value_type, float>) {
    if (tensor_cores) {
      check_tensor_cores(device, op);
      igemm::run_tensor_cores(prob, shape, tile, op);
      return;
    }
  }
  igemm::run_cuda_cores(prob, shape, tile, op);
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
  run_own(prob, shape, igemm::choose_tile(shape.rows, shape.cols, tensor_cores), tensor_cores, out.device().index, op);
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
  run_own(prob, shape, igemm::choose_tile(shape.rows, shape.cols, tensor_cores), tensor_cores, grad_in.device().index,
          op);
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
  const Tile tile = igemm::choose_tile(p.Cout, prob.K, tensor_cores);
  int bm = 0, bn = 0;
  if (std::is_same_v<T, double>) {
    bm = igemm::SimtF64::BM, bn = igemm::SimtF64::BN;
  } else if (tensor_cores) {
    igemm::with_tile<true>(tile, [&](auto cfg) { bm = decltype(cfg)::BM, bn = decltype(cfg)::BN; });
  } else {
    igemm::with_tile<false>(tile, [&](auto cfg) { bm = decltype(cfg)::BM, bn = decltype(cfg)::BN; });
  }
  prob.slices = igemm::weight_grad_slices(p.Cout, prob.K, prob.M, bm, bn);
  const int64_t total = grad_w.numel();
  // With several slices each writes its own partial gradient; the scratch returns to the
  // allocator after the kernels are enqueued (stream order keeps it alive long enough).
  ScratchBuffer partial(prob.slices > 1 ? static_cast<size_t>(prob.slices) * total * sizeof(T) : 0, device);
  prob.dst = prob.slices > 1 ? partial.as<T>() : device_ptr<T>(grad_w);
  run_own(prob, igemm::backward_weight_shape(prob.g, prob.slices), tile, tensor_cores, device, op);
  if (prob.slices > 1) {
    sum_slices_kernel<T><<<grid_for(total), kBlockSize, 0, current_stream()>>>(partial.as<T>(), prob.slices, total,
                                                                              device_ptr<T>(grad_w));
    FH_CUDA_CHECK_LAUNCH(op, "summing ", prob.slices, " partial weight gradients of ", grad_w.describe());
  }
}

}  // namespace

void conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p, Tensor& out) {
  fh::cuda::DeviceGuard guard(out.device().index);
  route(x, [&](auto t, bool tc) { own_forward<decltype(t)>(x, w, bias, p, out, tc); },
        [&](bool tc) { cudnn_conv::forward(x, w, bias, p, out, tc); });
}

void conv2d_backward_input(const Tensor& grad_out, const Tensor& w, const Conv2dParams& p, Tensor& grad_in) {
  fh::cuda::DeviceGuard guard(grad_in.device().index);
  route(w, [&](auto t, bool tc) { own_backward_input<decltype(t)>(grad_out, w, p, grad_in, tc); },
        [&](bool tc) { cudnn_conv::backward_input(grad_out, w, p, grad_in, tc); });
}

void conv2d_backward_weight(const Tensor& grad_out, const Tensor& x, const Conv2dParams& p, Tensor& grad_w) {
  fh::cuda::DeviceGuard guard(grad_w.device().index);
  route(x, [&](auto t, bool tc) { own_backward_weight<decltype(t)>(grad_out, x, p, grad_w, tc); },
        [&](bool tc) { cudnn_conv::backward_weight(grad_out, x, p, grad_w, tc); });
}

}  // namespace fh::kernels::cuda
