// Exact ground truth for one rendered frame, in the model's conventions
// (docs/geometry.md#conventions, #eye-mesh-template, #crops): 68 3D key-points in the
// camera frame (image-normalised x, y; z in the same unit, away from the camera), the
// pose (yaw, pitch, roll in radians, t, s) with the canonical points and expression deformation that satisfy
//   p = s · R · p_can + t + d   exactly (up to float rounding),
// and per eye the gaze (unit vector, camera frame) and the 482-vertex eye mesh in that
// eye's crop coordinates.
//
// The split of identity and expression: p_can is the identity's neutral face (all
// expression parameters 0, eyes open) in the head frame, the same for every frame of an
// identity; d = s · R · (q − p_can) is the expression's displacement q − p_can of each
// point in the head frame, carried into the camera frame by the head's rotation and scale.
#pragma once

#include <array>
#include <vector>

#include "data/head_mesh.h"
#include "data/posed_head.h"
#include "geometry/conventions.h"

namespace fh::data {

struct FrameAnnotation {
  std::array<std::array<float, 3>, 68> keypoints{};
  std::array<std::array<float, 3>, 68> canonical{};    // p_can (head frame, neutral)
  std::array<std::array<float, 3>, 68> deformation{};  // d (camera frame)
  float yaw = 0, pitch = 0, roll = 0;                  // radians
  std::array<float, 9> rotation{};                     // R, row-major
  std::array<float, 3> translation{};
  float scale = 0;
  std::array<std::array<float, 3>, 2> gaze{};          // camera frame, unit; [0] = right eye (36-41)
  std::array<std::array<float, 2>, 2> gaze_angles{};   // camera frame (θ, φ), radians
  std::array<std::array<float, 2>, 2> gaze_head{};     // the parameter: head frame (θ, φ), radians
  std::array<std::array<float, 3>, 2> eye_crop{};      // (cx, cy, side) in pixels
  std::array<std::array<float, 4>, 2> eyeball{};       // centre (camera frame) and radius, normalised units
  std::vector<float> eye_mesh;                         // [2][482][3] crop coordinates
  std::vector<float> identity;                         // kIdentityParams
  std::array<float, kExpressionParams> expression{};
  std::array<float, kLightingParams> lighting{};
};

// The annotation of `head` rendered at `image_size` pixels square.
FrameAnnotation annotate(const PosedHead& head, int image_size);

// The square crop (docs/geometry.md#crops) of eye `e` (0 = right, 1 = left) from key-points in
// normalised coordinates: (c_x, c_y, L) in pixels, as geometry::eye_crop_box.
std::array<double, 3> eye_crop_from_keypoints(const float (*keypoints)[3], int e, int image_size);

}  // namespace fh::data
