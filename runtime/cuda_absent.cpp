// runtime/cuda_runtime.h for a build without CUDA: nothing is available, and every call that
// would need a GPU says why in its error. Queries and no-op calls succeed, so code that only
// asks "is there a GPU?" (the CLI's info command, test skips) works unchanged.
#include "runtime/cuda_runtime.h"

#include "runtime/error.h"

namespace fh::cuda {

namespace {
constexpr const char* kReason = "freehead was built without CUDA (FH_CUDA=OFF, or nvcc was not found at configure time)";
}

bool compiled() { return false; }
int device_count() { return 0; }
std::string unavailable_reason() { return kReason; }
std::vector<DeviceInfo> devices() { return {}; }
std::string runtime_version() { return "none"; }
std::string driver_version() { return "none"; }

Stream current_stream() { return nullptr; }
void set_current_stream(Stream) {}
void synchronize() {}

void* allocate(size_t nbytes, int device) {
  FH_FAIL("cuda::allocate", "cannot allocate ", nbytes, " bytes on cuda:", device, ": ", kReason);
}

void deallocate(void* ptr) {
  // Nothing can have been allocated, so only nullptr is a valid argument.
  FH_CHECK(ptr == nullptr, "cuda::deallocate", "pointer ", ptr, " cannot be CUDA memory: ", kReason);
}

// Zeros: no device memory is in use, which is true, and lets reports print without a GPU.
MemoryStats memory_stats(int) { return {}; }
void reset_peak_memory(int) {}
void empty_cache() {}

void copy_host_to_device(void*, const void*, size_t nbytes, int device) {
  FH_FAIL("cuda::copy_host_to_device", "cannot copy ", nbytes, " bytes to cuda:", device, ": ", kReason);
}

void copy_device_to_host(void*, const void*, size_t nbytes, int device) {
  FH_FAIL("cuda::copy_device_to_host", "cannot copy ", nbytes, " bytes from cuda:", device, ": ", kReason);
}

void copy_device_to_device(void*, const void*, size_t nbytes, int device) {
  FH_FAIL("cuda::copy_device_to_device", "cannot copy ", nbytes, " bytes on cuda:", device, ": ", kReason);
}

}  // namespace fh::cuda
