// cuDNN convolution baseline (see conv_cudnn.h), through cuDNN's descriptor API: NHWC
// tensor and filter descriptors, the algorithm cuDNN's heuristics rank first among those
// of the requested math type, and a workspace from freehead's caching allocator.
#include "kernels/cuda/conv_cudnn.h"

#if FH_WITH_CUDNN

#include <cudnn.h>

#include <climits>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>

#include "kernels/cuda/launch.cuh"

// FH_CUDNN_CHECK(call, op, context...): throws fh::Error naming the call and cuDNN's status.
#define FH_CUDNN_CHECK(call, op, ...)                                                                   \
  do {                                                                                                  \
    const cudnnStatus_t fh_cudnn_status_ = (call);                                                      \
    if (fh_cudnn_status_ != CUDNN_STATUS_SUCCESS) [[unlikely]]                                          \
      FH_FAIL(op, #call " failed" __VA_OPT__(, " ", ) __VA_OPT__(__VA_ARGS__, ) ": ",                    \
              cudnnGetErrorString(fh_cudnn_status_));                                                   \
  } while (0)

namespace fh::kernels::cuda::cudnn_conv {

namespace {

// One handle per device, created on first use and never destroyed (as for cuBLAS). The mutex
// keeps "bind the stream, enqueue" atomic when threads share a handle.
class CudnnHandles {
 public:
  template <class Fn>
  void run(int device, const char* op, Fn&& fn) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = handles_.find(device);
    if (it == handles_.end()) {
      cudnnHandle_t handle = nullptr;
      FH_CUDNN_CHECK(cudnnCreate(&handle), op, "creating the cuDNN handle of cuda:", device);
      it = handles_.emplace(device, handle).first;
    }
    FH_CUDNN_CHECK(cudnnSetStream(it->second, current_stream()), op, "on cuda:", device);
    fn(it->second);
  }

 private:
  std::mutex mutex_;
  std::map<int, cudnnHandle_t> handles_;
};

CudnnHandles& handles() {
  static CudnnHandles* const h = new CudnnHandles();
  return *h;
}

int as_int(int64_t v, const char* op, const Conv2dParams& p) {
  FH_CHECK(v >= 0 && v <= INT_MAX, op, "size ", v, " of a convolution N=", p.N, " H=", p.H, " W=", p.W, " Cin=", p.Cin,
           " Cout=", p.Cout, " exceeds cuDNN's 32-bit descriptors");
  return static_cast<int>(v);
}

// The five descriptors of one convolution, destroyed with the object.
class Descriptors {
 public:
  Descriptors(const Conv2dParams& p, bool tensor_cores, const char* op) {
    FH_CUDNN_CHECK(cudnnCreateTensorDescriptor(&x), op);
    FH_CUDNN_CHECK(cudnnCreateTensorDescriptor(&y), op);
    FH_CUDNN_CHECK(cudnnCreateTensorDescriptor(&bias), op);
    FH_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w), op);
    FH_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv), op);
    const auto i = [&](int64_t v) { return as_int(v, op, p); };
    FH_CUDNN_CHECK(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, i(p.N), i(p.Cin), i(p.H), i(p.W)),
                   op, "input");
    FH_CUDNN_CHECK(
        cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, i(p.N), i(p.Cout), i(p.Ho), i(p.Wo)), op,
        "output");
    FH_CUDNN_CHECK(cudnnSetTensor4dDescriptor(bias, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, 1, i(p.Cout), 1, 1), op,
                   "bias");
    FH_CUDNN_CHECK(
        cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC, i(p.Cout), i(p.Cin), i(p.kh), i(p.kw)), op,
        "weight");
    FH_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(conv, i(p.pad), i(p.pad), i(p.stride), i(p.stride), 1, 1,
                                                   CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
                   op, "convolution");
    FH_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, tensor_cores ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH), op);
  }
  ~Descriptors() {
    cudnnDestroyConvolutionDescriptor(conv);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyTensorDescriptor(bias);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyTensorDescriptor(x);
  }
  Descriptors(const Descriptors&) = delete;
  Descriptors& operator=(const Descriptors&) = delete;

  cudnnTensorDescriptor_t x = nullptr, y = nullptr, bias = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
};

// One direction of one convolution as cuDNN runs it: the descriptors, with the convolution's
// math type set to the chosen algorithm's, the algorithm and its workspace size.
struct Plan {
  Plan(const Conv2dParams& p, bool tensor_cores_, const char* op_)
      : d(p, tensor_cores_, op_), tensor_cores(tensor_cores_), op(op_) {}

