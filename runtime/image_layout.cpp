#include "runtime/image_layout.h"

#include <algorithm>

#include "runtime/error.h"

namespace fh {

Image upscale(const Image& img, int factor) {
  if (factor <= 1) return img;
  Image out(img.width * factor, img.height * factor, img.channels);
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x) std::copy_n(img.at(x / factor, y / factor), img.channels, out.at(x, y));
  return out;
}

Image tile_rows(const std::vector<std::vector<Image>>& rows, int gap) {
  FH_CHECK(!rows.empty() && !rows[0].empty(), "tile_rows", "nothing to lay out");
  const int tw = rows[0][0].width, th = rows[0][0].height;
  size_t cols = 0;
  for (const auto& r : rows) cols = std::max(cols, r.size());
  Image sheet(static_cast<int>(cols) * (tw + gap) + gap, static_cast<int>(rows.size()) * (th + gap) + gap, 3);
  std::fill(sheet.pixels.begin(), sheet.pixels.end(), 255);
  for (size_t r = 0; r < rows.size(); ++r)
    for (size_t c = 0; c < rows[r].size(); ++c) {
      const Image& t = rows[r][c];
      FH_CHECK(t.width == tw && t.height == th && t.channels >= 1, "tile_rows", "tile (", r, ", ", c, ") is ", t.width,
               "x", t.height, ", not ", tw, "x", th);
      const int x0 = gap + static_cast<int>(c) * (tw + gap), y0 = gap + static_cast<int>(r) * (th + gap);
      for (int y = 0; y < th; ++y)
        for (int x = 0; x < tw; ++x)
          for (int k = 0; k < 3; ++k) sheet.at(x0 + x, y0 + y)[k] = t.at(x, y)[t.channels >= 3 ? k : 0];
    }
  return sheet;
}

}  // namespace fh
