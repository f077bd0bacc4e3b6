// The sketch rasteriser: content (background, gaze-coloured eyes, white anti-aliased lines
// of the width in docs/geometry.md#sketches), determinism (repeat, batch vs single, thread counts), any size,
// key-point files for `freehead sketch` and their errors.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "geometry/sketch.h"
#include "geometry/sketch_file.h"
#include "geometry/template_face.h"
#include "runtime/thread_pool.h"
#include "tests/harness/random_inputs.h"
#include "tests/harness/tolerance.h"
#include "weights/safetensors.h"

using fh::DType;
using fh::Shape;
using fh::Tensor;
using namespace fh::test;
namespace geo = fh::geometry;

namespace {

geo::SketchInput face_input(double yaw = 0, double pitch = 0, double roll = 0) {
  const auto face = geo::posed_template_face(yaw, pitch, roll, 0.9, Eigen::Vector3d(0, -0.05, 0));
  geo::SketchInput in;
  for (int i = 0; i < geo::kNumKeypoints; ++i) in.points[i] = face[i].head<2>();
  in.gaze = {geo::GazeAngles{geo::deg_to_rad(10), geo::deg_to_rad(-20)},
             geo::GazeAngles{geo::deg_to_rad(-30), geo::deg_to_rad(60)}};
  return in;
}

std::vector<float> draw(const geo::SketchInput& in, int64_t size) {
  std::vector<float> out(static_cast<size_t>(size * size * 3), -1.0f);
  geo::draw_sketch(in, size, out.data());
  return out;
}

const float* pixel(const std::vector<float>& img, int64_t size, int64_t x, int64_t y) {
  return img.data() + (y * size + x) * 3;
}

// Image-normalised coordinate of pixel centre u in an image of `size` pixels.
double normalised(double u, int64_t size) { return 2.0 * u / static_cast<double>(size - 1) - 1.0; }

// The centre of an eye's polygon in pixels, rounded.
std::pair<int64_t, int64_t> eye_centre(const geo::SketchInput& in, int first, int64_t size) {
  Eigen::Vector2d c = Eigen::Vector2d::Zero();
  for (int i = first; i < first + 6; ++i) c += in.points[i];
  c = (c / 6.0 + Eigen::Vector2d::Ones()) * 0.5 * static_cast<double>(size - 1);
  return {std::lround(c.x()), std::lround(c.y())};
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("fh-test-sketch-" + std::to_string(::getpid()) + "-" + name))
      .string();
}

}  // namespace

TEST_CASE("sketch: gaze colour is 0.5 + 0.5·clamp(angle/45°) per channel") {
  auto c = geo::gaze_colour({geo::deg_to_rad(22.5), geo::deg_to_rad(-45)});
  CHECK(c[0] == doctest::Approx(0.75));
  CHECK(c[1] == doctest::Approx(0.0));
  CHECK(c[2] == 0.0f);
  c = geo::gaze_colour({geo::deg_to_rad(80), geo::deg_to_rad(-90)});  // clamped
  CHECK(c[0] == 1.0f);
  CHECK(c[1] == 0.0f);
  c = geo::gaze_colour({0, 0});
  CHECK(c[0] == 0.5f);
  CHECK(c[1] == 0.5f);
  CHECK(geo::sketch_line_width(64) == 1.0);
  CHECK(geo::sketch_line_width(256) == 2.0);
  CHECK(geo::sketch_line_width(200) == doctest::Approx(1.5625));
}

TEST_CASE("sketch: black background, eyes in their gaze colours, lines white") {
  const int64_t S = 256;
  const geo::SketchInput in = face_input();
  const std::vector<float> img = draw(in, S);
  // Every value in [0, 1]; a corner far from the face is black.
  CHECK(std::all_of(img.begin(), img.end(), [](float v) { return v >= 0.0f && v <= 1.0f; }));
  for (int k = 0; k < 3; ++k) CHECK(pixel(img, S, 2, 2)[k] == 0.0f);
  for (int k = 0; k < 3; ++k) CHECK(pixel(img, S, S - 1, 0)[k] == 0.0f);
  // Each eye's interior holds exactly its own colour.
  for (int eye = 0; eye < 2; ++eye) {
    const auto [x, y] = eye_centre(in, eye == 0 ? 36 : 42, S);
    const auto colour = geo::gaze_colour(in.gaze[eye]);
    INFO("eye " << eye << " centre (" << x << ", " << y << ")");
    for (int k = 0; k < 3; ++k) CHECK(pixel(img, S, x, y)[k] == colour[k]);
  }
  // The eye colours differ (θ = 10°, φ = -20° vs θ = -30°, φ = 60°).
  const auto [rx, ry] = eye_centre(in, 36, S);
  const auto [lx, ly] = eye_centre(in, 42, S);
  CHECK(pixel(img, S, rx, ry)[0] != pixel(img, S, lx, ly)[0]);
  // A key-point is on a line: its nearest pixel is mostly white (distance <= 0.71 px ->
  // coverage >= 0.79 at width 2), in every channel alike outside the eyes.
  const Eigen::Vector2d tip = (in.points[30] + Eigen::Vector2d::Ones()) * 0.5 * (S - 1);
  const float* p = pixel(img, S, std::lround(tip.x()), std::lround(tip.y()));
  CHECK(p[0] >= 0.79f);
  CHECK(p[0] == p[1]);
  CHECK(p[1] == p[2]);
}