  // Takes the first usable algorithm of cuDNN's ranked list and its math type (as cuDNN's
  // heuristics reported it); the workspace is asked separately. Usable: without tensor
  // cores, nothing that may convert to TF32 or half; and only deterministic algorithms, as
  // some backward ones sum with float atomics and freehead's gradients repeat bit for bit on
  // every backend.
  template <class Perf>
  void choose(const Perf* perf, int count, const char* what) {
    for (int k = 0; k < count; ++k) {
      const bool math_ok = tensor_cores || (perf[k].mathType != CUDNN_TENSOR_OP_MATH &&
                                            perf[k].mathType != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION);
      if (perf[k].status == CUDNN_STATUS_SUCCESS && math_ok && perf[k].determinism == CUDNN_DETERMINISTIC) {
        algo = static_cast<int>(perf[k].algo);
        FH_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv, perf[k].mathType), op);
        return;
      }
    }
    FH_FAIL(op, "cuDNN offers no deterministic ", what, " algorithm for this convolution with ",
            tensor_cores ? "tensor-core" : "FMA", " math");
  }

  Descriptors d;
  int algo = 0;
  size_t workspace = 0;
  bool tensor_cores;
  const char* op;
};

enum class Direction { Forward, BackwardData, BackwardFilter };

struct PlanKey {
  int device;
  Direction direction;
  int64_t N, H, W, Cin, Cout, kh, kw, stride, pad;
  bool tensor_cores;
  auto tie() const { return std::tie(device, direction, N, H, W, Cin, Cout, kh, kw, stride, pad, tensor_cores); }
  bool operator<(const PlanKey& o) const { return tie() < o.tie(); }
};

// The plan of this direction and convolution, made on the first call with these shapes
// (choose(plan) then picks its algorithm and workspace) and kept for the life of the process,
// like the handles, per (device, direction, shapes, math), as PyTorch keeps its algorithm
// choices: cuDNN's heuristics, and the descriptors too, would cost host time on every call
// otherwise, which would be counted against cuDNN in the benchmarks. Callers hold the
// handle's lock (CudnnHandles::run), so no two threads use one plan's descriptors at once.
template <class Choose>
const Plan& plan_for(int device, Direction direction, const Conv2dParams& p, bool tensor_cores, const char* op,
                     Choose&& choose) {
  static std::mutex mutex;
  static auto* const plans = new std::map<PlanKey, std::unique_ptr<Plan>>();
  const PlanKey key{device, direction, p.N, p.H, p.W, p.Cin, p.Cout, p.kh, p.kw, p.stride, p.pad, tensor_cores};
  std::lock_guard<std::mutex> lock(mutex);
  auto it = plans->find(key);
  if (it == plans->end()) {
    auto plan = std::make_unique<Plan>(p, tensor_cores, op);
    choose(*plan);
    it = plans->emplace(key, std::move(plan)).first;
  }
  return *it->second;
}

void check_float32(const Tensor& t, const char* op) {
  FH_CHECK(t.dtype() == DType::F32, op, "the cuDNN backend takes float32 tensors, got ", t.describe());
}

}  // namespace

void forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p, Tensor& out,
             bool tensor_cores) {
  const char* op = "cuda::conv2d (cudnn)";
  check_float32(x, op);
  const int device = out.device().index;
  handles().run(device, op, [&](cudnnHandle_t h) {
    const Plan& plan = plan_for(device, Direction::Forward, p, tensor_cores, op, [&](Plan& fresh) {
      const Descriptors& d = fresh.d;
      cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
      int count = 0;
      FH_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x, d.w, d.conv, d.y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                                            &count, perf),
                     op);
      fresh.choose(perf, count, "forward");
      FH_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(h, d.x, d.w, d.conv, d.y,
                                                             static_cast<cudnnConvolutionFwdAlgo_t>(fresh.algo),
                                                             &fresh.workspace),
                     op);
    });
    const Descriptors& d = plan.d;
    ScratchBuffer workspace(plan.workspace, device);
    const float one = 1.0f, zero = 0.0f;
    FH_CUDNN_CHECK(cudnnConvolutionForward(h, &one, d.x, x.raw_data(), d.w, w.raw_data(), d.conv,
                                           static_cast<cudnnConvolutionFwdAlgo_t>(plan.algo), workspace.as<void>(),
                                           plan.workspace, &zero, d.y, out.raw_data()),
                   op, "algorithm ", plan.algo);
    if (bias.defined()) {
      FH_CUDNN_CHECK(cudnnAddTensor(h, &one, d.bias, bias.raw_data(), &one, d.y, out.raw_data()), op,
                     "adding the bias");
    }
  });
}

