#include "geometry/template_face.h"

#include <cmath>

namespace fh::geometry {

namespace {

std::array<Eigen::Vector3d, kNumKeypoints> build_face() {
  std::array<Eigen::Vector3d, kNumKeypoints> p;
  // Jaw 0-16: half an ellipse from the right ear (image left) under the chin to the left
  // ear, the ears further from the camera than the chin.
  for (int i = 0; i <= 16; ++i) {
    const double a = kPi * i / 16.0;
    p[i] = {-0.64 * std::cos(a), -0.12 + 0.85 * std::sin(a), 0.08 + 0.5 * std::cos(a) * std::cos(a)};
  }
  // The left brow mirrors the right one about x = 0.
  const std::array<std::pair<int, Eigen::Vector3d>, 5> right_brow{{{17, {-0.52, -0.30, 0.02}},
                                                                   {18, {-0.42, -0.37, -0.06}},
                                                                   {19, {-0.31, -0.39, -0.10}},
                                                                   {20, {-0.20, -0.38, -0.12}},
                                                                   {21, {-0.10, -0.34, -0.13}}}};
  const auto& partner = mirrored_keypoints();
  auto mirror = [&](int i) { p[partner[i]] = {-p[i].x(), p[i].y(), p[i].z()}; };
  for (const auto& [i, q] : right_brow) {
    p[i] = q;
    mirror(i);  // 17 <-> 26, …, 21 <-> 22
  }
  p[27] = {0, -0.22, -0.15}, p[28] = {0, -0.12, -0.21}, p[29] = {0, -0.02, -0.27}, p[30] = {0, 0.08, -0.33};
  p[31] = {-0.12, 0.16, -0.17}, p[32] = {-0.06, 0.18, -0.21}, p[33] = {0, 0.19, -0.23};
  p[34] = {0.06, 0.18, -0.21}, p[35] = {0.12, 0.16, -0.17};
  // Eyes: outer corner, upper lid, inner corner, lower lid, clockwise in the image.
  p[36] = {-0.41, -0.185, -0.02}, p[37] = {-0.335, -0.24, -0.06}, p[38] = {-0.235, -0.24, -0.07};
  p[39] = {-0.155, -0.18, -0.05}, p[40] = {-0.235, -0.13, -0.06}, p[41] = {-0.335, -0.13, -0.06};
  // The left eye mirrors the right one (42 <-> 39, 43 <-> 38, …).
  for (int i = kRightEye.first; i <= kRightEye.last; ++i) mirror(i);
  // Outer lip 48-59 from the right corner over the upper lip, then back under the lower lip.
  p[48] = {-0.23, 0.40, -0.10}, p[49] = {-0.15, 0.34, -0.16}, p[50] = {-0.06, 0.31, -0.19}, p[51] = {0, 0.32, -0.20};
  p[52] = {0.06, 0.31, -0.19}, p[53] = {0.15, 0.34, -0.16}, p[54] = {0.23, 0.40, -0.10};
  p[55] = {0.15, 0.47, -0.15}, p[56] = {0.06, 0.50, -0.18}, p[57] = {0, 0.505, -0.18};
  p[58] = {-0.06, 0.50, -0.18}, p[59] = {-0.15, 0.47, -0.15};
  // Inner lip 60-67, a slightly open mouth.
  p[60] = {-0.19, 0.40, -0.12}, p[61] = {-0.06, 0.375, -0.17}, p[62] = {0, 0.375, -0.18}, p[63] = {0.06, 0.375, -0.17};
  p[64] = {0.19, 0.40, -0.12}, p[65] = {0.06, 0.425, -0.17}, p[66] = {0, 0.43, -0.18}, p[67] = {-0.06, 0.425, -0.17};
  return p;
}

}  // namespace

const std::array<Eigen::Vector3d, kNumKeypoints>& template_face() {
  static const std::array<Eigen::Vector3d, kNumKeypoints> face = build_face();
  return face;
}

std::array<Eigen::Vector3d, kNumKeypoints> posed_template_face(double yaw, double pitch, double roll, double scale,
                                                               const Eigen::Vector3d& translation) {
  const Eigen::Matrix3d r = rotation_from_euler(yaw, pitch, roll);
  std::array<Eigen::Vector3d, kNumKeypoints> out;
  for (int i = 0; i < kNumKeypoints; ++i) out[i] = scale * (r * template_face()[i]) + translation;
  return out;
}

}  // namespace fh::geometry
