// Shared by every .cu file: turning CUDA status codes into fh::Error, and a scoped
// "run on device N" guard. Only CUDA translation units include this header.
#pragma once

#include <cuda_runtime.h>

#include "runtime/error.h"

// FH_CUDA_CHECK(call, op, context...): runs a CUDA runtime call and throws fh::Error when it
// fails. The message names the op, the call as written, any context parts (device, sizes)
// and CUDA's own error name and text, e.g.
//   "cuda::allocate: cudaMalloc(&ptr, bytes) failed on cuda:0 for 1024 bytes: cudaErrorInvalidValue (invalid argument)"
#define FH_CUDA_CHECK(call, op, ...)                                                                       \
  do {                                                                                                     \
    const cudaError_t fh_cuda_status_ = (call);                                                            \
    if (fh_cuda_status_ != cudaSuccess) [[unlikely]] {                                                     \
      /* Failed API calls also set the thread's "last error"; clear it so that a later */                  \
      /* cudaGetLastError() after a kernel launch does not report this stale failure. */                  \
      (void)cudaGetLastError();                                                                            \
      FH_FAIL(op, #call " failed" __VA_OPT__(, " ", ) __VA_OPT__(__VA_ARGS__, ) ": ",                       \
              cudaGetErrorName(fh_cuda_status_), " (", cudaGetErrorString(fh_cuda_status_), ")");         \
    }                                                                                                      \
  } while (0)

// FH_CUDA_CHECK_STATUS(status, op, what...): the same for a status already in hand; `what`
// names the call and its arguments, e.g. FH_CUDA_CHECK_STATUS(s, "op", "cudaFree of ", n, " bytes").
#define FH_CUDA_CHECK_STATUS(status, op, ...)                                                        \
  do {                                                                                               \
    const cudaError_t fh_cuda_status_ = (status);                                                    \
    if (fh_cuda_status_ != cudaSuccess) [[unlikely]] {                                               \
      (void)cudaGetLastError();                                                                      \
      FH_FAIL(op, __VA_ARGS__, " failed: ", cudaGetErrorName(fh_cuda_status_), " (",                 \
              cudaGetErrorString(fh_cuda_status_), ")");                                             \
    }                                                                                                \
  } while (0)

// FH_CUDA_CHECK_LAUNCH(op, context...): call right after a kernel launch. A bad launch
// configuration is reported here; faults inside the kernel surface at the next synchronising call.
#define FH_CUDA_CHECK_LAUNCH(op, ...)                                                                 \
  do {                                                                                                \
    const cudaError_t fh_cuda_status_ = cudaGetLastError(); /* also clears it */                      \
    if (fh_cuda_status_ != cudaSuccess) [[unlikely]]                                                  \
      FH_FAIL(op, "kernel launch failed" __VA_OPT__(" for ", ) __VA_OPT__(__VA_ARGS__, ) ": ",        \
              cudaGetErrorName(fh_cuda_status_), " (", cudaGetErrorString(fh_cuda_status_), ")");     \
  } while (0)

namespace fh::cuda {

// Makes `device` current for the guard's lifetime and restores the previous device after, so
// that work on tensors of cuda:1 does not change which device the caller's thread works on.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    FH_CUDA_CHECK(cudaGetDevice(&previous_), "cuda::DeviceGuard");
    if (previous_ != device) {
      FH_CUDA_CHECK(cudaSetDevice(device), "cuda::DeviceGuard", "for cuda:", device);
      switched_ = true;
    }
  }
  ~DeviceGuard() {
    if (switched_) (void)cudaSetDevice(previous_);  // best effort: destructors must not throw
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = 0;
  bool switched_ = false;
};

}  // namespace fh::cuda
