#include "runtime/storage.h"

#include <cstdlib>

#include "runtime/cuda_runtime.h"
#include "runtime/error.h"

namespace fh {

namespace {
constexpr size_t kHostAlignment = 64;  // a cache line, and the widest AVX-512 load
}

void* host_allocate(size_t nbytes) {
  const size_t rounded = (nbytes + kHostAlignment - 1) / kHostAlignment * kHostAlignment;
  if (rounded == 0) return nullptr;
  void* p = std::aligned_alloc(kHostAlignment, rounded);
  FH_CHECK(p != nullptr, "host_allocate", "out of host memory allocating ", nbytes, " bytes");
  return p;
}

void host_deallocate(void* ptr) { std::free(ptr); }

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  if (device.is_cpu()) {
    data_ = host_allocate(nbytes);
  } else {
    data_ = nbytes ? cuda::allocate(nbytes, device.index) : nullptr;
  }
}

Storage::~Storage() {
  if (data_ == nullptr) return;
  if (device_.is_cpu()) {
    host_deallocate(data_);
  } else {
    cuda::deallocate(data_);
  }
}

}  // namespace fh
