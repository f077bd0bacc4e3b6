#include "train/curves.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "data/draw.h"
#include "runtime/error.h"
#include "io/text.h"
#include "weights/json.h"

namespace fs = std::filesystem;

namespace fh::train {

namespace {


using Rgb = std::array<uint8_t, 3>;

void put(Image& img, int x, int y, const Rgb& c, double alpha = 1.0) {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  uint8_t* p = img.at(x, y);
  for (int k = 0; k < 3; ++k) p[k] = static_cast<uint8_t>(std::lround(p[k] * (1 - alpha) + c[k] * alpha));
}

std::string number(double v) {
  char buf[32];
  const double a = std::abs(v);
  if (v == 0)
    return "0";
  else if (a >= 1e4 || a < 1e-2)
    std::snprintf(buf, sizeof buf, "%.2e", v);
  else
    std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::vector<std::pair<double, double>> moving_average(const std::vector<std::pair<double, double>>& p, size_t window) {
  std::vector<std::pair<double, double>> out;
  double sum = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    sum += p[i].second;
    if (i >= window) sum -= p[i - window].second;
    out.emplace_back(p[i].first, sum / static_cast<double>(std::min(i + 1, window)));
  }
  return out;
}

void draw_panel(Image& img, int x0, int y0, int w, int h, const Series& s) {
  constexpr Rgb kInk = {40, 40, 40}, kFaint = {150, 180, 230}, kLine = {20, 70, 170}, kFrame = {190, 190, 190};
  draw_text(img, x0 + 4, y0 + 3, s.name, kInk, 1);
  const int px = x0 + 4, py = y0 + 14, pw = w - 8, ph = h - 28;
  for (int x = px; x <= px + pw; ++x) put(img, x, py, kFrame), put(img, x, py + ph, kFrame);
  for (int y = py; y <= py + ph; ++y) put(img, px, y, kFrame), put(img, px + pw, y, kFrame);
  if (s.points.empty()) return;
  double lo = s.points[0].second, hi = lo, x_lo = s.points.front().first, x_hi = s.points.back().first;
  for (const auto& [x, v] : s.points) lo = std::min(lo, v), hi = std::max(hi, v), x_lo = std::min(x_lo, x),
                                      x_hi = std::max(x_hi, x);
  const bool log_scale = lo > 0 && hi / lo > 20;
  auto fy = [&](double v) { return log_scale ? std::log10(v) : v; };
  double a = fy(lo), b = fy(hi);
  if (b - a < 1e-12) a -= 0.5, b += 0.5;
  if (x_hi - x_lo < 1e-12) x_hi = x_lo + 1;
  auto to_px = [&](double x, double v) {
    return std::array<double, 2>{px + (x - x_lo) / (x_hi - x_lo) * pw, py + ph - (fy(v) - a) / (b - a) * ph};
  };
  const bool smooth = s.points.size() > 20;
  auto polyline = [&](const std::vector<std::pair<double, double>>& p, const Rgb& c, double width) {
    for (size_t i = 1; i < p.size(); ++i) {
      const auto q0 = to_px(p[i - 1].first, p[i - 1].second), q1 = to_px(p[i].first, p[i].second);
      data::draw_segment(img, q0[0], q0[1], q1[0], q1[1], width, c);
    }
    if (p.size() == 1) {
      const auto q = to_px(p[0].first, p[0].second);
      data::draw_disc(img, q[0], q[1], 2, c);
    }
  };
  polyline(s.points, smooth ? kFaint : kLine, 1.0);
  if (smooth) polyline(moving_average(s.points, std::max<size_t>(5, s.points.size() / 25)), kLine, 1.5);
  draw_text(img, px + 2, py + 2, number(hi), kInk);
  draw_text(img, px + 2, py + ph - 9, number(lo) + (log_scale ? " (log)" : ""), kInk);
  const std::string last = "last " + number(s.points.back().second) + " @ " + number(x_hi);
  draw_text(img, px + pw - 6 * static_cast<int>(last.size()), py + ph + 4, last, kInk);
}

std::vector<json::Value> read_jsonl(const std::string& path) {
  std::vector<json::Value> out;
  std::ifstream f(path);
  std::string line;
  int n = 0;
  while (std::getline(f, line)) {
    ++n;
    if (line.empty()) continue;
    try {
      out.push_back(json::parse(line, path + ":" + std::to_string(n)));
    } catch (const Error&) {
      // A line cut short by a crash: the curves skip it.
    }
  }
  return out;
}

void collect(const std::vector<json::Value>& lines, const char* field, const std::string& prefix,
             std::vector<Series>& out) {
  std::map<std::string, size_t> index;
  for (const auto& l : lines) {
    const json::Value* step = l.find("step");
    const json::Value* terms = l.find(field);
    if (!step || !terms || !terms->is_object()) continue;
    for (const auto& [k, v] : terms->as_object(field)) {
      if (!v.is_number()) continue;
      auto it = index.find(k);
      if (it == index.end()) {
        it = index.emplace(k, out.size()).first;
        out.push_back({prefix + k, {}});
      }
      out[it->second].points.emplace_back(step->as_double("step"), v.as_double(k));
    }
  }
}

}  // namespace


Image plot_panels(const std::vector<Series>& series, int columns) {
  constexpr int kW = 300, kH = 170;
  const int n = static_cast<int>(series.size());
  const int cols = std::max(1, std::min(columns, n)), rows = std::max(1, (n + cols - 1) / cols);
  Image img(cols * kW, rows * kH, 3);
  std::fill(img.pixels.begin(), img.pixels.end(), 255);
  for (int i = 0; i < n; ++i) draw_panel(img, (i % cols) * kW, (i / cols) * kH, kW, kH, series[static_cast<size_t>(i)]);
  return img;
}

void write_curves(const std::string& run_dir) {
  std::vector<Series> series;
  collect(read_jsonl((fs::path(run_dir) / "log.jsonl").string()), "terms", "train ", series);
  std::vector<Series> val;
  collect(read_jsonl((fs::path(run_dir) / "validation.jsonl").string()), "metrics", "val ", val);
  auto ends_with = [](const std::string& s, const std::string& end) {
    return s.size() >= end.size() && s.compare(s.size() - end.size(), end.size(), end) == 0;
  };
  for (auto& s : val)  // counts of held-out items are not curves
    if (!ends_with(s.name, "images") && !ends_with(s.name, "eyes")) series.push_back(std::move(s));
  if (series.empty()) return;
  write_png((fs::path(run_dir) / "curves.png").string(), plot_panels(series));
}

}  // namespace fh::train
