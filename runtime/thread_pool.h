// The CPU thread pool. Work is split into contiguous chunks whose boundaries depend only on
// the problem size, the grain and the pool size, never on timing, so that a kernel that
// writes each output from one chunk is bit-reproducible for a given thread count. Which
// thread runs a chunk is decided at run time — each claims the next unclaimed one — so a
// worker that is late (asleep, or its core taken by another process) never holds the
// caller up: the caller runs the chunks nobody has claimed.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fh {

class ThreadPool {
 public:
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return num_threads_; }

  // Calls fn(begin, end) over [0, n) split into at most size() chunks of at least `grain`
  // items each. The calling thread takes part. Runs serially inside another parallel_for.
  // The first exception thrown by any chunk is rethrown here after all chunks finish.
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void worker_loop();
  void run_chunk(int64_t chunk);
  // Claims and runs chunks of the job of `generation` until none is left unclaimed.
  void run_claimed_chunks(uint64_t generation);

  int num_threads_;
  std::vector<std::thread> workers_;
  // Workers and the caller spin briefly before sleeping: a kernel of 100 µs cannot afford
  // the tens of microseconds a futex wake-up takes on a busy machine.
  std::mutex mutex_;
  std::condition_variable work_ready_, work_done_;
  std::atomic<uint64_t> generation_{0};
  // The job's claim word: generation (high 32 bits), chunk count (16) and the next chunk to
  // hand out (16). One compare-and-swap claims a chunk of exactly the job a thread woke
  // for, never one of the next job.
  std::atomic<uint64_t> claim_{0};
  std::atomic<int64_t> pending_{0};  // chunks of the job not yet finished
  bool stopping_ = false;
  // The job in flight (written before generation_ is bumped, read after it is seen).
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_n_ = 0, job_chunks_ = 0;
  std::exception_ptr error_;
  std::mutex submit_mutex_;  // one parallel_for at a time from outside the pool
};

// The process-wide pool: FH_NUM_THREADS if set, else the CPUs this process may run on.
ThreadPool& thread_pool();
int num_threads();
// Where the thread count came from, e.g. "FH_NUM_THREADS=4" or "hardware (2 CPUs in affinity mask)".
std::string num_threads_source();
// Replaces the process-wide pool (tests use this to compare thread counts). Not thread-safe
// with respect to running kernels.
void set_num_threads(int n);

// Convenience wrapper over the process-wide pool.
inline void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  thread_pool().parallel_for(n, grain, fn);
}

}  // namespace fh
