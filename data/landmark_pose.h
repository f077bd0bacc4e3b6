// Annotations from a landmark detector's 68 3D points, for real footage (`freehead prep`),
// in the same conventions as the synthetic ground truth (data/annotation.h):
//
// - pose (R, t, s): a least-squares similarity fit (Umeyama's closed form) of the clip's
//   canonical shape to each frame's points, over the points that expressions move least
//   (the nose and the eye corners);
// - canonical key-points p_can: one shape per clip, the per-coordinate median over its frames
//   of the points with the pose taken out, so that frames with the mouth open or the eyes
//   shut do not pull it; found by alternating with the pose fits, starting from the frontal
//   template, and put in the template's frame and scale (a head frame in head units, as the
//   synthetic heads' canonical points are) by a fit to a morphable model of the synthetic
//   heads (level_with_template). Landmarks fix yaw and roll of that frame (a face is
//   left-right symmetric) but not, by themselves, its pitch: where "level" lies differs
//   between faces. A rigid fit to the average face tilts synthetic heads by up to about 1°;
//   the morphable fit, which lets the face's proportions be its own, finds their frame within
//   0.16° (median; 299 of 300 random heads within 0.5°). Poses relative to the frame do not
//   depend on it;
// - deformation d = p − (s·R·p_can + t), so Eq. 1–2 hold to rounding;
// - eye crops from the key-points; gaze only when given, and with it an eye mesh per eye (the
//   template sphere of radius 0.75 × the eye's half-width behind the crop's centre, turned to
//   look along the gaze), so E_gaze can train on the data.
#pragma once

#include <Eigen/Core>
#include <array>
#include <optional>
#include <vector>

#include "data/annotation.h"

namespace fh::data {

using Keypoints68 = std::array<Eigen::Vector3d, 68>;

// The frontal template: the canonical key-points of freehead's average synthetic head
// (every identity parameter at the middle of its range), head frame, head units.
const Keypoints68& frontal_template();

// The key-points that expressions move least: the nose ridge, the eye corners and the jaw
// line's top.
const std::vector<int>& rigid_keypoints();
// The points that place the canonical shape in the template's frame: the eye corners and
// the top of the nose (27).
const std::vector<int>& gauge_keypoints();

struct Similarity {
  Eigen::Matrix3d R = Eigen::Matrix3d::Identity();
  Eigen::Vector3d t = Eigen::Vector3d::Zero();
  double s = 1;
  Eigen::Vector3d apply(const Eigen::Vector3d& q) const { return s * (R * q) + t; }
};

// The s, R (a rotation), t minimising Σ |s·R·a_i + t − b_i|² over `indices`.
Similarity fit_similarity(const Keypoints68& a, const Keypoints68& b, const std::vector<int>& indices);

// The points the morphable fit reads: the upper jaw line, the nose ridge and the eye
// corners, which neither expressions nor blinks move.
const std::vector<int>& shape_keypoints();

// The similarity that puts a face's canonical shape in the template's head frame: the
// least-squares fit of s·R·shape + t to a morphable model of freehead's synthetic heads (the
// canonical key-points as a function of the identity parameters that move them) over
// shape_keypoints(), jointly in pose and identity, from `start`. The identity takes up the
// face's own proportions, so what is left for R is the head's orientation: on synthetic
// heads this finds their own frame within 0.16° (median over 300 random heads; 299 within
// 0.5°, the worst 0.57°: tests/test_prep.cpp), where a rigid fit to the average face tilts
// them by up to 1.5°.
Similarity level_with_template(const Keypoints68& shape, const Similarity& start);

// One clip: key-points [T] in the normalised camera frame of the S×S frames, and optionally
// each frame's unit gaze per eye (camera frame). Errors name `what`.
std::vector<FrameAnnotation> annotate_landmarks(const std::vector<Keypoints68>& keypoints, int image_size,
                                                const std::vector<std::array<Eigen::Vector3d, 2>>* gaze,
                                                const std::string& what);

}  // namespace fh::data
