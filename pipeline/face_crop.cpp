#include "pipeline/face_crop.h"

#include <algorithm>
#include <cmath>

#include "runtime/error.h"

namespace fh::pipeline {

CropBox crop_box(const FaceBox& face, const CropOptions& o) {
  const double side = o.scale * std::max(face.width, face.height);
  return {face.x + face.width / 2, face.y + face.height / 2 - o.shift * side, side};
}

CropBox find_face_crop(const Image& image, const CropOptions& o, const std::string& what) {
  const std::vector<FaceBox> faces = detect_faces(image, what);
  FH_CHECK(!faces.empty(), "face", "no face found in ", what,
           " (the detector finds upright frontal faces spanning about 8% of the picture's longer side or more); pass --no-crop "
           "if it is already a face crop");
  FH_CHECK(o.face >= 0 && o.face < static_cast<int>(faces.size()), "face", what, " has ", faces.size(),
           " face(s); --face ", o.face, " asks for face number ", o.face, " (0 = the largest)");
  return crop_box(faces[static_cast<size_t>(o.face)], o);
}

namespace {

// Bilinear sample of channel k at continuous pixel coordinates (centre of pixel i at i+0.5),
// edges repeated.
double sample(const Image& im, double x, double y, int k) {
  const double fx = x - 0.5, fy = y - 0.5;
  const int x0 = static_cast<int>(std::floor(fx)), y0 = static_cast<int>(std::floor(fy));
  const double ax = fx - x0, ay = fy - y0;
  const int c = im.channels, kk = c >= 3 ? k : 0;
  auto px = [&](int xx, int yy) {
    return static_cast<double>(im.at(std::clamp(xx, 0, im.width - 1), std::clamp(yy, 0, im.height - 1))[kk]);
  };
  return (px(x0, y0) * (1 - ax) + px(x0 + 1, y0) * ax) * (1 - ay) + (px(x0, y0 + 1) * (1 - ax) + px(x0 + 1, y0 + 1) * ax) * ay;
}

uint8_t to_byte(double v) { return static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L)); }

}  // namespace

Image crop_image(const Image& image, const CropBox& box, int size) {
  FH_CHECK(image.width > 0 && image.height > 0, "crop", "the picture is empty");
  FH_CHECK(box.side > 0 && size > 0, "crop", "a crop of side ", box.side, " to ", size, " pixels");
  const double step = box.side / size;
  const int n = std::clamp(static_cast<int>(std::ceil(step)), 1, 8);  // samples per output pixel and axis
  Image out(size, size, 3);
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x)
      for (int k = 0; k < 3; ++k) {
        double s = 0;
        for (int sy = 0; sy < n; ++sy)
          for (int sx = 0; sx < n; ++sx)
            s += sample(image, box.left() + (x + (sx + 0.5) / n) * step, box.top() + (y + (sy + 0.5) / n) * step, k);
        out.at(x, y)[k] = to_byte(s / (n * n));
      }
  return out;
}

Image resize_image(const Image& image, int width, int height) {
  FH_CHECK(image.width > 0 && image.height > 0 && width > 0 && height > 0, "resize", "cannot resize ", image.width, "x",
           image.height, " to ", width, "x", height);
  const double sx = static_cast<double>(image.width) / width, sy = static_cast<double>(image.height) / height;
  const int nx = std::clamp(static_cast<int>(std::ceil(sx)), 1, 8), ny = std::clamp(static_cast<int>(std::ceil(sy)), 1, 8);
  Image out(width, height, 3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int k = 0; k < 3; ++k) {
        double s = 0;
        for (int j = 0; j < ny; ++j)
          for (int i = 0; i < nx; ++i) s += sample(image, (x + (i + 0.5) / nx) * sx, (y + (j + 0.5) / ny) * sy, k);
        out.at(x, y)[k] = to_byte(s / (nx * ny));
      }
  return out;
}

int crop_size_for(const CropBox& box, int model_size) {
  const int factor = std::clamp(static_cast<int>(box.side / model_size), 1, 4);
  return model_size * factor;
}

void paste_back(Image& frame, const Image& crop, const CropBox& box, double feather) {
  FH_CHECK(crop.width == crop.height && crop.width > 0 && crop.channels >= 3, "paste", "the crop is ", crop.width, "x",
           crop.height, "x", crop.channels, ", not a square RGB picture");
  FH_CHECK(frame.channels >= 3, "paste", "the frame has ", frame.channels, " channel(s), not RGB");
  FH_CHECK(feather >= 0 && feather <= 0.5, "paste", "feather ", feather, " is outside [0, 0.5]");
  const double ramp = std::max(feather * box.side, 1e-9);
  // Pixels whose centres lie inside the box.
  const int x0 = std::max(0, static_cast<int>(std::ceil(box.left() - 0.5)));
  const int y0 = std::max(0, static_cast<int>(std::ceil(box.top() - 0.5)));
  const int x1 = std::min(frame.width - 1, static_cast<int>(std::floor(box.left() + box.side - 0.5)));
  const int y1 = std::min(frame.height - 1, static_cast<int>(std::floor(box.top() + box.side - 0.5)));
  const double to_crop = crop.width / box.side;
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) {
      const double px = x + 0.5 - box.left(), py = y + 0.5 - box.top();
      const double edge = std::min({px, py, box.side - px, box.side - py});
      if (edge < 0) continue;
      double a = std::clamp(edge / ramp, 0.0, 1.0);
      a = a * a * (3 - 2 * a);  // smoothstep: no visible seam where the ramp starts
      if (a <= 0) continue;
      uint8_t* p = frame.at(x, y);
      for (int k = 0; k < 3; ++k) {
        const double v = sample(crop, px * to_crop, py * to_crop, k);
        p[k] = to_byte(a * v + (1 - a) * p[k]);
      }
    }
}

CropBox FaceTracker::update(const Image& frame, const std::string& what) {
  ++frames_;
  const std::vector<FaceBox> faces = detect_faces(frame, what);
  if (faces.empty()) {
    ++missed_;
    if (!have_box_) {
      const double side = std::min(frame.width, frame.height);
      return {frame.width / 2.0, frame.height / 2.0, side};
    }
    return box_;
  }
  if (!have_box_) {
    const size_t pick = std::min(static_cast<size_t>(std::max(options_.face, 0)), faces.size() - 1);
    box_ = crop_box(faces[pick], options_);
    have_box_ = true;
    return box_;
  }
  CropBox nearest = crop_box(faces[0], options_);
  double best = 1e300;
  for (const FaceBox& f : faces) {
    const CropBox b = crop_box(f, options_);
    const double d = std::hypot(b.cx - box_.cx, b.cy - box_.cy);
    if (d < best) best = d, nearest = b;
  }
  const double a = std::clamp(options_.smoothing, 0.0, 1.0);
  box_.cx += a * (nearest.cx - box_.cx);
  box_.cy += a * (nearest.cy - box_.cy);
  box_.side += a * (nearest.side - box_.side);
  return box_;
}

}  // namespace fh::pipeline