TEST_CASE("sketch: lines are anti-aliased with coverage clamp(w/2 + 0.5 − distance, 0, 1)") {
  // A vertical nose bridge exactly on pixel column 100 (and every other point far off to
  // the bottom-right, out of the way).
  for (int64_t S : {128, 256, 512}) {
    geo::SketchInput in;
    for (int i = 0; i < geo::kNumKeypoints; ++i) in.points[i] = {0.9, 0.9};
    for (int i = 27; i <= 30; ++i) in.points[i] = {normalised(100, S), normalised(20 + 10.0 * (i - 27), S)};
    in.gaze = {geo::GazeAngles{}, geo::GazeAngles{}};
    const std::vector<float> img = draw(in, S);
    const double w = geo::sketch_line_width(S);
    INFO("S = " << S << ", width " << w);
    for (int64_t dx = 0; dx <= 4; ++dx) {
      const double expected = std::clamp(0.5 * w + 0.5 - static_cast<double>(dx), 0.0, 1.0);
      for (int64_t side : {-1, 1}) {
        const float* p = pixel(img, S, 100 + side * dx, 35);
        INFO("offset " << side * dx);
        CHECK(p[0] == doctest::Approx(expected).epsilon(1e-6));
        CHECK(p[2] == p[0]);
      }
    }
    // The line starts at row 20 with a round cap: 1.5 rows above it (S=256) coverage is 0.
    const float* above = pixel(img, S, 100, 20 - 3);
    CHECK(above[0] == 0.0f);
  }
}

TEST_CASE("sketch: deterministic, batched = per image, independent of the thread count, any size") {
  const geo::SketchInput a = face_input(0.4, -0.2, 0.1), b = face_input(-0.5, 0.3, -0.2);
  const int64_t S = 96;
  const std::vector<float> once = draw(a, S), again = draw(a, S);
  CHECK(std::memcmp(once.data(), again.data(), once.size() * sizeof(float)) == 0);

  std::vector<double> pts, gaze;
  for (const geo::SketchInput* in : {&a, &b}) {
    for (const auto& p : in->points) pts.insert(pts.end(), {p.x(), p.y(), 0.25});
    for (const auto& g : in->gaze) {
      const Eigen::Vector3d v = 2.0 * geo::gaze_from_angles(g.theta, g.phi);
      gaze.insert(gaze.end(), {v.x(), v.y(), v.z()});
    }
  }
  const Tensor points = Tensor::from_vector(pts, {2, 68, 3}), gazes = Tensor::from_vector(gaze, {2, 2, 3});
  const int threads = fh::num_threads();
  fh::set_num_threads(1);
  const Tensor one = geo::draw_sketches(points, gazes, S);
  fh::set_num_threads(2);
  const Tensor two = geo::draw_sketches(points, gazes, S);
  fh::set_num_threads(threads);
  REQUIRE(one.shape() == Shape{2, S, S, 3});
  CHECK(std::memcmp(one.data<float>(), two.data<float>(), one.nbytes()) == 0);
  // Image 0 of the batch equals the single drawing up to the gaze round trip through vectors.
  FH_CHECK_CLOSE(fh::reshape(fh::slice(one, 0, 0, 1), {S, S, 3}), Tensor::from_vector(once, {S, S, 3}),
                 (Tolerance{1e-6, 0}), "batched image 0");
  // The angle form of the batch API draws the same.
  std::vector<double> angles;
  for (const geo::SketchInput* in : {&a, &b})
    for (const auto& g : in->gaze) angles.insert(angles.end(), {g.theta, g.phi});
  const Tensor by_angles = geo::draw_sketches_from_angles(points, Tensor::from_vector(angles, {2, 2, 2}), S);
  FH_CHECK_CLOSE(by_angles, one, (Tolerance{1e-6, 0}), "angles vs vectors");

  for (int64_t size : {2, 3, 17, 64, 300}) {
    const std::vector<float> img = draw(a, size);
    bool in_range = true, any_lit = false;
    for (float v : img) {
      in_range = in_range && v >= 0.0f && v <= 1.0f;
      any_lit = any_lit || v > 0.0f;
    }
    CHECK_MESSAGE(in_range, "size " << size);
    CHECK_MESSAGE(any_lit, "size " << size);
  }
  // Points far outside the image draw nothing and do not fail.
  geo::SketchInput far = a;
  for (auto& p : far.points) p = p * 1e7 + Eigen::Vector2d(3e7, -2e7);
  const std::vector<float> empty = draw(far, 32);
  CHECK(std::all_of(empty.begin(), empty.end(), [](float v) { return v == 0.0f; }));
}

