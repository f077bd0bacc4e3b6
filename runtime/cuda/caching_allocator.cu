// A stream-ordered caching allocator for device memory.
//
// Why cache: cudaMalloc and cudaFree are slow (cudaFree also synchronises the whole device),
// and a training step allocates and frees the same sizes again and again. So a freed block is
// kept and handed out again instead of going back to the driver.
//
// Why per stream: work on one stream runs in issue order. When the owner of a block frees it,
// kernels that still read it may be queued but not finished; a later request on the same
// stream can reuse it safely because its kernels queue behind those. A request on another
// stream could run concurrently with them, so it never gets the block. (A tensor allocated on
// one stream and used on another must be kept alive by its user until that work is done; and
// call empty_cache() before destroying a stream that allocated, since a new stream may get
// the same handle.)
//
// Size rule: requests up to 1 MiB round up to a multiple of 512 bytes; larger ones to a
// multiple of 2 MiB. A cached block is reused when it is the smallest one of the same device
// and stream that fits and is at most twice the rounded request, so a small tensor does not
// pin down a huge block. Blocks are never split or merged: simple, at some cost in memory.
#include <cuda_runtime.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda_runtime.h"

namespace fh::cuda {

namespace {

constexpr size_t kSmallLimit = size_t{1} << 20;  // 1 MiB
constexpr size_t kSmallRound = 512;
constexpr size_t kLargeRound = size_t{2} << 20;  // 2 MiB
constexpr size_t kMaxReuseFactor = 2;

size_t round_up(size_t n, size_t multiple) { return (n + multiple - 1) / multiple * multiple; }

size_t rounded_size(size_t nbytes) {
  return nbytes <= kSmallLimit ? round_up(nbytes, kSmallRound) : round_up(nbytes, kLargeRound);
}

struct Block {
  void* ptr = nullptr;
  size_t size = 0;  // rounded size, what cudaMalloc was asked for
  int device = 0;
  cudaStream_t stream = nullptr;  // the stream it was allocated on; it is only reused there
};

// Cached (free) blocks of one stream, ordered by size for best-fit lookup.
using FreePool = std::multimap<size_t, Block*>;

struct DeviceState {
  std::map<cudaStream_t, FreePool> free_by_stream;
  MemoryStats stats;
};

class CachingAllocator {
 public:
  void* allocate(size_t nbytes, int device) {
    if (nbytes == 0) return nullptr;
    check_device(device);
    const size_t size = rounded_size(nbytes);
    const cudaStream_t stream = static_cast<cudaStream_t>(current_stream());

    std::lock_guard<std::mutex> lock(mutex_);
    DeviceState& state = devices_[device];
    Block* block = take_cached(state, stream, size);
    if (block != nullptr) {
      ++state.stats.cache_hits;
    } else {
      block = new Block{malloc_or_throw(state, device, nbytes, size), size, device, stream};
      state.stats.reserved += size;
    }
    live_.emplace(block->ptr, block);
    ++state.stats.allocations;
    state.stats.in_use += block->size;
    state.stats.peak_in_use = std::max(state.stats.peak_in_use, state.stats.in_use);
    return block->ptr;
  }

  void deallocate(void* ptr) {
    if (ptr == nullptr) return;
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = live_.find(ptr);
    FH_CHECK(it != live_.end(), "cuda::deallocate", "pointer ", ptr,
             " was not allocated by freehead's CUDA allocator, or was already freed");
    Block* block = it->second;
    live_.erase(it);
    DeviceState& state = devices_[block->device];
    state.stats.in_use -= block->size;
    // No synchronisation: work already queued on block->stream still finishes before any
    // later work on that stream can touch the block again.
    state.free_by_stream[block->stream].emplace(block->size, block);
  }

  MemoryStats stats(int device) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = devices_.find(device);
    return it == devices_.end() ? MemoryStats{} : it->second.stats;
  }

  void reset_peak(int device) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = devices_.find(device);
    if (it != devices_.end()) it->second.stats.peak_in_use = it->second.stats.in_use;
  }

