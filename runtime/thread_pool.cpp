#include "runtime/thread_pool.h"

#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "runtime/error.h"

namespace fh {

namespace {
thread_local bool t_inside_pool = false;

struct InsideGuard {
  bool previous;
  InsideGuard() : previous(t_inside_pool) { t_inside_pool = true; }
  ~InsideGuard() { t_inside_pool = previous; }
};

int64_t chunk_begin(int64_t chunk, int64_t chunks, int64_t n) { return n * chunk / chunks; }
}  // namespace

ThreadPool::ThreadPool(int num_threads) : num_threads_(std::max(1, num_threads)) {
  FH_CHECK(num_threads_ < (1 << 16), "ThreadPool", "thread count ", num_threads_, " must be below 65536");
  for (int i = 1; i < num_threads_; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (auto& w : workers_) w.join();
}

namespace {

// About 20-50 µs of polling before a thread goes to sleep.
constexpr int kSpinIterations = 1 << 13;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Polls `done` for a while; returns whether it became true.
template <class Pred>
bool spin_until(Pred done) {
  for (int i = 0; i < kSpinIterations; ++i) {
    if (done()) return true;
    cpu_relax();
  }
  return done();
}

}  // namespace

void ThreadPool::run_chunk(int64_t chunk) {
  const int64_t b = chunk_begin(chunk, job_chunks_, job_n_), e = chunk_begin(chunk + 1, job_chunks_, job_n_);
  try {
    InsideGuard guard;
    (*job_)(b, e);
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error_) error_ = std::current_exception();
  }
}

void ThreadPool::run_claimed_chunks(uint64_t generation) {
  uint64_t word = claim_.load(std::memory_order_acquire);
  for (;;) {
    const uint64_t chunks = (word >> 16) & 0xffff, next = word & 0xffff;
    if ((word >> 32) != (generation & 0xffffffff) || next >= chunks) return;
    // Acquire on success: the job's fields were written before the word was published.
    if (!claim_.compare_exchange_weak(word, word + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
    run_chunk(static_cast<int64_t>(next));
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(mutex_);
      work_done_.notify_one();
    }
    word = claim_.load(std::memory_order_acquire);
  }
}

void ThreadPool::worker_loop() {
  uint64_t seen = 0;
  for (;;) {
    auto has_work = [&] { return generation_.load(std::memory_order_acquire) != seen; };
    if (!spin_until(has_work)) {
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock, [&] { return stopping_ || has_work(); });
      if (stopping_) return;
    }
    seen = generation_.load(std::memory_order_acquire);
    // Chunks of a job this worker woke for too late are already claimed (or the job is
    // over): the claim word's generation no longer matches and nothing runs.
    run_claimed_chunks(seen);
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t chunks = std::min<int64_t>(num_threads_, (n + grain - 1) / grain);
  if (chunks <= 1 || t_inside_pool) {
    InsideGuard guard;
    fn(0, n);
    return;
  }
  std::lock_guard<std::mutex> submit(submit_mutex_);
  job_ = &fn;
  job_n_ = n;
  job_chunks_ = chunks;
  error_ = nullptr;
  pending_.store(chunks, std::memory_order_relaxed);
  const uint64_t generation = generation_.load(std::memory_order_relaxed) + 1;
  claim_.store(((generation & 0xffffffff) << 32) | (static_cast<uint64_t>(chunks) << 16), std::memory_order_release);
  {
    // Bumped under the mutex so that a worker about to sleep cannot miss it.
    std::lock_guard<std::mutex> lock(mutex_);
    generation_.store(generation, std::memory_order_release);
  }
  work_ready_.notify_all();
  run_claimed_chunks(generation);
  auto all_done = [&] { return pending_.load(std::memory_order_acquire) == 0; };
  if (!spin_until(all_done)) {
    std::unique_lock<std::mutex> lock(mutex_);
    work_done_.wait(lock, all_done);
  }
  job_ = nullptr;
  if (error_) std::rethrow_exception(error_);
}

namespace {

int affinity_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

struct PoolConfig {
  int threads;
  std::string source;
};

PoolConfig pool_config_from_environment() {
  if (const char* env = std::getenv("FH_NUM_THREADS"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    FH_CHECK(end != env && *end == '\0' && n >= 1 && n <= 1024, "FH_NUM_THREADS",
             "expected an integer in [1, 1024], got '", env, "'");
    return {static_cast<int>(n), std::string("FH_NUM_THREADS=") + env};
  }
  const int n = affinity_cpus();
  return {n, "hardware (" + std::to_string(n) + " CPUs in this process's affinity mask)"};
}

std::mutex g_pool_mutex;
std::unique_ptr<ThreadPool> g_pool;
std::string g_source;

}  // namespace

ThreadPool& thread_pool() {
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  if (!g_pool) {
    const PoolConfig config = pool_config_from_environment();
    g_pool = std::make_unique<ThreadPool>(config.threads);
    g_source = config.source;
  }
  return *g_pool;
}

int num_threads() { return thread_pool().size(); }

std::string num_threads_source() {
  thread_pool();
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  return g_source;
}

void set_num_threads(int n) {
  FH_CHECK(n >= 1, "set_num_threads", "thread count must be >= 1, got ", n);
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  g_pool = std::make_unique<ThreadPool>(n);
  g_source = "set_num_threads(" + std::to_string(n) + ")";
}

}  // namespace fh
