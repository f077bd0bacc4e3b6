#include "data/posed_head.h"

#include <cmath>

#include <Eigen/Geometry>

#include "geometry/conventions.h"

namespace fh::data {

Eigen::Matrix3d eye_rotation_in_head(const EyeGaze& gaze) {
  const double ct = std::cos(-gaze.theta), st = std::sin(-gaze.theta);
  const double cp = std::cos(gaze.phi), sp = std::sin(gaze.phi);
  Eigen::Matrix3d rx, ry;
  rx << 1, 0, 0, 0, ct, -st, 0, st, ct;
  ry << cp, 0, sp, 0, 1, 0, -sp, 0, cp;
  return ry * rx;
}

Eigen::Vector3d PosedHead::camera_point(const HeadMesh::SurfacePoint& p) const {
  Eigen::Vector3d r = Eigen::Vector3d::Zero();
  for (int k = 0; k < 3; ++k) {
    const float* c = camera.data() + 3 * p.vertex[k];
    r += p.weight[k] * Eigen::Vector3d(c[0], c[1], c[2]);
  }
  return r;
}

void pose_head(const HeadMesh& mesh, const FrameParams& params, PosedHead& out) {
  out.mesh = &mesh;
  out.params = params;
  const Pose& pose = params.pose;
  out.rotation = geometry::rotation_from_euler(pose.yaw, pose.pitch, pose.roll);
  const int nh = mesh.head_vertices, n = mesh.num_vertices;
  out.head.resize(3 * static_cast<size_t>(nh));
  out.camera.resize(3 * static_cast<size_t>(n));
  out.normal.resize(3 * static_cast<size_t>(n));

  const auto e = expression_vector(params.expression);
  float w[kShapeExpressions];
  for (int k = 0; k < kShapeExpressions; ++k) w[k] = static_cast<float>(e[k]);
  for (int v = 0; v < nh; ++v) {
    const float* r = mesh.rest.data() + 3 * v;
    const float* b = mesh.blend.data() + 3 * kShapeExpressions * static_cast<size_t>(v);
    float p[3] = {r[0], r[1], r[2]};
    for (int k = 0; k < kShapeExpressions; ++k)
      for (int d = 0; d < 3; ++d) p[d] += w[k] * b[3 * k + d];
    for (int d = 0; d < 3; ++d) out.head[3 * v + d] = p[d];
  }

  // Camera positions: s·R·p + t, in single precision from a single-precision matrix. The
  // neck and shoulders blend towards the body, which turns a third as far as the head.
  const Eigen::Matrix3f sr = (pose.scale * out.rotation).cast<float>();
  const Eigen::Matrix3f sb =
      (pose.scale * geometry::rotation_from_euler(0.3 * pose.yaw, 0.1 * pose.pitch, 0.3 * pose.roll)).cast<float>();
  const Eigen::Vector3f t = pose.translation.cast<float>();
  for (int v = 0; v < n; ++v) {
    const float* p = v < nh ? out.head.data() + 3 * v : mesh.rest.data() + 3 * v;
    const Eigen::Vector3f q(p[0], p[1], p[2]);
    Eigen::Vector3f c = sr * q + t;
    if (v >= mesh.rigid_end) {
      const float w = mesh.body_weight[v - mesh.rigid_end];
      c = (1.f - w) * c + w * (sb * q + t);
    }
    out.camera[3 * v] = c.x();
    out.camera[3 * v + 1] = c.y();
    out.camera[3 * v + 2] = c.z();
  }
  // Normals from the camera positions (a rotation commutes with the cross product).
  for (int v = 0; v < n; ++v) {
    const auto& s = mesh.normal_stencil[v];
    const float* p0 = out.camera.data() + 3 * s[0];
    const float* p1 = out.camera.data() + 3 * s[1];
    const float* p2 = out.camera.data() + 3 * s[2];
    const float* p3 = out.camera.data() + 3 * s[3];
    const Eigen::Vector3f a(p1[0] - p0[0], p1[1] - p0[1], p1[2] - p0[2]);
    const Eigen::Vector3f b(p3[0] - p2[0], p3[1] - p2[1], p3[2] - p2[2]);
    Eigen::Vector3f nrm = a.cross(b);
    const float len = nrm.norm();
    nrm = len > 0 ? Eigen::Vector3f(nrm / len) : Eigen::Vector3f(0, 0, -1);
    out.normal[3 * v] = nrm.x();
    out.normal[3 * v + 1] = nrm.y();
    out.normal[3 * v + 2] = nrm.z();
  }

  for (int i = 0; i < 2; ++i) {
    out.eye_centre[i] = pose.scale * (out.rotation * mesh.eyeball_centre[i]) + pose.translation;
    out.eye_rotation[i] = out.rotation * eye_rotation_in_head(params.gaze[i]);
    out.gaze[i] = out.eye_rotation[i] * Eigen::Vector3d(0, 0, -1);
  }
  out.eye_radius = pose.scale * mesh.eyeball_radius;
}

}  // namespace fh::data
