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
  for (int i = 1; i < num_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
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

void ThreadPool::worker_loop(int worker_index) {
  uint64_t seen = 0;
  for (;;) {
    auto has_work = [&] { return generation_.load(std::memory_order_acquire) != seen; };
    if (!spin_until(has_work)) {
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock, [&] { return stopping_ || has_work(); });
      if (stopping_) return;
    }
    seen = generation_.load(std::memory_order_acquire);
    // Worker i owns chunk i: the assignment is static, so timing never changes the split.
    if (worker_index < job_chunks_) run_chunk(worker_index);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(mutex_);
      work_done_.notify_one();
    }
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
  pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
  {
    // Bumped under the mutex so that a worker about to sleep cannot miss it.
    std::lock_guard<std::mutex> lock(mutex_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  work_ready_.notify_all();
  run_chunk(0);
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
