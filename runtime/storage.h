// Storage: one owned block of memory on one device. Tensors share storages (views such as
// reshape and detach do), so it is always held by shared_ptr.
#pragma once

#include <cstddef>
#include <memory>

#include "runtime/device.h"

namespace fh {

class Storage {
 public:
  // CPU blocks come from host_allocator.h (64-byte aligned, large ones cached); CUDA blocks
  // from the stream-ordered caching allocator.
  Storage(size_t nbytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() { return data_; }
  const void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
};

}  // namespace fh
