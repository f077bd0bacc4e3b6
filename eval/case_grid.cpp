#include "eval/case_grid.h"

#include <algorithm>
#include <cstdio>

#include "runtime/error.h"
#include "io/image_layout.h"
#include "io/text.h"

namespace fh::eval {

namespace {

using Entry = std::pair<Case, int64_t>;
bool better(const Entry& a, const Entry& b) { return a.first.score != b.first.score ? a.first.score > b.first.score : a.second < b.second; }
bool worse(const Entry& a, const Entry& b) { return a.first.score != b.first.score ? a.first.score < b.first.score : a.second < b.second; }

void fill(Image& img, int x0, int y0, int w, int h, uint8_t v) {
  for (int y = std::max(0, y0); y < std::min(img.height, y0 + h); ++y)
    for (int x = std::max(0, x0); x < std::min(img.width, x0 + w); ++x)
      for (int c = 0; c < img.channels; ++c) img.at(x, y)[c] = v;
}

void paste(Image& dst, const Image& src, int x0, int y0) {
  FH_CHECK(src.channels == 3 || src.channels == 1, "case grid", "a picture of ", src.channels, " channels");
  for (int y = 0; y < src.height; ++y)
    for (int x = 0; x < src.width; ++x)
      for (int c = 0; c < 3; ++c) dst.at(x0 + x, y0 + y)[c] = src.at(x, y)[src.channels == 3 ? c : 0];
}

}  // namespace

void CaseKeeper::offer(Case c) {
  const int64_t order = offered_++;
  if (k_ <= 0) return;
  auto keep = [&](std::vector<Entry>& v, bool (*cmp)(const Entry&, const Entry&)) {
    v.emplace_back(c, order);
    std::stable_sort(v.begin(), v.end(), cmp);
    if (v.size() > static_cast<size_t>(k_)) v.pop_back();
  };
  keep(best_, better);
  keep(worst_, worse);
}

std::vector<Case> CaseKeeper::cases() const {
  std::vector<Case> out;
  std::vector<int64_t> taken;
  for (const Entry& e : best_) {
    out.push_back(e.first);
    taken.push_back(e.second);
  }
  // The worst in reverse so the grid runs from best to worst; a case already shown as one of
  // the best (fewer than 2k cases) is not repeated.
  for (auto it = worst_.rbegin(); it != worst_.rend(); ++it)
    if (std::find(taken.begin(), taken.end(), it->second) == taken.end()) out.push_back(it->first);
  return out;
}

Image case_grid(const std::vector<Case>& cases, const std::vector<std::string>& titles) {
  if (cases.empty()) return Image(1, 1, 3);
  const Image& first = cases.front().images.front();
  const int factor = std::max(1, (128 + first.width - 1) / first.width);
  const int tile = first.width * factor, gap = 4, label_w = 84, header = 16;
  const int cols = static_cast<int>(titles.size()), rows = static_cast<int>(cases.size());
  Image out(label_w + cols * (tile + gap) + gap, header + rows * (tile + gap) + gap, 3);
  fill(out, 0, 0, out.width, out.height, 255);
  const std::array<uint8_t, 3> ink{30, 30, 30};
  for (int c = 0; c < cols; ++c) {
    const std::string& t = titles[static_cast<size_t>(c)];
    draw_text(out, label_w + gap + c * (tile + gap) + (tile - text_width(t)) / 2, 4, t, ink);
  }
  const size_t n_best = (cases.size() + 1) / 2;
  for (int r = 0; r < rows; ++r) {
    const Case& k = cases[static_cast<size_t>(r)];
    FH_CHECK(k.images.size() == titles.size(), "case grid", "a case of ", k.images.size(), " pictures for ", cols,
             " columns");
    const int y = header + r * (tile + gap);
    const bool best = static_cast<size_t>(r) < n_best;
    const int rank = best ? r + 1 : rows - r;
    char score[32];
    std::snprintf(score, sizeof score, "%.2f db", k.score);
    draw_text(out, 4, y + tile / 2 - 9, (best ? "best " : "worst ") + std::to_string(rank), ink);
    draw_text(out, 4, y + tile / 2 + 2, score, ink);
    for (int c = 0; c < cols; ++c)
      paste(out, upscale(k.images[static_cast<size_t>(c)], factor), label_w + gap + c * (tile + gap), y);
  }
  return out;
}

}  // namespace fh::eval
