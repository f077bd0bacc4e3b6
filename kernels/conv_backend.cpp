#include "kernels/conv_backend.h"

#include <cstdlib>
#include <mutex>

#include "runtime/error.h"

#ifndef FH_WITH_CUDNN
#define FH_WITH_CUDNN 0
#endif

namespace fh::kernels {

namespace {

constexpr ConvBackend kAll[] = {ConvBackend::Own, ConvBackend::OwnTensorCores, ConvBackend::Cudnn,
                                ConvBackend::CudnnTensorCores};

struct Choice {
  ConvBackend backend = ConvBackend::Own;
  std::string source;
};

// The choice from the environment, made once; a bad value throws at every call.
const Choice& environment_choice() {
  static const Choice choice = [] {
    Choice c;
    const char* env = std::getenv("FH_CONV");
    if (env == nullptr || *env == '\0') {
      c.source = "default (FH_CONV unset)";
      return c;
    }
    c.backend = parse_conv_backend(env, "FH_CONV");
    FH_CHECK(conv_backend_available(c.backend), "FH_CONV", "'", env,
             "' needs cuDNN, which this build does not have (cuDNN was not found at configure time); use own or own-tc");
    c.source = std::string("FH_CONV=") + env;
    return c;
  }();
  return choice;
}

std::mutex g_mutex;
bool g_overridden = false;
Choice g_override;

// Makes b the in-process choice; the caller holds g_mutex.
void override_with(ConvBackend b, const char* op) {
  FH_CHECK(conv_backend_available(b), op, "'", conv_backend_name(b), "' needs cuDNN, which this build does not have");
  g_overridden = true;
  g_override.backend = b;
  g_override.source = std::string("set_conv_backend(") + conv_backend_name(b) + ")";
}

}  // namespace

const char* conv_backend_name(ConvBackend b) {
  switch (b) {
    case ConvBackend::Own: return "own";
    case ConvBackend::OwnTensorCores: return "own-tc";
    case ConvBackend::Cudnn: return "cudnn";
    case ConvBackend::CudnnTensorCores: return "cudnn-tc";
  }
  return "?";
}

const char* conv_backend_description(ConvBackend b) {
  switch (b) {
    case ConvBackend::Own: return "implicit GEMM on CUDA cores, float32 arithmetic";
    case ConvBackend::OwnTensorCores: return "implicit GEMM on tensor cores, TF32 inputs, float32 accumulation";
    case ConvBackend::Cudnn: return "cuDNN, float32 arithmetic (FMA math)";
    case ConvBackend::CudnnTensorCores: return "cuDNN, tensor-core math allowed (TF32 inputs)";
  }
  return "?";
}

ConvBackend parse_conv_backend(const std::string& text, const char* source) {
  for (ConvBackend b : kAll)
    if (text == conv_backend_name(b)) return b;
  FH_FAIL(source, "unknown convolution backend '", text, "'; choices: own, own-tc, cudnn, cudnn-tc");
}

bool conv_backend_available(ConvBackend b) {
  return (b != ConvBackend::Cudnn && b != ConvBackend::CudnnTensorCores) || FH_WITH_CUDNN;
}

ConvBackend conv_backend() {
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (g_overridden) return g_override.backend;
  }
  return environment_choice().backend;
}

void set_conv_backend(ConvBackend b) {
  std::lock_guard<std::mutex> lock(g_mutex);
  override_with(b, "set_conv_backend");
}

std::string conv_backend_source() {
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (g_overridden) return g_override.source;
  }
  return environment_choice().source;
}

ConvBackendScope::ConvBackendScope(ConvBackend b) : previous_(ConvBackend::Own) {
  std::lock_guard<std::mutex> lock(g_mutex);
  // Remember the override (if any) exactly; without one, restoring clears the override.
  previous_source_ = g_overridden ? g_override.source : std::string();
  previous_ = g_override.backend;
  override_with(b, "ConvBackendScope");
}

ConvBackendScope::~ConvBackendScope() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (previous_source_.empty()) {
    g_overridden = false;
  } else {
    g_override.backend = previous_;
    g_override.source = previous_source_;
  }
}

}  // namespace fh::kernels
