// Face detection, crops and paste-back on real photographs (pipeline/face_detect.h,
// pipeline/face_crop.h). The photographs come from Debian's python3-skimage (a test
// dependency; its sample images are BSD-licensed or public domain: the astronaut is NASA's
// portrait of Eileen Collins, the coffee cup has no face); a case prints "[fh skip]" when the
// package is missing.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <functional>

#include "harness/scratch.h"
#include "pipeline/face_crop.h"
#include "pipeline/face_detect.h"
#include "runtime/error.h"

using namespace fh;
using namespace fh::pipeline;

namespace {

using fh::test::error_of;

const char* const kSkimageData = "/usr/lib/python3/dist-packages/skimage/data/";

// A sample photograph of Debian's python3-skimage, or an empty image (the caller skips).
Image sample_photo(const std::string& name) {
  const std::string path = std::string(kSkimageData) + name;
  if (!std::filesystem::exists(path)) {
    MESSAGE("[fh skip] " << path << " is missing (Debian package python3-skimage)");
    return {};
  }
  return read_png(path, 3);
}

}  // namespace

TEST_CASE("face detection: finds the astronaut's face, and none in a coffee cup") {
  const Image astronaut = sample_photo("astronaut.png"), coffee = sample_photo("coffee.png");
  if (astronaut.width == 0 || coffee.width == 0) return;
  if (!face_detection_supported()) {
    CHECK(error_of([&] { detect_faces(astronaut, "astronaut.png"); }).find("built without dlib") != std::string::npos);
    return;
  }
  const std::vector<FaceBox> faces = detect_faces(astronaut, "astronaut.png");
  REQUIRE(faces.size() == 1);
  // Her face (measured on the picture by hand: eyes near y = 100, chin near y = 175, the face
  // between x = 160 and x = 250 of 512) holds the box's centre, and the box is face-sized.
  const FaceBox& f = faces[0];
  MESSAGE("astronaut face box x " << f.x << " y " << f.y << " w " << f.width << " h " << f.height);
  CHECK(f.x + f.width / 2 > 160);
  CHECK(f.x + f.width / 2 < 250);
  CHECK(f.y + f.height / 2 > 80);
  CHECK(f.y + f.height / 2 < 160);
  CHECK(f.width > 50);
  CHECK(f.width < 160);
  CHECK(detect_faces(coffee, "coffee.png").empty());
  CHECK(error_of([&] { find_face_crop(coffee, {}, "the source 'coffee.png'"); })
            .find("no face found in the source 'coffee.png'") != std::string::npos);
}

TEST_CASE("face detection: several faces, the largest first, --face picks another") {
  const Image astronaut = sample_photo("astronaut.png");
  if (astronaut.width == 0 || !face_detection_supported()) return;
  // Two copies of the portrait side by side, the right one at 60% size.
  const Image small = resize_image(astronaut, 307, 307);
  Image both(512 + 307, 512, 3);
  for (int y = 0; y < 512; ++y) {
    for (int x = 0; x < 512; ++x) std::copy_n(astronaut.at(x, y), 3, both.at(x, y));
    for (int x = 0; x < 307; ++x) std::copy_n(y < 307 ? small.at(x, y) : astronaut.at(0, 0), 3, both.at(512 + x, y));
  }
  const std::vector<FaceBox> faces = detect_faces(both, "two portraits");
  for (const FaceBox& f : faces) MESSAGE("face x " << f.x << " y " << f.y << " w " << f.width << " score " << f.score);
  REQUIRE(faces.size() == 2);
  CHECK(faces[0].area() > faces[1].area());
  CHECK(faces[0].x < 512);
  CHECK(faces[1].x > 512);
  CropOptions o;
  o.face = 1;
  CHECK(find_face_crop(both, o, "two portraits").cx > 512);
  o.face = 2;
  CHECK(error_of([&] { find_face_crop(both, o, "two portraits"); }).find("has 2 face(s); --face 2") != std::string::npos);
}

