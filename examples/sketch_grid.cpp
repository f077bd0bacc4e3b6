// Draws a grid of key-point sketches of the template face (geometry/template_face.h): one
// row per head pose, one column per gaze direction, as the generator would see them.
// docs/images/sketches.png is this program's output:
//
//   fh_example_sketch_grid docs/images/sketches.png
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "geometry/sketch.h"
#include "geometry/template_face.h"
#include "io/image_io.h"
#include "runtime/tensor.h"

namespace geo = fh::geometry;

namespace {

struct Pose {
  double yaw, pitch, roll;  // degrees
};

constexpr int64_t kCell = 192, kGap = 4;
constexpr float kGapGrey = 0.3f;

}  // namespace

int main(int argc, char** argv) {
  const std::string out = argc > 1 ? argv[1] : "sketches.png";
  const std::vector<Pose> poses = {{0, 0, 0}, {-25, 0, 0}, {25, 10, 0}, {0, -15, 12}};
  const std::vector<geo::GazeAngles> gazes = {
      {0, 0}, {0, geo::deg_to_rad(35)}, {0, geo::deg_to_rad(-35)}, {geo::deg_to_rad(30), 0}, {geo::deg_to_rad(-30), 0}};
  const int64_t rows = static_cast<int64_t>(poses.size()), cols = static_cast<int64_t>(gazes.size());
  const int64_t width = cols * kCell + (cols - 1) * kGap, height = rows * kCell + (rows - 1) * kGap;
  try {
    fh::Tensor grid = fh::Tensor::full({height, width, 3}, kGapGrey);
    float* g = grid.data<float>();
    std::vector<float> cell(kCell * kCell * 3);
    for (int64_t r = 0; r < rows; ++r) {
      const Pose& p = poses[r];
      const auto face = geo::posed_template_face(geo::deg_to_rad(p.yaw), geo::deg_to_rad(p.pitch),
                                                 geo::deg_to_rad(p.roll), 1.15, Eigen::Vector3d(0, -0.1, 0));
      for (int64_t c = 0; c < cols; ++c) {
        geo::SketchInput in;
        for (int i = 0; i < geo::kNumKeypoints; ++i) in.points[i] = face[i].head<2>();
        in.gaze = {gazes[c], gazes[c]};
        geo::draw_sketch(in, kCell, cell.data());
        for (int64_t y = 0; y < kCell; ++y) {
          float* dst = g + ((r * (kCell + kGap) + y) * width + c * (kCell + kGap)) * 3;
          std::copy(cell.begin() + y * kCell * 3, cell.begin() + (y + 1) * kCell * 3, dst);
        }
      }
    }
    fh::write_png(out, fh::tensor_to_image(grid, 0.0, 1.0));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fh_example_sketch_grid: %s\n", e.what());
    return 1;
  }
  std::printf("wrote %s: rows are head poses (yaw, pitch, roll) =", out.c_str());
  for (const Pose& p : poses) std::printf(" (%g, %g, %g)", p.yaw, p.pitch, p.roll);
  std::printf(" degrees; columns are gazes (theta, phi) = (0, 0), (0, 35), (0, -35), (30, 0), (-30, 0) degrees\n");
  return 0;
}
