// A progress bar for long work: "label [#####.....] 512/1000 51% 38.2 frames/s ETA 0:12".
// Redrawn in place on a terminal at most ten times a second; when stderr is not a terminal
// (logs, CI) it prints a plain line every 10% instead, so logs stay readable.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace fh {

class ProgressBar {
 public:
  // `done`: work already finished before this bar started (a resumed run); the rate and
  // ETA count only what this bar sees.
  ProgressBar(std::string label, int64_t total, std::string unit = "items", int64_t done = 0);
  ~ProgressBar();  // finishes the line if finish() was not called

  void advance(int64_t n = 1);  // not thread-safe: call from one thread
  void finish();
  // A short text shown after the ETA (e.g. the current loss terms).
  void set_status(std::string status) { status_ = std::move(status); }
  double rate() const;  // units per second so far

 private:
  void draw(bool final_line);
  std::string label_, unit_, status_;
  int64_t total_, done_ = 0, initial_ = 0;
  int last_decile_ = -1;
  bool tty_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace fh