TEST_CASE("crop and paste-back: the original size, and nothing outside the box changes") {
  const Image photo = sample_photo("astronaut.png");
  if (photo.width == 0) return;
  // The box of the whole picture at its own size samples every pixel centre exactly.
  const Image same = crop_image(photo, {256, 256, 512}, 512);
  CHECK(same.pixels == photo.pixels);

  const CropBox box{205.3, 140.7, 231.9};  // a face-sized box, not on pixel edges
  const Image crop = crop_image(photo, box, 128);
  CHECK(crop.width == 128);
  // What a generator would return: the crop, changed (inverted).
  Image generated = crop;
  for (auto& v : generated.pixels) v = static_cast<uint8_t>(255 - v);
  Image pasted = photo;
  paste_back(pasted, generated, box, 0.1);
  REQUIRE(pasted.width == photo.width);
  REQUIRE(pasted.height == photo.height);
  int64_t outside_changed = 0, centre_changed = 0, inside = 0;
  for (int y = 0; y < photo.height; ++y)
    for (int x = 0; x < photo.width; ++x) {
      const bool in_box = x + 0.5 > box.left() && x + 0.5 < box.left() + box.side && y + 0.5 > box.top() &&
                          y + 0.5 < box.top() + box.side;
      const bool differs = std::memcmp(pasted.at(x, y), photo.at(x, y), 3) != 0;
      if (!in_box) outside_changed += differs;
      // Inside the feathered margin the result is the generated crop (to resampling).
      const double margin = 0.1 * box.side + 1;
      if (x + 0.5 > box.left() + margin && x + 0.5 < box.left() + box.side - margin && y + 0.5 > box.top() + margin &&
          y + 0.5 < box.top() + box.side - margin) {
        ++inside;
        centre_changed += differs;
      }
    }
  CHECK(outside_changed == 0);
  CHECK(inside > 0);
  CHECK(centre_changed > inside * 9 / 10);  // inverted pixels differ unless they were mid-grey
  // A box reaching past the picture's edge pastes only what lies inside the picture.
  Image corner = photo;
  paste_back(corner, generated, {10, 10, 100}, 0.1);
  CHECK(corner.width == photo.width);
  CHECK(std::memcmp(corner.at(100, 100), photo.at(100, 100), 3) == 0);
}

TEST_CASE("face tracking: a frame without a face keeps the last box and is counted; the box is smoothed") {
  const Image photo = sample_photo("astronaut.png"), coffee = sample_photo("coffee.png");
  if (photo.width == 0 || coffee.width == 0 || !face_detection_supported()) return;
  const Image blank_frame = resize_image(coffee, 512, 512);
  FaceTracker tracker({});
  const CropBox first = tracker.update(photo, "frame 0");
  const CropBox held = tracker.update(blank_frame, "frame 1");
  CHECK(held.cx == first.cx);
  CHECK(held.side == first.side);
  // The face moved 40 pixels right: the box follows part of the way (smoothing 0.3).
  Image moved(512, 512, 3);
  for (int y = 0; y < 512; ++y)
    for (int x = 0; x < 512; ++x) std::copy_n(photo.at(std::max(0, x - 40), y), 3, moved.at(x, y));
  const CropBox next = tracker.update(moved, "frame 2");
  CHECK(next.cx > first.cx + 40 * 0.3 - 3);
  CHECK(next.cx < first.cx + 40 * 0.3 + 3);
  CHECK(tracker.frames() == 3);
  CHECK(tracker.missed() == 1);
  // Before any face: the centred square of the frame's shorter side.
  FaceTracker fresh({});
  const CropBox start = fresh.update(resize_image(coffee, 600, 400), "frame 0");
  CHECK(start.cx == 300);
  CHECK(start.side == 400);
  CHECK(fresh.missed() == 1);
}