TEST_CASE("sketch: bad points and gaze are errors naming what is wrong") {
  geo::SketchInput in = face_input();
  in.points[17].x() = std::nan("");
  std::vector<float> out(16 * 16 * 3);
  CHECK_THROWS_WITH_AS(geo::draw_sketch(in, 16, out.data()), doctest::Contains("key-point 17 is not finite"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(geo::draw_sketch(face_input(), 1, out.data()), doctest::Contains("size 1"), fh::Error);
  CHECK_THROWS_WITH_AS(geo::draw_sketches(Tensor::zeros({1, 67, 2}), Tensor::ones({1, 2, 3}), 16),
                       doctest::Contains("points [1, 67, 2] must be [B, 68, 2] or [B, 68, 3]"), fh::Error);
  CHECK_THROWS_WITH_AS(geo::draw_sketches(Tensor::zeros({2, 68, 2}), Tensor::ones({2, 3}), 16),
                       doctest::Contains("gaze [2, 3] must be [2, 2, 3]"), fh::Error);
  CHECK_THROWS_WITH_AS(geo::draw_sketches(Tensor::zeros({1, 68, 2}), Tensor::zeros({1, 2, 3}), 16),
                       doctest::Contains("gaze vector of image 0 eye 0"), fh::Error);
}

TEST_CASE("sketch: key-point files and their errors") {
  const std::string path = temp_path("points.safetensors");
  const geo::SketchInput face = face_input();
  std::vector<float> pts;
  for (const auto& p : face.points) pts.insert(pts.end(), {static_cast<float>(p.x()), static_cast<float>(p.y())});
  const Tensor points = Tensor::from_vector(pts, {68, 2});

  fh::safetensors::save(
      path, {{"points", points}, {"gaze_angles", Tensor::from_vector<float>({0.1f, -0.2f, 0.3f, 0.4f}, {2, 2})}});
  geo::SketchInput in = geo::read_sketch_points(path);
  CHECK(in.points[40].x() == doctest::Approx(face.points[40].x()).epsilon(1e-6));
  CHECK(in.gaze[1].phi == doctest::Approx(0.4).epsilon(1e-6));

  fh::safetensors::save(path,
                        {{"points", points}, {"gaze", Tensor::from_vector<double>({0, 0, -1, -1, 0, -1}, {2, 3})}});
  in = geo::read_sketch_points(path);
  CHECK(in.gaze[0].phi == 0.0);
  CHECK(in.gaze[1].phi == doctest::Approx(geo::kPi / 4));

  fh::safetensors::save(path, {{"points", Tensor::from_vector<double>(std::vector<double>(68 * 3, 0.1), {68, 3})}});
  in = geo::read_sketch_points(path);
  CHECK(in.gaze[0].theta == 0.0);  // no gaze: looking at the camera

  auto expect_error = [&](const fh::safetensors::NamedTensors& tensors, const std::string& message) {
    fh::safetensors::save(path, tensors);
    CHECK_THROWS_WITH_AS(geo::read_sketch_points(path), doctest::Contains(message.c_str()), fh::Error);
    try {
      geo::read_sketch_points(path);
    } catch (const fh::Error& e) {
      CHECK_MESSAGE(std::string(e.what()).find(path) != std::string::npos, "the error names the file: " << e.what());
    }
  };
  expect_error({{"points", Tensor::zeros({67, 2})}}, "tensor 'points' has shape [67, 2], expected [68, 2] or [68, 3]");
  expect_error({{"point", points}}, "tensor 'points' is missing");
  std::vector<float> bad = pts;
  bad[2 * 33 + 1] = std::nanf("");
  expect_error({{"points", Tensor::from_vector(bad, {68, 2})}}, "tensor 'points' element [33, 1] is not finite");
  expect_error({{"points", Tensor::from_vector<int64_t>(std::vector<int64_t>(136, 0), {68, 2})}},
               "expected floating point");
  expect_error({{"points", points}, {"gaze", Tensor::zeros({2, 3})}}, "tensor 'gaze' row 0 is the zero vector");
  expect_error({{"points", points}, {"gaze", Tensor::ones({3, 2})}}, "tensor 'gaze' has shape [3, 2], expected [2, 3]");
  expect_error({{"points", points}, {"gaze", Tensor::ones({2, 3})}, {"gaze_angles", Tensor::ones({2, 2})}},
               "both 'gaze' and 'gaze_angles'");
  std::filesystem::remove(path);
  CHECK_THROWS_WITH_AS(geo::read_sketch_points(path), doctest::Contains(path.c_str()), fh::Error);
}
