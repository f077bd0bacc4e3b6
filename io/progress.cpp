#include "io/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace fh {

namespace {

std::string clock_text(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  return buf;
}

}  // namespace

ProgressBar::ProgressBar(std::string label, int64_t total, std::string unit, int64_t done)
    : label_(std::move(label)), unit_(std::move(unit)), total_(std::max<int64_t>(total, 0)),
      done_(std::clamp<int64_t>(done, 0, total_)), initial_(done_),
      tty_(::isatty(STDERR_FILENO) != 0), start_(std::chrono::steady_clock::now()), last_draw_(start_) {
  draw(false);
}

ProgressBar::~ProgressBar() {
  if (!finished_) finish();
}

double ProgressBar::rate() const {
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  return secs > 0 ? (done_ - initial_) / secs : 0.0;
}

void ProgressBar::advance(int64_t n) {
  done_ = std::min(total_, done_ + n);
  // A terminal is redrawn at most ten times a second; a log gets a line per decile, which
  // draw() decides.
  const auto now = std::chrono::steady_clock::now();
  if (!tty_ || now - last_draw_ >= std::chrono::milliseconds(100)) {
    last_draw_ = now;
    draw(false);
  }
}

void ProgressBar::finish() {
  finished_ = true;
  draw(true);
}

void ProgressBar::draw(bool final_line) {
  const double frac = total_ ? static_cast<double>(done_) / total_ : 1.0;
  const int decile = static_cast<int>(frac * 10);
  if (!tty_ && !final_line && decile == last_decile_) return;
  const double r = rate();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const std::string eta = final_line ? "took " + clock_text(elapsed)
                                     : (r > 0 ? "ETA " + clock_text((total_ - done_) / r) : "ETA --:--");
  if (!tty_) {
    last_decile_ = decile;
    std::fprintf(stderr, "%s %lld/%lld %3.0f%% %.2f %s/s %s%s%s\n", label_.c_str(), static_cast<long long>(done_),
                 static_cast<long long>(total_), 100 * frac, r, unit_.c_str(), eta.c_str(), status_.empty() ? "" : "  ",
                 status_.c_str());
    return;
  }
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(frac * kWidth);
  std::string bar(filled, '#');
  bar.append(kWidth - filled, '.');
  std::fprintf(stderr, "\r%s [%s] %lld/%lld %3.0f%% %.2f %s/s %s%s%s\033[K%s", label_.c_str(), bar.c_str(),
               static_cast<long long>(done_), static_cast<long long>(total_), 100 * frac, r, unit_.c_str(),
               eta.c_str(), status_.empty() ? "" : "  ", status_.c_str(), final_line ? "\n" : "");
  std::fflush(stderr);
}

}  // namespace fh
