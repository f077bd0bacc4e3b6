#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <vector>

#include "runtime/thread_pool.h"

TEST_CASE("parallel_for visits every index exactly once") {
  for (int threads : {1, 2, 3, 8}) {
    fh::ThreadPool pool(threads);
    for (int64_t n : {0, 1, 7, 1000, 100003}) {
      std::vector<int> hits(static_cast<size_t>(n), 0);
      pool.parallel_for(n, 16, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) ++hits[static_cast<size_t>(i)];
      });
      for (int h : hits) REQUIRE(h == 1);
    }
  }
}

TEST_CASE("parallel_for chunks depend only on n, grain and pool size") {
  fh::ThreadPool pool(4);
  auto chunks = [&] {
    std::vector<std::pair<int64_t, int64_t>> seen(4, {-1, -1});
    std::atomic<int> count{0};
    pool.parallel_for(1000, 1, [&](int64_t b, int64_t e) { seen[static_cast<size_t>(count++)] = {b, e}; });
    std::sort(seen.begin(), seen.end());
    return seen;
  };
  const auto first = chunks();
  for (int i = 0; i < 20; ++i) CHECK(chunks() == first);
  CHECK(first[0] == std::pair<int64_t, int64_t>{0, 250});
}

TEST_CASE("a stream of short jobs on more threads than cores: each chunk runs once, whichever thread claims it") {
  // Threads claim chunks at run time, so a worker still asleep from one job may wake during
  // the next: it must never run a chunk of a job it was not woken for, nor one twice.
  fh::ThreadPool pool(6);
  std::vector<int> hits(64, 0);
  std::atomic<int64_t> chunks_run{0};
  for (int job = 0; job < 20000; ++job) {
    const int64_t n = 1 + job % 64;
    pool.parallel_for(n, 1, [&](int64_t b, int64_t e) {
      ++chunks_run;
      for (int64_t i = b; i < e; ++i) ++hits[static_cast<size_t>(i)];
    });
    for (int64_t i = 0; i < n; ++i) {
      REQUIRE(hits[static_cast<size_t>(i)] == 1);
      hits[static_cast<size_t>(i)] = 0;
    }
  }
  // Jobs of n items run min(6, n) chunks.
  int64_t expected = 0;
  for (int job = 0; job < 20000; ++job) expected += std::min<int64_t>(6, 1 + job % 64);
  CHECK(chunks_run == expected);
}

TEST_CASE("exceptions from a chunk reach the caller, and nested loops run") {
  fh::ThreadPool pool(3);
  CHECK_THROWS_AS(pool.parallel_for(100, 1,
                                    [](int64_t b, int64_t) {
                                      if (b > 0) throw std::runtime_error("chunk failed");
                                    }),
                  std::runtime_error);
  std::atomic<int64_t> total{0};
  pool.parallel_for(10, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      pool.parallel_for(10, 1, [&](int64_t b2, int64_t e2) { total += e2 - b2; });
  });
  CHECK(total == 100);
}

TEST_CASE("the process pool can be resized") {
  const int before = fh::num_threads();
  fh::set_num_threads(3);
  CHECK(fh::num_threads() == 3);
  CHECK(fh::num_threads_source() == "set_num_threads(3)");
  fh::set_num_threads(before);
}