void backward_input(const Tensor& grad_out, const Tensor& w, const Conv2dParams& p, Tensor& grad_in,
                    bool tensor_cores) {
  const char* op = "cuda::conv2d_backward_input (cudnn)";
  check_float32(w, op);
  const int device = grad_in.device().index;
  handles().run(device, op, [&](cudnnHandle_t h) {
    const Plan& plan = plan_for(device, Direction::BackwardData, p, tensor_cores, op, [&](Plan& fresh) {
      const Descriptors& d = fresh.d;
      cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
      int count = 0;
      FH_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w, d.y, d.conv, d.x,
                                                                 CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &count, perf),
                     op);
      fresh.choose(perf, count, "backward-data");
      FH_CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(
                         h, d.w, d.y, d.conv, d.x, static_cast<cudnnConvolutionBwdDataAlgo_t>(fresh.algo),
                         &fresh.workspace),
                     op);
    });
    const Descriptors& d = plan.d;
    ScratchBuffer workspace(plan.workspace, device);
    const float one = 1.0f, zero = 0.0f;
    FH_CUDNN_CHECK(cudnnConvolutionBackwardData(h, &one, d.w, w.raw_data(), d.y, grad_out.raw_data(), d.conv,
                                                static_cast<cudnnConvolutionBwdDataAlgo_t>(plan.algo),
                                                workspace.as<void>(), plan.workspace, &zero, d.x, grad_in.raw_data()),
                   op, "algorithm ", plan.algo);
  });
}

void backward_weight(const Tensor& grad_out, const Tensor& x, const Conv2dParams& p, Tensor& grad_w,
                     bool tensor_cores) {
  const char* op = "cuda::conv2d_backward_weight (cudnn)";
  check_float32(x, op);
  const int device = grad_w.device().index;
  handles().run(device, op, [&](cudnnHandle_t h) {
    const Plan& plan = plan_for(device, Direction::BackwardFilter, p, tensor_cores, op, [&](Plan& fresh) {
      const Descriptors& d = fresh.d;
      cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
      int count = 0;
      FH_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
                         h, d.x, d.y, d.conv, d.w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &count, perf),
                     op);
      fresh.choose(perf, count, "backward-filter");
      FH_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(
                         h, d.x, d.y, d.conv, d.w, static_cast<cudnnConvolutionBwdFilterAlgo_t>(fresh.algo),
                         &fresh.workspace),
                     op);
    });
    const Descriptors& d = plan.d;
    ScratchBuffer workspace(plan.workspace, device);
    const float one = 1.0f, zero = 0.0f;
    FH_CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, &one, d.x, x.raw_data(), d.y, grad_out.raw_data(), d.conv,
                                                  static_cast<cudnnConvolutionBwdFilterAlgo_t>(plan.algo),
                                                  workspace.as<void>(), plan.workspace, &zero, d.w, grad_w.raw_data()),
                   op, "algorithm ", plan.algo);
  });
}

}  // namespace fh::kernels::cuda::cudnn_conv

#else  // !FH_WITH_CUDNN: conv_backend_available() keeps the cuDNN backends from being selected.

namespace fh::kernels::cuda::cudnn_conv {

namespace {
[[noreturn]] void no_cudnn(const char* op) {
  FH_FAIL(op, "the cuDNN backend was selected but this build has no cuDNN");
}
}  // namespace

void forward(const Tensor&, const Tensor&, const Tensor&, const Conv2dParams&, Tensor&, bool) {
  no_cudnn("cuda::conv2d");
}
void backward_input(const Tensor&, const Tensor&, const Conv2dParams&, Tensor&, bool) {
  no_cudnn("cuda::conv2d_backward_input");
}
void backward_weight(const Tensor&, const Tensor&, const Conv2dParams&, Tensor&, bool) {
  no_cudnn("cuda::conv2d_backward_weight");
}

}  // namespace fh::kernels::cuda::cudnn_conv

#endif  // FH_WITH_CUDNN
