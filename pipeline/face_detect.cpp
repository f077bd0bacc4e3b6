#include "pipeline/face_detect.h"

#include <algorithm>
#include <cmath>

#include "runtime/error.h"

#if FH_WITH_DLIB
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_transforms.h>
#endif

namespace fh::pipeline {

#if FH_WITH_DLIB

bool face_detection_supported() { return true; }
std::string face_detection_note() { return "dlib's frontal face detector"; }

std::vector<FaceBox> detect_faces(const Image& image, const std::string& what) {
  FH_CHECK(image.width > 0 && image.height > 0 && image.channels >= 1, "face", what, " is empty");
  // The detector's window is 80 pixels: every picture is searched at about 1000 pixels on its
  // longer side (a phone photo shrunk, a small picture enlarged up to twice), so faces of
  // about 8% of the longer side and more are found, and a frame takes a bounded time.
  const int longer = std::max(image.width, image.height);
  const double factor = std::min(2.0, 1000.0 / longer);
  const int w = std::max(1, static_cast<int>(std::lround(image.width * factor)));
  const int h = std::max(1, static_cast<int>(std::lround(image.height * factor)));
  // Grey levels, resampled by the mean over each output pixel's footprint (shrinking) or
  // bilinearly (growing).
  dlib::array2d<unsigned char> grey(h, w);
  const int c = image.channels;
  auto luma = [&](int x, int y) {
    const uint8_t* p = image.at(std::clamp(x, 0, image.width - 1), std::clamp(y, 0, image.height - 1));
    return c >= 3 ? 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2] : static_cast<double>(p[0]);
  };
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      double v = 0;
      if (factor < 1) {
        const int x0 = static_cast<int>(x / factor), x1 = std::max(x0 + 1, static_cast<int>((x + 1) / factor));
        const int y0 = static_cast<int>(y / factor), y1 = std::max(y0 + 1, static_cast<int>((y + 1) / factor));
        for (int yy = y0; yy < y1; ++yy)
          for (int xx = x0; xx < x1; ++xx) v += luma(xx, yy);
        v /= static_cast<double>((x1 - x0) * (y1 - y0));
      } else {
        const double fx = (x + 0.5) / factor - 0.5, fy = (y + 0.5) / factor - 0.5;
        const int ix = static_cast<int>(std::floor(fx)), iy = static_cast<int>(std::floor(fy));
        const double ax = fx - ix, ay = fy - iy;
        v = (luma(ix, iy) * (1 - ax) + luma(ix + 1, iy) * ax) * (1 - ay) +
            (luma(ix, iy + 1) * (1 - ax) + luma(ix + 1, iy + 1) * ax) * ay;
      }
      grey[y][x] = static_cast<unsigned char>(std::clamp(std::lround(v), 0L, 255L));
    }
  static thread_local dlib::frontal_face_detector detector = dlib::get_frontal_face_detector();
  std::vector<dlib::rect_detection> found;
  detector(grey, found, 0.0);
  std::vector<FaceBox> faces;
  for (const auto& d : found) {
    const dlib::rectangle& r = d.rect;
    faces.push_back({r.left() / factor, r.top() / factor, (r.right() - r.left() + 1) / factor,
                     (r.bottom() - r.top() + 1) / factor, d.detection_confidence});
  }
  std::stable_sort(faces.begin(), faces.end(), [](const FaceBox& a, const FaceBox& b) { return a.area() > b.area(); });
  return faces;
}

#else

bool face_detection_supported() { return false; }
std::string face_detection_note() { return "not built (dlib was not found or FH_DLIB=OFF)"; }

std::vector<FaceBox> detect_faces(const Image&, const std::string& what) {
  FH_FAIL("face", "finding the face in ", what,
          " needs face detection, and this freehead was built without dlib (configure with the Debian package "
          "libdlib-dev installed and FH_DLIB=ON); pass --no-crop if the pictures are already square face crops");
}

#endif

}  // namespace fh::pipeline
