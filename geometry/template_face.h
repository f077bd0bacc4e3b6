// An illustrative neutral face: 68 iBUG-ordered 3D key-points, frontal, centred on the
// origin, in the camera frame's axes (x right, y down, z away from the camera) and in
// image-normalised units (the face spans about [-0.65, 0.65] × [-0.4, 0.75]). Hand-made
// for pictures, examples and tests (sketch grids, crop placement); not a statistical mean
// shape.
#pragma once

#include <Eigen/Core>
#include <array>

#include "geometry/conventions.h"

namespace fh::geometry {

const std::array<Eigen::Vector3d, kNumKeypoints>& template_face();

// The template face posed by Eq. 2 without expression: s·R·p + t, R from (yaw, pitch, roll).
std::array<Eigen::Vector3d, kNumKeypoints> posed_template_face(double yaw, double pitch, double roll, double scale,
                                                               const Eigen::Vector3d& translation);

}  // namespace fh::geometry
