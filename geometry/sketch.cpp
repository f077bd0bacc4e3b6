#include "geometry/sketch.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "geometry/tensor_checks.h"
#include "runtime/thread_pool.h"

namespace fh::geometry {

using detail::check_keypoints;

std::array<float, 3> gaze_colour(const GazeAngles& gaze) {
  const double limit = deg_to_rad(45.0);
  const double r = 0.5 + 0.5 * std::clamp(gaze.theta / limit, -1.0, 1.0);
  const double g = 0.5 + 0.5 * std::clamp(gaze.phi / limit, -1.0, 1.0);
  return {static_cast<float>(r), static_cast<float>(g), 0.0f};
}

namespace {

using Point = Eigen::Vector2d;

// A pixel box [x0, x1] × [y0, y1] (inclusive) clipped to the image; empty when x0 > x1 or y0 > y1.
struct PixelBox {
  int64_t x0, x1, y0, y1;
  bool empty() const { return x0 > x1 || y0 > y1; }
};

PixelBox clipped_box(double lo_x, double hi_x, double lo_y, double hi_y, int64_t size) {
  const double last = static_cast<double>(size - 1);
  // Clamp before converting so that far-away points cannot overflow the integers.
  auto lo = [&](double v) { return static_cast<int64_t>(std::ceil(std::clamp(v, -1.0, last + 1.0))); };
  auto hi = [&](double v) { return static_cast<int64_t>(std::floor(std::clamp(v, -1.0, last + 1.0))); };
  return {std::max<int64_t>(0, lo(lo_x)), std::min<int64_t>(size - 1, hi(hi_x)), std::max<int64_t>(0, lo(lo_y)),
          std::min<int64_t>(size - 1, hi(hi_y))};
}

// Fills the pixels whose centres lie inside the polygon (even-odd rule, half-open edges).
void fill_polygon(const Point* poly, int n, const std::array<float, 3>& colour, int64_t size, float* out) {
  double lo_x = poly[0].x(), hi_x = lo_x, lo_y = poly[0].y(), hi_y = lo_y;
  for (int i = 1; i < n; ++i) {
    lo_x = std::min(lo_x, poly[i].x()), hi_x = std::max(hi_x, poly[i].x());
    lo_y = std::min(lo_y, poly[i].y()), hi_y = std::max(hi_y, poly[i].y());
  }
  const PixelBox box = clipped_box(lo_x, hi_x, lo_y, hi_y, size);
  if (box.empty()) return;
  double crossings[kNumKeypoints];
  for (int64_t v = box.y0; v <= box.y1; ++v) {
    const double y = static_cast<double>(v);
    int count = 0;
    for (int i = 0; i < n; ++i) {
      const Point& a = poly[i];
      const Point& b = poly[(i + 1) % n];
      if ((a.y() <= y) != (b.y() <= y)) crossings[count++] = a.x() + (y - a.y()) * (b.x() - a.x()) / (b.y() - a.y());
    }
    std::sort(crossings, crossings + count);
    for (int k = 0; k + 1 < count; k += 2) {
      const int64_t u0 = std::max<int64_t>(box.x0, static_cast<int64_t>(std::ceil(crossings[k])));
      const int64_t u1 = std::min<int64_t>(box.x1, static_cast<int64_t>(std::ceil(crossings[k + 1])) - 1);
      float* row = out + (v * size) * 3;
      for (int64_t u = u0; u <= u1; ++u) std::memcpy(row + 3 * u, colour.data(), 3 * sizeof(float));
    }
  }
}

// Raises `alpha` to the coverage of one segment of a line of width `width` wherever it is
// higher; grows `touched` to the pixels it visited.
void cover_segment(const Point& a, const Point& b, double width, int64_t size, float* alpha, PixelBox& touched) {
  const double reach = 0.5 * width + 0.5;  // coverage is zero beyond this distance
  const PixelBox box = clipped_box(std::min(a.x(), b.x()) - reach, std::max(a.x(), b.x()) + reach,
                                   std::min(a.y(), b.y()) - reach, std::max(a.y(), b.y()) + reach, size);
  if (box.empty()) return;
  touched = {std::min(touched.x0, box.x0), std::max(touched.x1, box.x1), std::min(touched.y0, box.y0),
             std::max(touched.y1, box.y1)};
  const Point ab = b - a;
  const double len2 = ab.squaredNorm();
  const double inv_len2 = len2 > 0 ? 1.0 / len2 : 0.0;
  for (int64_t v = box.y0; v <= box.y1; ++v) {
    float* row = alpha + v * size;
    const double py = static_cast<double>(v) - a.y();
    for (int64_t u = box.x0; u <= box.x1; ++u) {
      const double px = static_cast<double>(u) - a.x();
      // Nearest point of the segment: a + t·ab, t clamped to [0, 1].
      const double t = std::clamp((px * ab.x() + py * ab.y()) * inv_len2, 0.0, 1.0);
      const double dx = px - t * ab.x(), dy = py - t * ab.y();
      const double coverage = reach - std::sqrt(dx * dx + dy * dy);
      if (coverage > 0) row[u] = std::max(row[u], static_cast<float>(std::min(coverage, 1.0)));
    }
  }
}

}  // namespace

void draw_sketch(const SketchInput& input, int64_t size, float* out) {
  FH_CHECK(size >= 2, "draw_sketch", "sketch size ", size, " must be at least 2");
  std::array<Point, kNumKeypoints> px;
  const double half = 0.5 * static_cast<double>(size - 1);
  for (int i = 0; i < kNumKeypoints; ++i) {
    FH_CHECK(std::isfinite(input.points[i].x()) && std::isfinite(input.points[i].y()), "draw_sketch", "key-point ", i,
             " is not finite: (", input.points[i].x(), ", ", input.points[i].y(), ")");
    px[i] = (input.points[i].array() + 1.0) * half;
  }
  for (const GazeAngles& g : input.gaze)
    FH_CHECK(std::isfinite(g.theta) && std::isfinite(g.phi), "draw_sketch", "gaze angles (", g.theta, ", ", g.phi,
             ") are not finite");

  const int64_t pixels = size * size;
  std::memset(out, 0, static_cast<size_t>(pixels) * 3 * sizeof(float));
  fill_polygon(px.data() + kRightEye.first, 6, gaze_colour(input.gaze[0]), size, out);
  fill_polygon(px.data() + kLeftEye.first, 6, gaze_colour(input.gaze[1]), size, out);

  thread_local std::vector<float> alpha;
  alpha.assign(static_cast<size_t>(pixels), 0.0f);
  const double width = sketch_line_width(size);
  PixelBox touched{size, -1, size, -1};
  for (const PointRange& line : kSketchPolylines) {
    for (int i = line.first; i < line.last; ++i) cover_segment(px[i], px[i + 1], width, size, alpha.data(), touched);
    if (line.closed) cover_segment(px[line.last], px[line.first], width, size, alpha.data(), touched);
  }
  for (int64_t v = touched.y0; v <= touched.y1; ++v) {
    for (int64_t u = touched.x0; u <= touched.x1; ++u) {
      const float a = alpha[v * size + u];
      if (a == 0.0f) continue;
      float* c = out + (v * size + u) * 3;
      for (int k = 0; k < 3; ++k) c[k] = c[k] * (1.0f - a) + a;
    }
  }
}

namespace {

Tensor draw_batch(const Tensor& points, const std::vector<GazeAngles>& gaze, int64_t size) {
  const int64_t batch = points.size(0), dims = points.size(2);
  const std::vector<double> p = points.to_vector<double>();
  Tensor out = Tensor::empty({batch, size, size, 3});
  float* data = out.data<float>();
  parallel_for(batch, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      SketchInput in;
      for (int i = 0; i < kNumKeypoints; ++i) {
        const double* q = p.data() + (b * kNumKeypoints + i) * dims;
        in.points[i] = Point(q[0], q[1]);
      }
      in.gaze = {gaze[2 * b], gaze[2 * b + 1]};
      draw_sketch(in, size, data + b * size * size * 3);
    }
  });
  return out;
}

}  // namespace

