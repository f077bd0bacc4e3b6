#include "geometry/sketch_file.h"

#include <cmath>
#include <vector>

#include "weights/safetensors.h"

namespace fh::geometry {

namespace {

// The values of tensor `name`, checked for a floating dtype, one of the allowed shapes and
// finiteness.
std::vector<double> read_values(const safetensors::Contents& file, const std::string& name,
                                const std::vector<Shape>& shapes) {
  const char* op = "read_sketch_points";
  FH_CHECK(file.contains(name), op, file.path, ": tensor '", name, "' is missing");
  const Tensor& t = file.get(name);
  FH_CHECK(is_floating(t.dtype()), op, file.path, ": tensor '", name, "' is ", t.describe(),
           ", expected floating point");
  bool shape_ok = false;
  std::string expected;
  for (const Shape& s : shapes) {
    shape_ok = shape_ok || t.shape() == s;
    expected += (expected.empty() ? "" : " or ") + s.str();
  }
  FH_CHECK(shape_ok, op, file.path, ": tensor '", name, "' has shape ", t.shape().str(), ", expected ", expected);
  const std::vector<double> v = t.to_vector<double>();
  const size_t cols = static_cast<size_t>(t.size(1));
  for (size_t i = 0; i < v.size(); ++i)
    FH_CHECK(std::isfinite(v[i]), op, file.path, ": tensor '", name, "' element [", i / cols, ", ", i % cols,
             "] is not finite (", v[i], ")");
  return v;
}

}  // namespace

SketchInput read_sketch_points(const std::string& path) {
  const safetensors::Contents file = safetensors::load(path);
  const std::vector<double> p = read_values(file, "points", {Shape{kNumKeypoints, 2}, Shape{kNumKeypoints, 3}});
  const size_t dims = p.size() / kNumKeypoints;
  SketchInput in;
  for (int i = 0; i < kNumKeypoints; ++i) in.points[i] = Eigen::Vector2d(p[i * dims], p[i * dims + 1]);
  in.gaze = {GazeAngles{}, GazeAngles{}};
  const bool has_vectors = file.contains("gaze"), has_angles = file.contains("gaze_angles");
  FH_CHECK(!(has_vectors && has_angles), "read_sketch_points", path,
           ": holds both 'gaze' and 'gaze_angles'; give one of them");
  if (has_vectors) {
    const std::vector<double> g = read_values(file, "gaze", {Shape{2, 3}});
    for (int e = 0; e < 2; ++e) {
      const Eigen::Vector3d v(g[3 * e], g[3 * e + 1], g[3 * e + 2]);
      FH_CHECK(v.squaredNorm() > 0, "read_sketch_points", path, ": tensor 'gaze' row ", e, " is the zero vector");
      in.gaze[e] = angles_from_gaze(v);
    }
  } else if (has_angles) {
    const std::vector<double> a = read_values(file, "gaze_angles", {Shape{2, 2}});
    for (int e = 0; e < 2; ++e) in.gaze[e] = {a[2 * e], a[2 * e + 1]};
  }
  return in;
}

}  // namespace fh::geometry
