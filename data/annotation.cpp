#include "data/annotation.h"

#include <array>
#include <cmath>

#include "geometry/conventions.h"
#include "geometry/crops.h"

#include "runtime/error.h"

namespace fh::data {

std::array<double, 3> eye_crop_from_keypoints(const float (*k)[3], int e, int size) {
  std::array<double, 3 * geometry::kNumKeypoints> points;
  for (int i = 0; i < geometry::kNumKeypoints; ++i)
    for (int d = 0; d < 3; ++d) points[3 * i + d] = k[i][d];
  return geometry::eye_crop_box(points.data(), 3, e, size, size);
}

FrameAnnotation annotate(const PosedHead& head, int size) {
  FH_CHECK(head.mesh != nullptr, "annotate", "the posed head has no mesh");
  const HeadMesh& mesh = *head.mesh;
  const FrameParams& p = head.params;
  FrameAnnotation a;
  const double s = p.pose.scale;
  const Eigen::Matrix3d& R = head.rotation;
  const Eigen::Vector3d& t = p.pose.translation;

  const auto now = mesh.layout.keypoint_face_coords(p.expression.blink_right, p.expression.blink_left);
  const auto neutral = mesh.layout.keypoint_face_coords(0.0, 0.0);
  for (int k = 0; k < 68; ++k) {
    const auto sp = mesh.locate(now[k].x(), now[k].y());
    const auto sn = mesh.locate(neutral[k].x(), neutral[k].y());
    Eigen::Vector3d can = Eigen::Vector3d::Zero();
    for (int i = 0; i < 3; ++i)
      can += sn.weight[i] * Eigen::Vector3d(mesh.rest[3 * sn.vertex[i]], mesh.rest[3 * sn.vertex[i] + 1],
                                            mesh.rest[3 * sn.vertex[i] + 2]);
    // The renderer draws s·R·q + t for each vertex in single precision; the same point, in
    // double, is within float rounding of it.
    const Eigen::Vector3d pt = head.camera_point(sp);
    const Eigen::Vector3d d = pt - (s * (R * can) + t);
    for (int i = 0; i < 3; ++i) {
      a.keypoints[k][i] = static_cast<float>(pt[i]);
      a.canonical[k][i] = static_cast<float>(can[i]);
      a.deformation[k][i] = static_cast<float>(d[i]);
    }
  }

  a.yaw = static_cast<float>(p.pose.yaw);
  a.pitch = static_cast<float>(p.pose.pitch);
  a.roll = static_cast<float>(p.pose.roll);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) a.rotation[3 * r + c] = static_cast<float>(R(r, c));
  for (int i = 0; i < 3; ++i) a.translation[i] = static_cast<float>(t[i]);
  a.scale = static_cast<float>(s);

  const auto& tmpl = geometry::eye_mesh_template();
  a.eye_mesh.resize(2 * geometry::kEyeVertices * 3);
  float kp[68][3];
  for (int k = 0; k < 68; ++k)
    for (int i = 0; i < 3; ++i) kp[k][i] = a.keypoints[k][i];
  for (int e = 0; e < 2; ++e) {
    const Eigen::Vector3d g = head.gaze[e].normalized();
    const geometry::GazeAngles ang = geometry::angles_from_gaze(g);
    for (int i = 0; i < 3; ++i) a.gaze[e][i] = static_cast<float>(g[i]);
    a.gaze_angles[e] = {static_cast<float>(ang.theta), static_cast<float>(ang.phi)};
    a.gaze_head[e] = {static_cast<float>(p.gaze[e].theta), static_cast<float>(p.gaze[e].phi)};
    const std::array<double, 3> crop = eye_crop_from_keypoints(kp, e, size);
    for (int i = 0; i < 3; ++i) a.eye_crop[e][i] = static_cast<float>(crop[i]);
    const Eigen::Vector3d& c = head.eye_centre[e];
    a.eyeball[e] = {static_cast<float>(c.x()), static_cast<float>(c.y()), static_cast<float>(c.z()),
                    static_cast<float>(head.eye_radius)};
    // The template sphere scaled to the eyeball, turned so its front pole looks along the
    // gaze, placed at the eyeball's centre, then mapped into the crop (z relative to the
    // eyeball's centre) by the model's own crop mapping.
    const geometry::CropAffine to_crop = geometry::image_to_crop_affine(crop, size, size);
    for (int v = 0; v < geometry::kEyeVertices; ++v) {
      const Eigen::Vector3d w = c + head.eye_radius * (head.eye_rotation[e] * tmpl.vertices[v]);
      const std::array<double, 3> m = to_crop(w.x(), w.y(), w.z() - c.z());
      for (int i = 0; i < 3; ++i) a.eye_mesh[(static_cast<size_t>(e) * geometry::kEyeVertices + v) * 3 + i] = static_cast<float>(m[i]);
    }
  }

  a.identity = identity_vector(mesh.identity);
  const auto ev = expression_vector(p.expression);
  for (int i = 0; i < kExpressionParams; ++i) a.expression[i] = static_cast<float>(ev[i]);
  const Lighting& l = p.lighting;
  a.lighting = {static_cast<float>(l.direction.x()), static_cast<float>(l.direction.y()),
                static_cast<float>(l.direction.z()), static_cast<float>(l.ambient),
                static_cast<float>(l.diffuse),       static_cast<float>(l.specular)};
  return a;
}

}  // namespace fh::data
