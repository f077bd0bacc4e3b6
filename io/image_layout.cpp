#include "io/image_layout.h"

#include <algorithm>
#include <cmath>

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

Image flow_image(const Tensor& flows, int64_t b, double max_magnitude) {
  const Tensor host = flows.detach().to(Device::cpu()).to(DType::F32);
  const int64_t h = host.size(1), w = host.size(2);
  const float* p = host.data<float>() + b * h * w * 2;
  double m = max_magnitude;
  if (m <= 0)
    for (int64_t i = 0; i < h * w; ++i) m = std::max(m, std::hypot(double(p[2 * i]), double(p[2 * i + 1])));
  if (m <= 0) m = 1;
  Image img(static_cast<int>(w), static_cast<int>(h), 3);
  for (int64_t i = 0; i < h * w; ++i) {
    const double dx = p[2 * i], dy = p[2 * i + 1];
    const double sat = std::min(1.0, std::hypot(dx, dy) / m);
    const double hue = (std::atan2(dy, dx) + M_PI) / (2 * M_PI) * 6;  // 0..6
    const int sector = static_cast<int>(hue) % 6;
    const double f = hue - std::floor(hue);
    double rgb[3];
    const double q = 1 - f, t = f;
    switch (sector) {
      case 0: rgb[0] = 1, rgb[1] = t, rgb[2] = 0; break;
      case 1: rgb[0] = q, rgb[1] = 1, rgb[2] = 0; break;
      case 2: rgb[0] = 0, rgb[1] = 1, rgb[2] = t; break;
      case 3: rgb[0] = 0, rgb[1] = q, rgb[2] = 1; break;
      case 4: rgb[0] = t, rgb[1] = 0, rgb[2] = 1; break;
      default: rgb[0] = 1, rgb[1] = 0, rgb[2] = q; break;
    }
    for (int k = 0; k < 3; ++k)  // white at zero flow, the hue at full magnitude
      img.pixels[static_cast<size_t>(i * 3 + k)] = static_cast<uint8_t>(std::lround(255 * (1 - sat + sat * rgb[k])));
  }
  return img;
}

}  // namespace fh