  void empty_cache() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [device, state] : devices_) release_cached(device, state);
  }

 private:
  static void check_device(int device) {
    const int n = device_count();
    if (n == 0) FH_FAIL("cuda::allocate", "cuda:", device, " is not available: ", unavailable_reason());
    FH_CHECK(device >= 0 && device < n, "cuda::allocate", "cuda:", device, " does not exist (this machine has ", n,
             n == 1 ? " CUDA device)" : " CUDA devices)");
  }

  // Best fit among the stream's cached blocks, refusing blocks over kMaxReuseFactor x size.
  static Block* take_cached(DeviceState& state, cudaStream_t stream, size_t size) {
    const auto pool_it = state.free_by_stream.find(stream);
    if (pool_it == state.free_by_stream.end()) return nullptr;
    FreePool& pool = pool_it->second;
    const auto it = pool.lower_bound(size);
    if (it == pool.end() || it->first > kMaxReuseFactor * size) return nullptr;
    Block* block = it->second;
    pool.erase(it);
    return block;
  }

  // cudaMalloc of the rounded `size` (for a request of `nbytes`). On out-of-memory, give every
  // cached block of the device back and retry once: cached memory is free to us but not to
  // the driver, so this turns a failure into a success when the cache holds the wrong sizes.
  void* malloc_or_throw(DeviceState& state, int device, size_t nbytes, size_t size) {
    DeviceGuard guard(device);
    void* ptr = nullptr;
    cudaError_t status = cudaMalloc(&ptr, size);
    if (status == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();  // clear it: this failure is handled here
      release_cached(device, state);
      status = cudaMalloc(&ptr, size);
      if (status == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError();
        FH_FAIL("cuda::allocate", "cuda:", device, " out of memory allocating ", nbytes, " bytes (in use ",
                state.stats.in_use, ", reserved ", state.stats.reserved, ")");
      }
    }
    FH_CUDA_CHECK_STATUS(status, "cuda::allocate", "cudaMalloc of ", size, " bytes on cuda:", device);
    return ptr;
  }

  // Frees every cached block of one device. Blocks on the free lists may still be read by
  // queued kernels (see deallocate), so wait for the device to go idle first.
  static void release_cached(int device, DeviceState& state) {
    bool any = false;
    for (const auto& [stream, pool] : state.free_by_stream) any = any || !pool.empty();
    if (!any) return;
    DeviceGuard guard(device);
    FH_CUDA_CHECK(cudaDeviceSynchronize(), "cuda::empty_cache", "on cuda:", device);
    for (auto& [stream, pool] : state.free_by_stream) {
      // Unlink each block before freeing it, so that a failing cudaFree leaves no dangling entry.
      while (!pool.empty()) {
        Block* block = pool.begin()->second;
        pool.erase(pool.begin());
        state.stats.reserved -= block->size;
        const cudaError_t status = cudaFree(block->ptr);
        const size_t size = block->size;
        delete block;
        FH_CUDA_CHECK_STATUS(status, "cuda::empty_cache", "cudaFree of ", size, " bytes on cuda:", device);
      }
    }
  }

  std::mutex mutex_;
  std::map<int, DeviceState> devices_;
  std::unordered_map<void*, Block*> live_;
};

// Deliberately never destroyed: tensors held in static objects may be freed during program
// exit, after function-local statics are gone, and by then the CUDA runtime may be torn down
// too. The driver reclaims all device memory when the process ends.
CachingAllocator& allocator() {
  static CachingAllocator* const instance = new CachingAllocator();
  return *instance;
}

}  // namespace

void* allocate(size_t nbytes, int device) { return allocator().allocate(nbytes, device); }
void deallocate(void* ptr) { allocator().deallocate(ptr); }
MemoryStats memory_stats(int device) { return allocator().stats(device); }
void reset_peak_memory(int device) { allocator().reset_peak(device); }
void empty_cache() { allocator().empty_cache(); }

}  // namespace fh::cuda
