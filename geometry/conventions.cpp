#include "geometry/conventions.h"

#include <algorithm>
#include <cmath>

#include <Eigen/Geometry>

namespace fh::geometry {

Eigen::Matrix3d rotation_from_euler(double yaw, double pitch, double roll) {
  const double cp = std::cos(pitch), sp = std::sin(pitch);
  const double cy = std::cos(yaw), sy = std::sin(yaw);
  const double cr = std::cos(roll), sr = std::sin(roll);
  Eigen::Matrix3d rx, ry, rz;
  rx << 1, 0, 0, 0, cp, -sp, 0, sp, cp;
  ry << cy, 0, sy, 0, 1, 0, -sy, 0, cy;
  rz << cr, -sr, 0, sr, cr, 0, 0, 0, 1;
  return rx * ry * rz;
}

const std::array<int, kNumKeypoints>& mirrored_keypoints() {
  static const std::array<int, kNumKeypoints> m = [] {
    std::array<int, kNumKeypoints> a{};
    auto reversed = [&](int first, int last) {  // a run read backwards: its ends swap
      for (int i = first; i <= last; ++i) a[i] = first + last - i;
    };
    reversed(kJaw.first, kJaw.last);
    reversed(kRightBrow.first, kLeftBrow.last);  // the brows run right to left, 17 ↔ 26
    for (int i = kNoseBridge.first; i <= kNoseBridge.last; ++i) a[i] = i;
    reversed(kLowerNose.first, kLowerNose.last);
    // Eyes: the outer corner (36) ↔ the outer corner (45), the upper lid 37-38 ↔ 44-43, the
    // inner corners 39 ↔ 42, the lower lid 40-41 ↔ 47-46.
    const int right[6] = {36, 37, 38, 39, 40, 41}, left[6] = {45, 44, 43, 42, 47, 46};
    for (int k = 0; k < 6; ++k) a[right[k]] = left[k], a[left[k]] = right[k];
    // Lips: each closed loop starts at the right corner; mirrored, it runs backwards from the
    // left corner: outer 48..54 reversed and 55..59 reversed, inner 60..64 and 65..67.
    reversed(48, 54);
    reversed(55, 59);
    reversed(60, 64);
    reversed(65, 67);
    return a;
  }();
  return m;
}

EulerAngles euler_from_rotation(const Eigen::Matrix3d& r) {
  // R = Rx(p)·Ry(y)·Rz(r): R02 = sin y, R12 = -sin p cos y, R22 = cos p cos y,
  // R01 = -cos y sin r, R00 = cos y cos r.
  EulerAngles a;
  a.yaw = std::asin(std::clamp(r(0, 2), -1.0, 1.0));
  a.pitch = std::atan2(-r(1, 2), r(2, 2));
  a.roll = std::atan2(-r(0, 1), r(0, 0));
  return a;
}

Eigen::Vector3d gaze_from_angles(double theta, double phi) {
  return {-std::cos(theta) * std::sin(phi), -std::sin(theta), -std::cos(theta) * std::cos(phi)};
}

GazeAngles angles_from_gaze(const Eigen::Vector3d& g) {
  const Eigen::Vector3d u = g.normalized();
  return {std::asin(std::clamp(-u.y(), -1.0, 1.0)), std::atan2(-u.x(), -u.z())};
}

namespace {

EyeMeshTemplate build_eye_mesh_template() {
  EyeMeshTemplate t;
  t.vertices.reserve(kEyeVertices);
  t.vertices.emplace_back(0.0, 0.0, -1.0);
  for (int r = 0; r < kEyeRings; ++r) {
    const double a = (r + 1) * kPi / 16.0;
    for (int k = 0; k < kEyeSegments; ++k) {
      const double b = 2.0 * kPi * k / kEyeSegments;
      t.vertices.emplace_back(std::sin(a) * std::cos(b), std::sin(a) * std::sin(b), -std::cos(a));
    }
  }
  t.vertices.emplace_back(0.0, 0.0, 1.0);

  t.triangles.reserve(kEyeTriangles);
  for (int k = 0; k < kEyeSegments; ++k)
    t.triangles.push_back({0, 1 + k, 1 + (k + 1) % kEyeSegments});
  for (int r = 0; r + 1 < kEyeRings; ++r)
    for (int k = 0; k < kEyeSegments; ++k) {
      const int a = eye_ring_vertex(r, k), b = eye_ring_vertex(r, (k + 1) % kEyeSegments);
      t.triangles.push_back({a, a + kEyeSegments, b});
      t.triangles.push_back({b, a + kEyeSegments, b + kEyeSegments});
    }
  const int last = kEyeVertices - 1, last_ring = eye_ring_vertex(kEyeRings - 1, 0);
  for (int k = 0; k < kEyeSegments; ++k)
    t.triangles.push_back({last, last_ring + (k + 1) % kEyeSegments, last_ring + k});

  t.edges.reserve(kEyeEdges);
  for (const auto& tri : t.triangles) {
    t.edges.push_back({tri[0], tri[1]});
    t.edges.push_back({tri[0], tri[2]});
    t.edges.push_back({tri[1], tri[2]});
  }
  return t;
}

Eigen::Vector3d ring_mean(const double* xyz, int ring) {
  Eigen::Vector3d sum = Eigen::Vector3d::Zero();
  for (int k = 0; k < kEyeSegments; ++k) {
    const double* p = xyz + 3 * eye_ring_vertex(ring, k);
    sum += Eigen::Vector3d(p[0], p[1], p[2]);
  }
  return sum / kEyeSegments;
}

}  // namespace

const std::array<int, kEyeVertices>& mirrored_eye_vertices() {
  static const std::array<int, kEyeVertices> m = [] {
    std::array<int, kEyeVertices> a{};
    a[0] = 0;
    a[kEyeVertices - 1] = kEyeVertices - 1;
    for (int r = 0; r < kEyeRings; ++r)
      for (int k = 0; k < kEyeSegments; ++k)
        a[eye_ring_vertex(r, k)] = eye_ring_vertex(r, (kEyeSegments / 2 - k + kEyeSegments) % kEyeSegments);
    return a;
  }();
  return m;
}

const EyeMeshTemplate& eye_mesh_template() {
  static const EyeMeshTemplate t = build_eye_mesh_template();
  return t;
}

Eigen::Vector3d eyeball_centre(const double* xyz) { return ring_mean(xyz, kEquatorRing); }
Eigen::Vector3d iris_centre(const double* xyz) { return ring_mean(xyz, kIrisRing); }
Eigen::Vector3d gaze_from_eye_mesh(const double* xyz) {
  return (iris_centre(xyz) - eyeball_centre(xyz)).normalized();
}

}  // namespace fh::geometry
