#include "data/draw.h"

#include <algorithm>
#include <cmath>

#include "geometry/conventions.h"
#include "runtime/error.h"

namespace fh::data {

namespace {

void blend(Image& img, int x, int y, const Rgb& c, double alpha) {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height || alpha <= 0) return;
  uint8_t* p = img.at(x, y);
  for (int i = 0; i < 3; ++i) p[i] = static_cast<uint8_t>(std::lround(p[i] + (c[i] - p[i]) * std::min(1.0, alpha)));
}

double distance_to_segment(double px, double py, double x0, double y0, double x1, double y1) {
  const double dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
  const double t = len2 > 0 ? std::clamp(((px - x0) * dx + (py - y0) * dy) / len2, 0.0, 1.0) : 0.0;
  return std::hypot(px - (x0 + t * dx), py - (y0 + t * dy));
}

Rgb group_colour(int k) {
  if (k <= 16) return {255, 220, 60};    // jaw
  if (k <= 26) return {255, 120, 40};    // brows
  if (k <= 35) return {80, 220, 255};    // nose
  if (k <= 47) return {90, 255, 120};    // eyes
  return {255, 70, 160};                 // lips
}

}  // namespace

void draw_disc(Image& img, double x, double y, double r, const Rgb& colour, double opacity) {
  const int x0 = static_cast<int>(std::floor(x - r - 1)), x1 = static_cast<int>(std::ceil(x + r + 1));
  const int y0 = static_cast<int>(std::floor(y - r - 1)), y1 = static_cast<int>(std::ceil(y + r + 1));
  for (int py = y0; py <= y1; ++py)
    for (int px = x0; px <= x1; ++px)
      blend(img, px, py, colour, opacity * std::clamp(r + 0.5 - std::hypot(px - x, py - y), 0.0, 1.0));
}

void draw_segment(Image& img, double x0, double y0, double x1, double y1, double width, const Rgb& colour,
                  double opacity) {
  const double h = 0.5 * width;
  const int bx0 = static_cast<int>(std::floor(std::min(x0, x1) - h - 1)), bx1 = static_cast<int>(std::ceil(std::max(x0, x1) + h + 1));
  const int by0 = static_cast<int>(std::floor(std::min(y0, y1) - h - 1)), by1 = static_cast<int>(std::ceil(std::max(y0, y1) + h + 1));
  for (int py = std::max(by0, 0); py <= std::min(by1, img.height - 1); ++py)
    for (int px = std::max(bx0, 0); px <= std::min(bx1, img.width - 1); ++px)
      blend(img, px, py, colour, opacity * std::clamp(h + 0.5 - distance_to_segment(px, py, x0, y0, x1, y1), 0.0, 1.0));
}

void draw_arrow(Image& img, double x0, double y0, double x1, double y1, double width, const Rgb& colour) {
  draw_segment(img, x0, y0, x1, y1, width, colour);
  const double dx = x1 - x0, dy = y1 - y0, len = std::hypot(dx, dy);
  if (len < 1e-6) return;
  const double ux = dx / len, uy = dy / len, head = std::min(len * 0.45, 3.0 + 2.5 * width);
  for (double s : {-1.0, 1.0}) {
    const double ax = x1 - head * (ux * 0.866 - s * uy * 0.5), ay = y1 - head * (uy * 0.866 + s * ux * 0.5);
    draw_segment(img, x1, y1, ax, ay, width, colour);
  }
}

void draw_annotation(Image& img, const FrameAnnotation& a) {
  const int size = img.width;
  const double scale = 0.5 * (size - 1);
  auto px = [&](int k) { return (a.keypoints[k][0] + 1.0) * scale; };
  auto py = [&](int k) { return (a.keypoints[k][1] + 1.0) * scale; };
  const double line = std::max(1.0, size / 256.0);
  for (const auto& g : geometry::kSketchPolylines) {
    for (int k = g.first; k < g.last; ++k) draw_segment(img, px(k), py(k), px(k + 1), py(k + 1), line * 0.6, group_colour(k), 0.6);
    if (g.closed) draw_segment(img, px(g.last), py(g.last), px(g.first), py(g.first), line * 0.6, group_colour(g.first), 0.6);
  }
  for (int k = 0; k < 68; ++k) draw_disc(img, px(k), py(k), 0.9 * line + 0.4, group_colour(k));
  for (int e = 0; e < 2; ++e) {
    // The iris centre: the eyeball's centre plus cos 45° of its radius along the gaze.
    const auto& b = a.eyeball[e];
    const auto& g = a.gaze[e];
    const double ix = (b[0] + b[3] * 0.7071 * g[0] + 1.0) * scale, iy = (b[1] + b[3] * 0.7071 * g[1] + 1.0) * scale;
    const double len = 0.35 * size;
    draw_arrow(img, ix, iy, ix + len * g[0], iy + len * g[1], 1.3 * line, {255, 40, 40});
  }
}

void paste(Image& sheet, const Image& tile, int x, int y) {
  FH_CHECK(tile.channels == sheet.channels, "paste", "channel counts differ: ", tile.channels, " vs ", sheet.channels);
  for (int ty = 0; ty < tile.height; ++ty) {
    if (y + ty < 0 || y + ty >= sheet.height) continue;
    for (int tx = 0; tx < tile.width; ++tx) {
      if (x + tx < 0 || x + tx >= sheet.width) continue;
      std::copy(tile.at(tx, ty), tile.at(tx, ty) + tile.channels, sheet.at(x + tx, y + ty));
    }
  }
}

}  // namespace fh::data
