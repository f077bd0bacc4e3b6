// cuDNN convolution baseline (see conv_cudnn.h), through cuDNN's descriptor API: NHWC
// tensor and filter descriptors, the algorithm cuDNN's heuristics rank first among those
// of the requested math type, and a workspace from freehead's caching allocator.
#include "kernels/cuda/conv_cudnn.h"

#if FH_WITH_CUDNN

#include <cudnn.h>

#include <climits>
#include <map>
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

// The algorithm chosen for a convolution, kept per (device, op, shapes, math) as PyTorch
// does: cuDNN's heuristics cost host time on every call otherwise, which would be counted
// against cuDNN in the benchmarks.
struct AlgoKey {
  int device, op;
  int64_t N, H, W, Cin, Cout, kh, kw, stride, pad;
  bool tensor_cores;
  auto tie() const { return std::tie(device, op, N, H, W, Cin, Cout, kh, kw, stride, pad, tensor_cores); }
  bool operator<(const AlgoKey& o) const { return tie() < o.tie(); }
};
struct AlgoChoice {
  int algo;
  cudnnMathType_t math;
  size_t workspace;
};

class AlgoCache {
 public:
  // The cached choice, or choose() -> AlgoChoice computed now and remembered.
  template <class Choose>
  AlgoChoice get(const AlgoKey& key, Choose&& choose) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (auto it = map_.find(key); it != map_.end()) return it->second;
    }
    const AlgoChoice c = choose();
    std::lock_guard<std::mutex> lock(mutex_);
    map_.emplace(key, c);
    return c;
  }

 private:
  std::mutex mutex_;
  std::map<AlgoKey, AlgoChoice> map_;
};

AlgoCache& algo_cache() {
  static AlgoCache* const cache = new AlgoCache();
  return *cache;
}

AlgoKey algo_key(int device, int op, const Conv2dParams& p, bool tensor_cores) {
  return {device, op, p.N, p.H, p.W, p.Cin, p.Cout, p.kh, p.kw, p.stride, p.pad, tensor_cores};
}

// The four descriptors of one convolution, destroyed with the object.
class Descriptors {
 public:
  Descriptors(const Conv2dParams& p, bool tensor_cores, const char* op) : op_(op) {
    FH_CUDNN_CHECK(cudnnCreateTensorDescriptor(&x), op);
    FH_CUDNN_CHECK(cudnnCreateTensorDescriptor(&y), op);
    FH_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w), op);
    FH_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv), op);
    const auto i = [&](int64_t v) { return as_int(v, op, p); };
    FH_CUDNN_CHECK(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, i(p.N), i(p.Cin), i(p.H), i(p.W)),
                   op, "input");
    FH_CUDNN_CHECK(
        cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, i(p.N), i(p.Cout), i(p.Ho), i(p.Wo)), op,
        "output");
    FH_CUDNN_CHECK(
        cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC, i(p.Cout), i(p.Cin), i(p.kh), i(p.kw)), op,
        "weight");
    FH_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(conv, i(p.pad), i(p.pad), i(p.stride), i(p.stride), 1, 1,
                                                   CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
                   op, "convolution");
    math = tensor_cores ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH;
    FH_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, math), op);
  }
  ~Descriptors() {
    cudnnDestroyConvolutionDescriptor(conv);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyTensorDescriptor(x);
  }
  Descriptors(const Descriptors&) = delete;
  Descriptors& operator=(const Descriptors&) = delete;

  // Whether an algorithm's math type honours the request: without tensor cores, nothing
  // that may convert to TF32 or half.
  bool math_ok(cudnnMathType_t m) const {
    return math == CUDNN_TENSOR_OP_MATH || (m != CUDNN_TENSOR_OP_MATH && m != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION);
  }

  // The first usable algorithm of cuDNN's ranked list (its workspace is asked separately).
  // Only deterministic ones: some backward algorithms sum with float atomics, and freehead's
  // gradients repeat bit for bit on every backend.
  template <class Perf>
  AlgoChoice pick(const Perf* perf, int count, const char* what) const {
    for (int k = 0; k < count; ++k)
      if (perf[k].status == CUDNN_STATUS_SUCCESS && math_ok(perf[k].mathType) &&
          perf[k].determinism == CUDNN_DETERMINISTIC)
        return {static_cast<int>(perf[k].algo), perf[k].mathType, 0};
    FH_FAIL(op_, "cuDNN offers no deterministic ", what, " algorithm for this convolution with ",
            math == CUDNN_TENSOR_OP_MATH ? "tensor-core" : "FMA", " math");
  }
  // Runs with the algorithm's own math type (as cuDNN's heuristics reported it).
  void use(const AlgoChoice& c) { FH_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, c.math), op_); }

  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  cudnnMathType_t math = CUDNN_FMA_MATH;

 private:
  const char* op_;
};

void check_float32(const Tensor& t, const char* op) {
  FH_CHECK(t.dtype() == DType::F32, op, "the cuDNN backend takes float32 tensors, got ", t.describe());
}

}  // namespace

void forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p, Tensor& out,
             bool tensor_cores) {
  const char* op = "cuda::conv2d (cudnn)";
  check_float32(x, op);
  const int device = out.device().index;
  Descriptors d(p, tensor_cores, op);
  handles().run(device, op, [&](cudnnHandle_t h) {
    const AlgoChoice c = algo_cache().get(algo_key(device, 0, p, tensor_cores), [&] {
      cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
      int count = 0;
      FH_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x, d.w, d.conv, d.y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                                            &count, perf),
                     op);
      AlgoChoice choice = d.pick(perf, count, "forward");
      d.use(choice);
      FH_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(h, d.x, d.w, d.conv, d.y,
                                                             static_cast<cudnnConvolutionFwdAlgo_t>(choice.algo),
                                                             &choice.workspace),
                     op);
      return choice;
    });
    d.use(c);
    const auto algo = static_cast<cudnnConvolutionFwdAlgo_t>(c.algo);
    ScratchBuffer workspace(c.workspace, device);
    const float one = 1.0f, zero = 0.0f;
    FH_CUDNN_CHECK(cudnnConvolutionForward(h, &one, d.x, x.raw_data(), d.w, w.raw_data(), d.conv, algo,
                                           workspace.as<void>(), c.workspace, &zero, d.y, out.raw_data()),
                   op, "algorithm ", c.algo);
    if (bias.defined()) {
      cudnnTensorDescriptor_t b = nullptr;
      FH_CUDNN_CHECK(cudnnCreateTensorDescriptor(&b), op);
      const cudnnStatus_t set =
          cudnnSetTensor4dDescriptor(b, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, 1, as_int(p.Cout, op, p), 1, 1);
      const cudnnStatus_t add =
          set == CUDNN_STATUS_SUCCESS ? cudnnAddTensor(h, &one, b, bias.raw_data(), &one, d.y, out.raw_data()) : set;
      cudnnDestroyTensorDescriptor(b);
      FH_CUDNN_CHECK(add, op, "adding the bias");
    }
  });
}

void backward_input(const Tensor& grad_out, const Tensor& w, const Conv2dParams& p, Tensor& grad_in,
                    bool tensor_cores) {
  const char* op = "cuda::conv2d_backward_input (cudnn)";
  check_float32(w, op);
  const int device = grad_in.device().index;
  Descriptors d(p, tensor_cores, op);
  handles().run(device, op, [&](cudnnHandle_t h) {
    const AlgoChoice c = algo_cache().get(algo_key(device, 1, p, tensor_cores), [&] {
      cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
      int count = 0;
      FH_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w, d.y, d.conv, d.x,
                                                                 CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &count, perf),
                     op);
      AlgoChoice choice = d.pick(perf, count, "backward-data");
      d.use(choice);
      FH_CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(
                         h, d.w, d.y, d.conv, d.x, static_cast<cudnnConvolutionBwdDataAlgo_t>(choice.algo),
                         &choice.workspace),
                     op);
      return choice;
    });
    d.use(c);
    const auto algo = static_cast<cudnnConvolutionBwdDataAlgo_t>(c.algo);
    ScratchBuffer workspace(c.workspace, device);
    const float one = 1.0f, zero = 0.0f;
    FH_CUDNN_CHECK(cudnnConvolutionBackwardData(h, &one, d.w, w.raw_data(), d.y, grad_out.raw_data(), d.conv, algo,
                                                workspace.as<void>(), c.workspace, &zero, d.x, grad_in.raw_data()),
                   op, "algorithm ", c.algo);
  });
}

void backward_weight(const Tensor& grad_out, const Tensor& x, const Conv2dParams& p, Tensor& grad_w,
                     bool tensor_cores) {
  const char* op = "cuda::conv2d_backward_weight (cudnn)";
  check_float32(x, op);
  const int device = grad_w.device().index;
  Descriptors d(p, tensor_cores, op);
  handles().run(device, op, [&](cudnnHandle_t h) {
    const AlgoChoice c = algo_cache().get(algo_key(device, 2, p, tensor_cores), [&] {
      cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
      int count = 0;
      FH_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d.x, d.y, d.conv, d.w,
                                                                   CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &count, perf),
                     op);
      AlgoChoice choice = d.pick(perf, count, "backward-filter");
      d.use(choice);
      FH_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(
                         h, d.x, d.y, d.conv, d.w, static_cast<cudnnConvolutionBwdFilterAlgo_t>(choice.algo),
                         &choice.workspace),
                     op);
      return choice;
    });
    d.use(c);
    const auto algo = static_cast<cudnnConvolutionBwdFilterAlgo_t>(c.algo);
    ScratchBuffer workspace(c.workspace, device);
    const float one = 1.0f, zero = 0.0f;
    FH_CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, &one, d.x, x.raw_data(), d.y, grad_out.raw_data(), d.conv, algo,
                                                  workspace.as<void>(), c.workspace, &zero, d.w, grad_w.raw_data()),
                   op, "algorithm ", c.algo);
  });
}

}  // namespace fh::kernels::cuda::cudnn_conv

#else  // !FH_WITH_CUDNN: conv_backend_available() keeps the cuDNN backends from being selected.

namespace fh::kernels::cuda::cudnn_conv {

namespace {
[[noreturn]] void no_cudnn(const char* op) { FH_FAIL(op, "the cuDNN backend was selected but this build has no cuDNN"); }
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
