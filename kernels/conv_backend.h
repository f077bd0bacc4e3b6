// Which implementation runs convolutions on CUDA tensors. Chosen once per process by the
// environment variable FH_CONV, printed by `freehead info`, and switchable in-process for
// tests and benchmarks. CPU tensors always use the CPU kernels.
//
//   FH_CONV=own       float32 implicit GEMM on CUDA cores (the default)
//   FH_CONV=own-tc    the same GEMMs on tensor cores with TF32 inputs (mma.sync m16n8k8)
//   FH_CONV=cudnn     cuDNN, float32 arithmetic (FMA math only, no TF32)
//   FH_CONV=cudnn-tc  cuDNN with tensor-core math allowed (TF32 for float32 tensors)
// The choice applies to float32 tensors. Float64 convolutions (the gradient checks'
// precision) always run freehead's float64 CUDA-core kernels, never TF32 or cuDNN.
#pragma once

#include <string>

namespace fh::kernels {

enum class ConvBackend { Own, OwnTensorCores, Cudnn, CudnnTensorCores };

// "own", "own-tc", "cudnn", "cudnn-tc".
const char* conv_backend_name(ConvBackend b);
// One line: what the backend computes with.
const char* conv_backend_description(ConvBackend b);
// The backend named `text`; an unknown name is an fh::Error naming `source` (e.g. "FH_CONV")
// and the choices.
ConvBackend parse_conv_backend(const std::string& text, const char* source);
// cuDNN backends need a build that found cuDNN (FH_WITH_CUDNN).
bool conv_backend_available(ConvBackend b);

// The backend in use: set_conv_backend's choice if any, else FH_CONV (read once; an unknown
// or unavailable value is an fh::Error at the first call), else own.
ConvBackend conv_backend();
void set_conv_backend(ConvBackend b);
// Where the backend in use came from: "FH_CONV=own-tc", "default (FH_CONV unset)" or
// "set_conv_backend(cudnn)".
std::string conv_backend_source();

// Sets a backend for the lifetime of the scope and restores the previous choice after.
class ConvBackendScope {
 public:
  explicit ConvBackendScope(ConvBackend b);
  ~ConvBackendScope();
  ConvBackendScope(const ConvBackendScope&) = delete;
  ConvBackendScope& operator=(const ConvBackendScope&) = delete;

 private:
  ConvBackend previous_;
  std::string previous_source_;
};

}  // namespace fh::kernels