Tensor draw_sketches(const Tensor& points, const Tensor& gaze, int64_t size) {
  const char* op = "draw_sketches";
  check_keypoints(points, op);
  FH_CHECK(
      gaze.defined() && gaze.dim() == 3 && gaze.size(0) == points.size(0) && gaze.size(1) == 2 && gaze.size(2) == 3, op,
      "gaze ", gaze.defined() ? gaze.shape().str() : "undefined", " must be [", points.size(0), ", 2, 3]");
  FH_CHECK(size >= 2, op, "sketch size ", size, " must be at least 2");
  const std::vector<double> g = gaze.to_vector<double>();
  std::vector<GazeAngles> angles(g.size() / 3);
  for (size_t e = 0; e < angles.size(); ++e) {
    const Eigen::Vector3d v(g[3 * e], g[3 * e + 1], g[3 * e + 2]);
    FH_CHECK(std::isfinite(v.squaredNorm()) && v.squaredNorm() > 0, op, "gaze vector of image ", e / 2, " eye ", e % 2,
             " (", v.x(), ", ", v.y(), ", ", v.z(), ") is zero or not finite");
    angles[e] = angles_from_gaze(v);
  }
  return draw_batch(points, angles, size);
}

Tensor draw_sketches_from_angles(const Tensor& points, const Tensor& gaze_angles, int64_t size) {
  const char* op = "draw_sketches_from_angles";
  check_keypoints(points, op);
  FH_CHECK(gaze_angles.defined() && gaze_angles.dim() == 3 && gaze_angles.size(0) == points.size(0) &&
               gaze_angles.size(1) == 2 && gaze_angles.size(2) == 2,
           op, "gaze_angles ", gaze_angles.defined() ? gaze_angles.shape().str() : "undefined", " must be [",
           points.size(0), ", 2, 2]");
  FH_CHECK(size >= 2, op, "sketch size ", size, " must be at least 2");
  const std::vector<double> a = gaze_angles.to_vector<double>();
  std::vector<GazeAngles> angles(a.size() / 2);
  for (size_t e = 0; e < angles.size(); ++e) angles[e] = {a[2 * e], a[2 * e + 1]};
  return draw_batch(points, angles, size);
}

}  // namespace fh::geometry
