#include "runtime/storage.h"

#include "runtime/cuda_runtime.h"
#include "runtime/host_allocator.h"
#include "runtime/error.h"

namespace fh {

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  if (device.is_cpu()) {
    data_ = host::allocate(nbytes);
  } else {
    data_ = nbytes ? cuda::allocate(nbytes, device.index) : nullptr;
  }
}

Storage::~Storage() {
  if (data_ == nullptr) return;
  if (device_.is_cpu()) {
    host::deallocate(data_, nbytes_);
  } else {
    cuda::deallocate(data_);
  }
}

}  // namespace fh
