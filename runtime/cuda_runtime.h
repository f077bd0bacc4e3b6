// The runtime's view of CUDA: discovery, memory and copies. Declared for every build; a
// build without CUDA answers "not available" with the reason (see cuda_absent.cpp), and a
// CUDA build whose machine has no driver or device says which (see cuda/cuda_runtime.cu).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fh::cuda {

struct DeviceInfo {
  int index = 0;
  std::string name;
  int cc_major = 0, cc_minor = 0;
  int sm_count = 0;
  size_t total_memory = 0;
  size_t free_memory = 0;
};

// True when this binary was compiled with CUDA support.
bool compiled();
// Number of usable CUDA devices (0 when not compiled, no driver, or no device).
int device_count();
// Why device_count() is 0, in words; empty when devices are available.
std::string unavailable_reason();
std::vector<DeviceInfo> devices();
// Runtime and driver versions as "13.0" strings; "none" where unknown.
std::string runtime_version();
std::string driver_version();

// Stream handle (a cudaStream_t); nullptr is the legacy default stream. Kernels and the
// allocator use the calling thread's current stream.
using Stream = void*;
Stream current_stream();
void set_current_stream(Stream s);
void synchronize();

// Stream-ordered caching allocator. A freed block returns to the pool of the stream it was
// allocated on and is reused only by work on that stream, so no synchronisation is needed.
void* allocate(size_t nbytes, int device);
void deallocate(void* ptr);

struct MemoryStats {
  size_t in_use = 0;       // bytes in live blocks
  size_t peak_in_use = 0;  // high-water mark of in_use since the last reset
  size_t reserved = 0;     // bytes obtained from cudaMalloc (in use + cached)
  uint64_t allocations = 0;
  uint64_t cache_hits = 0;
};
MemoryStats memory_stats(int device);
void reset_peak_memory(int device);
// Returns cached, unused blocks to the driver.
void empty_cache();

// Copies; the host side is ordinary pageable memory. Synchronous with respect to the host.
void copy_host_to_device(void* dst, const void* src, size_t nbytes, int device);
void copy_device_to_host(void* dst, const void* src, size_t nbytes, int device);
void copy_device_to_device(void* dst, const void* src, size_t nbytes, int device);

}  // namespace fh::cuda
