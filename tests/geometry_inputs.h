// Random but plausible geometry inputs shared by the geometry, crop, sketch and loss tests:
// faces (the template face posed at random and jittered) and eye meshes (the template
// rotated, scaled, moved and jittered).
#pragma once

#include <cstdint>
#include <vector>

#include "geometry/conventions.h"
#include "geometry/eyes.h"
#include "geometry/template_face.h"
#include "runtime/random.h"
#include "tests/harness/random_inputs.h"

namespace fh::test {

// [B,68,3] key-points: the template face under a random pose (|yaw|, |pitch| < 0.5,
// |roll| < 0.3), scale in [0.6, 1.1], shifted by up to `shift`, each point jittered by up to 0.02.
inline Tensor random_faces(Generator& gen, int64_t batch, DType dtype = DType::F32, double shift = 0.15) {
  const std::vector<double> pose = rand(Shape{batch, 6}, gen, -1.0, 1.0, DType::F64).to_vector<double>();
  const std::vector<double> jitter =
      rand(Shape{batch, geometry::kNumKeypoints, 3}, gen, -0.02, 0.02, DType::F64).to_vector<double>();
  std::vector<double> out;
  for (int64_t b = 0; b < batch; ++b) {
    const double* q = pose.data() + 6 * b;
    const auto face = geometry::posed_template_face(0.5 * q[0], 0.5 * q[1], 0.3 * q[2], 0.85 + 0.25 * q[3],
                                                    Eigen::Vector3d(shift * q[4], shift * q[5], 0.0));
    for (int i = 0; i < geometry::kNumKeypoints; ++i)
      for (int k = 0; k < 3; ++k) out.push_back(face[i][k] + jitter[(b * geometry::kNumKeypoints + i) * 3 + k]);
  }
  return Tensor::from_vector(out, {batch, geometry::kNumKeypoints, 3}).to(dtype);
}

// [B,482,3] eye meshes near the template: rotated by up to ±`turn` radians about each
// axis, scaled by 1 ± 0.3, moved by up to ±0.5 and jittered by up to ±`jitter`.
inline Tensor random_meshes(Generator& gen, int64_t batch, DType dtype = DType::F64, double turn = 0.6,
                            double jitter = 0.05) {
  const std::vector<double> noise =
      rand(Shape{batch, geometry::kEyeVertices, 3}, gen, -jitter, jitter, DType::F64).to_vector<double>();
  const std::vector<double> pose = rand(Shape{batch, 7}, gen, -1.0, 1.0, DType::F64).to_vector<double>();
  const auto& verts = geometry::eye_mesh_template().vertices;
  std::vector<double> out;
  for (int64_t b = 0; b < batch; ++b) {
    const double* q = pose.data() + 7 * b;
    const Eigen::Matrix3d r = geometry::rotation_from_euler(turn * q[0], turn * q[1], turn * q[2]);
    for (int i = 0; i < geometry::kEyeVertices; ++i) {
      const Eigen::Vector3d p = (1.0 + 0.3 * q[3]) * (r * verts[i]);
      for (int k = 0; k < 3; ++k)
        out.push_back(p[k] + 0.5 * q[4 + k] + noise[(b * geometry::kEyeVertices + i) * 3 + k]);
    }
  }
  return Tensor::from_vector(out, {batch, geometry::kEyeVertices, 3}).to(dtype);
}

}  // namespace fh::test
