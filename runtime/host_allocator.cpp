#include "runtime/host_allocator.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>

#include "runtime/error.h"

namespace fh::host {

namespace {

constexpr size_t kAlignment = 64;                  // a cache line, and the widest AVX-512 load
constexpr size_t kLargeThreshold = size_t{1} << 20;  // blocks from here on are cached
constexpr size_t kLargeRound = size_t{64} << 10;   // large sizes round up to 64 KiB

size_t round_up(size_t n, size_t multiple) { return (n + multiple - 1) / multiple * multiple; }
size_t block_size(size_t nbytes) {
  return nbytes >= kLargeThreshold ? round_up(nbytes, kLargeRound) : round_up(nbytes, kAlignment);
}

void* system_allocate(size_t size, size_t nbytes) {
  void* p = std::aligned_alloc(kAlignment, size);
  FH_CHECK(p != nullptr, "host::allocate", "out of host memory allocating ", nbytes, " bytes");
  return p;
}

class Cache {
 public:
  void* allocate(size_t nbytes) {
    const size_t size = block_size(nbytes);
    void* p = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++stats_.allocations;
      if (size >= kLargeThreshold) {
        // Exact size first, else the smallest block up to twice the size.
        auto it = free_.lower_bound(size);
        if (it != free_.end() && it->first <= 2 * size) {
          p = it->second;
          stats_.cached -= it->first;
          account(it->first);
          sizes_[p] = it->first;
          free_.erase(it);
          ++stats_.cache_hits;
          return p;
        }
      }
    }
    try {
      p = system_allocate(size, nbytes);
    } catch (const Error&) {
      // The cache may be holding what the system lacks: give it back and retry once.
      empty();
      p = system_allocate(size, nbytes);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    account(size);
    if (size >= kLargeThreshold) sizes_[p] = size;
    return p;
  }

  void deallocate(void* p, size_t nbytes) {
    if (p == nullptr) return;
    size_t size = block_size(nbytes);
    std::lock_guard<std::mutex> lock(mutex_);
    if (size >= kLargeThreshold) {
      // A reused block may be larger than this request asked for.
      const auto it = sizes_.find(p);
      if (it != sizes_.end()) {
        size = it->second;
        sizes_.erase(it);
      }
    }
    stats_.in_use -= size;
    if (size >= kLargeThreshold && stats_.cached + size <= limit_) {
      free_.emplace(size, p);
      stats_.cached += size;
      return;
    }
    std::free(p);
  }

  MemoryStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

  void empty() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [size, p] : free_) std::free(p);
    free_.clear();
    stats_.cached = 0;
  }

  size_t limit() const { return limit_; }

 private:
  void account(size_t size) {
    stats_.in_use += size;
    stats_.peak_in_use = std::max(stats_.peak_in_use, stats_.in_use);
  }

  static size_t limit_from_environment() {
    if (const char* env = std::getenv("FH_HOST_CACHE_MB"); env != nullptr && *env != '\0') {
      char* end = nullptr;
      const long long mb = std::strtoll(env, &end, 10);
      FH_CHECK(end != env && *end == '\0' && mb >= 0, "FH_HOST_CACHE_MB", "expected a size in MiB, got '", env, "'");
      return static_cast<size_t>(mb) << 20;
    }
    return size_t{4096} << 20;
  }

  std::mutex mutex_;
  std::multimap<size_t, void*> free_;   // cached blocks by size
  std::map<void*, size_t> sizes_;       // live large blocks' real sizes
  MemoryStats stats_;
  size_t limit_ = limit_from_environment();
};

// Never destroyed: tensors freed during static destruction still find it.
Cache& cache() {
  static Cache* c = new Cache();
  return *c;
}

}  // namespace

void* allocate(size_t nbytes) { return nbytes == 0 ? nullptr : cache().allocate(nbytes); }
void deallocate(void* ptr, size_t nbytes) { cache().deallocate(ptr, nbytes); }
MemoryStats memory_stats() { return cache().stats(); }
void empty_cache() { cache().empty(); }
size_t cache_limit() { return cache().limit(); }

}  // namespace fh::host
