// The CUDA build's answers to runtime/cuda_runtime.h: device discovery, the per-thread current
// stream, and synchronous copies. The caching allocator lives in caching_allocator.cu.
#include <cuda_runtime.h>

#include <mutex>
#include <string>

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda_runtime.h"

namespace fh::cuda {

namespace {

// Discovery runs once: the set of devices cannot change while the process runs, and asking
// a machine without a driver every time would be slow and would keep setting the last error.
struct Discovery {
  int count = 0;
  std::string reason;  // empty when count > 0
};

// "13.0" from CUDA's integer encoding 1000 * major + 10 * minor.
std::string version_string(int encoded) {
  if (encoded <= 0) return "none";
  return std::to_string(encoded / 1000) + "." + std::to_string(encoded % 1000 / 10);
}

std::string describe_failure(cudaError_t status) {
  const std::string detail = cudaGetErrorString(status);
  int driver = 0;
  (void)cudaDriverGetVersion(&driver);  // 0 when no driver library could be loaded
  switch (status) {
    case cudaErrorInsufficientDriver:
      if (driver == 0) return "no NVIDIA driver found: " + detail;
      return "the NVIDIA driver (CUDA " + version_string(driver) + ") is older than this build's CUDA runtime (" +
             runtime_version() + "): " + detail;
    case cudaErrorNoDevice:
      return "no CUDA device found: " + detail;
    default:
      return std::string("cudaGetDeviceCount failed with ") + cudaGetErrorName(status) + ": " + detail;
  }
}

const Discovery& discovery() {
  static const Discovery found = [] {
    Discovery d;
    int n = 0;
    const cudaError_t status = cudaGetDeviceCount(&n);
    if (status != cudaSuccess) {
      (void)cudaGetLastError();  // not a fault of later work: do not let kernels report it
      d.reason = describe_failure(status);
    } else if (n <= 0) {
      d.reason = "no CUDA device found";
    } else {
      d.count = n;
    }
    return d;
  }();
  return found;
}

cudaStream_t as_cuda(Stream s) { return static_cast<cudaStream_t>(s); }

// Each thread has its own current stream, as in PyTorch: two threads can drive the GPU
// through separate streams without coordinating. nullptr is the legacy default stream.
thread_local Stream tls_current_stream = nullptr;

void check_device_index(int device, const char* op) {
  const int n = device_count();
  if (n == 0) FH_FAIL(op, "cuda:", device, " is not available: ", unavailable_reason());
  FH_CHECK(device >= 0 && device < n, op, "cuda:", device, " does not exist (this machine has ", n,
           n == 1 ? " CUDA device)" : " CUDA devices)");
}

// Enqueues the copy on the current stream, so it is ordered after the kernels that produced
// `src`, then waits for it: the caller gets usable memory back, as the header promises.
void copy(void* dst, const void* src, size_t nbytes, int device, cudaMemcpyKind kind, const char* op) {
  if (nbytes == 0) return;
  check_device_index(device, op);
  DeviceGuard guard(device);
  const cudaStream_t stream = as_cuda(current_stream());
  FH_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, kind, stream), op, "on cuda:", device, " for ", nbytes, " bytes");
  FH_CUDA_CHECK(cudaStreamSynchronize(stream), op, "on cuda:", device, " for ", nbytes, " bytes");
}

}  // namespace

bool compiled() { return true; }

int device_count() { return discovery().count; }

std::string unavailable_reason() { return discovery().reason; }

std::vector<DeviceInfo> devices() {
  std::vector<DeviceInfo> out;
  for (int i = 0; i < device_count(); ++i) {
    cudaDeviceProp prop{};
    FH_CUDA_CHECK(cudaGetDeviceProperties(&prop, i), "cuda::devices", "for cuda:", i);
    DeviceInfo info;
    info.index = i;
    info.name = prop.name;
    info.cc_major = prop.major;
    info.cc_minor = prop.minor;
    info.sm_count = prop.multiProcessorCount;
    info.total_memory = prop.totalGlobalMem;
    // cudaMemGetInfo answers for the current device, so make device i current for the call.
    DeviceGuard guard(i);
    size_t free_bytes = 0, total_bytes = 0;
    FH_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes), "cuda::devices", "for cuda:", i);
    info.free_memory = free_bytes;
    out.push_back(std::move(info));
  }
  return out;
}

std::string runtime_version() {
  int v = 0;
  if (cudaRuntimeGetVersion(&v) != cudaSuccess) {
    (void)cudaGetLastError();
    return "none";
  }
  return version_string(v);
}

std::string driver_version() {
  int v = 0;
  if (cudaDriverGetVersion(&v) != cudaSuccess) {
    (void)cudaGetLastError();
    return "none";
  }
  return version_string(v);  // v is 0 when no driver is installed
}

Stream current_stream() { return tls_current_stream; }

void set_current_stream(Stream s) { tls_current_stream = s; }

void synchronize() {
  const cudaStream_t stream = as_cuda(current_stream());
  if (stream != nullptr) {
    // A created stream belongs to one device, and synchronising it needs no current device.
    FH_CUDA_CHECK(cudaStreamSynchronize(stream), "cuda::synchronize", "on stream ", static_cast<void*>(stream));
    return;
  }
  // The legacy default stream exists once per device, and kernels on tensors of any device
  // may have used it: wait for every device this process can see.
  for (int i = 0; i < device_count(); ++i) {
    DeviceGuard guard(i);
    FH_CUDA_CHECK(cudaDeviceSynchronize(), "cuda::synchronize", "on cuda:", i);
  }
}

void copy_host_to_device(void* dst, const void* src, size_t nbytes, int device) {
  copy(dst, src, nbytes, device, cudaMemcpyHostToDevice, "cuda::copy_host_to_device");
}

void copy_device_to_host(void* dst, const void* src, size_t nbytes, int device) {
  copy(dst, src, nbytes, device, cudaMemcpyDeviceToHost, "cuda::copy_device_to_host");
}

void copy_device_to_device(void* dst, const void* src, size_t nbytes, int device) {
  copy(dst, src, nbytes, device, cudaMemcpyDeviceToDevice, "cuda::copy_device_to_device");
}

}  // namespace fh::cuda
