#include "geometry/eyes.h"

#include <cmath>
#include <vector>

#include "autograd/ops.h"
#include "geometry/tensor_checks.h"

namespace fh::geometry {

using detail::check_shape;

Tensor eye_template_vertices(DType dtype, Device device) {
  const EyeMeshTemplate& t = eye_mesh_template();
  std::vector<double> xyz;
  xyz.reserve(3 * t.vertices.size());
  for (const Eigen::Vector3d& v : t.vertices) xyz.insert(xyz.end(), {v.x(), v.y(), v.z()});
  return Tensor::from_vector(xyz, {kEyeVertices, 3}).to(dtype).to(device);
}

Tensor eye_template_triangles() {
  std::vector<int64_t> idx;
  for (const auto& tri : eye_mesh_template().triangles) idx.insert(idx.end(), tri.begin(), tri.end());
  return Tensor::from_vector(idx, {kEyeTriangles, 3});
}

Tensor eye_template_edges() {
  std::vector<int64_t> idx;
  for (const auto& e : eye_mesh_template().edges) idx.insert(idx.end(), e.begin(), e.end());
  return Tensor::from_vector(idx, {kEyeEdges, 2});
}

namespace {

// Mean of one ring of every mesh: [B,482,3] -> [B,3]. A ring's 32 vertices are contiguous.
Tensor ring_mean(const Tensor& vertices, int ring) {
  return mean(slice(vertices, 1, eye_ring_vertex(ring, 0), kEyeSegments), {1});
}

Tensor normalise_rows(const Tensor& v) { return div(v, sqrt(sum(mul(v, v), {-1}, true))); }

// The vertex at one end of every edge, in edge order: end 0 = each edge's first vertex.
std::vector<int64_t> ends_of_edges(int end) {
  std::vector<int64_t> v;
  for (const auto& e : eye_mesh_template().edges) v.push_back(e[end]);
  return v;
}

const std::vector<int64_t>& edge_ends(int end) {
  static const std::vector<int64_t> first = ends_of_edges(0), second = ends_of_edges(1);
  return end == 0 ? first : second;
}

}  // namespace

Tensor gaze_from_mesh(const Tensor& vertices) {
  check_shape(vertices, "gaze_from_mesh", "vertices", {-1, kEyeVertices, 3});
  return normalise_rows(sub(ring_mean(vertices, kIrisRing), ring_mean(vertices, kEquatorRing)));
}

Tensor gaze_to_angles(const Tensor& gaze) {
  check_shape(gaze, "gaze_to_angles", "gaze", {-1, 3});
  const int64_t batch = gaze.size(0);
  const std::vector<double> g = gaze.to_vector<double>();
  std::vector<double> angles(static_cast<size_t>(2 * batch));
  for (int64_t b = 0; b < batch; ++b) {
    const Eigen::Vector3d v(g[3 * b], g[3 * b + 1], g[3 * b + 2]);
    FH_CHECK(std::isfinite(v.squaredNorm()) && v.squaredNorm() > 0, "gaze_to_angles", "gaze vector ", b, " (", v.x(),
             ", ", v.y(), ", ", v.z(), ") is zero or not finite");
    const GazeAngles a = angles_from_gaze(v);
    angles[2 * b] = a.theta;
    angles[2 * b + 1] = a.phi;
  }
  return Tensor::from_vector(angles, {batch, 2}).to(gaze.dtype()).to(gaze.device());
}

Tensor angles_to_gaze(const Tensor& angles) {
  check_shape(angles, "angles_to_gaze", "angles", {-1, 2});
  const Tensor theta = slice(angles, 1, 0, 1), phi = slice(angles, 1, 1, 1);
  const Tensor ct = cos(theta);
  return concat({neg(mul(ct, sin(phi))), neg(sin(theta)), neg(mul(ct, cos(phi)))}, 1);
}

Tensor edge_lengths(const Tensor& vertices) {
  check_shape(vertices, "edge_lengths", "vertices", {-1, kEyeVertices, 3});
  // Each edge vector is its second vertex minus its first, both picked by index: a copy and
  // one subtraction per coordinate. (A product with the 2880 × 482 incidence matrix gives
  // the same vectors, but spent a fifth of an E_gaze training step multiplying zeros,
  // forward and backward.)
  const Tensor vectors = sub(index_select(vertices, 1, edge_ends(1)), index_select(vertices, 1, edge_ends(0)));
  return sqrt(sum(mul(vectors, vectors), {-1}));
}

}  // namespace fh::geometry
