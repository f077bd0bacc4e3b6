// Host memory for tensors: 64-byte aligned, with a cache for large blocks.
//
// Why a cache: glibc returns blocks above 32 MiB to the kernel on free, so the next
// allocation of the same size page-faults its way through fresh memory (about 30 ms for
// 64 MiB, longer than most kernels that use it). Training allocates the same large
// activation sizes every step, so freed large blocks are kept and handed out again.
// Small blocks (< 1 MiB) go straight to the system allocator, which reuses them well.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fh::host {

// Throws fh::Error naming the size when the system refuses.
void* allocate(size_t nbytes);
// `nbytes` must be the size given to allocate().
void deallocate(void* ptr, size_t nbytes);

struct MemoryStats {
  size_t in_use = 0;       // bytes of live blocks (large blocks counted at their rounded size)
  size_t peak_in_use = 0;  // high-water mark of in_use
  size_t cached = 0;       // bytes of freed large blocks kept for reuse
  uint64_t allocations = 0;
  uint64_t cache_hits = 0;
};
MemoryStats memory_stats();
// Frees every cached block.
void empty_cache();
// The most the cache keeps (FH_HOST_CACHE_MB, default 4096); beyond it freed blocks go back
// to the system.
size_t cache_limit();

}  // namespace fh::host
