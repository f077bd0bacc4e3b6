// Where the facial features are, in the head's face coordinates. Every vertex of the head
// mesh carries its face coordinates (fx, fy, |u|): fx, fy are the frontal position of the
// underlying cranium ellipsoid (x right, y down, head units; the eyes are on fy = 0) and u
// is the longitude (0 at the front, ±π at the back). The renderer decides what a surface
// sample shows (skin, lips, lids, the eyeball, brows, hair, the mouth's interior) from its
// interpolated face coordinates, and each key-point is the surface point at given face
// coordinates — so a key-point lands exactly where the render draws its feature.
#pragma once

#include <array>

#include <Eigen/Core>

#include "data/head_params.h"

namespace fh::data {

// Half-height of the slit between the lips: the rows fy = mouth ± kMouthSlit are mesh rows,
// and the jaw's drop stretches the band between them into the open mouth.
inline constexpr double kMouthSlit = 0.008;

struct FaceLayout {
  explicit FaceLayout(const Identity& id);

  // Cranium ellipsoid half-axes.
  double a, b, c;
  // Eyes: centre x of each opening (0 = subject's right, image left), half-width, lid heights.
  std::array<double, 2> eye_x;
  double eye_half_width, upper_lid, lower_lid, canthal_tilt, lash_thickness;
  // Brows: inner and outer end x (positive; mirrored for the right brow), centre line height.
  double brow_inner, brow_outer, brow_y, brow_arch, brow_thickness;
  // Nose.
  double nose_root, nose_tip, nose_width, nose_protrusion;
  // Mouth.
  double mouth_y, mouth_half_width, upper_lip, lower_lip;
  // Jaw edge: chin at (u = 0, fy = chin_y), jaw angle at (|u| = gonion_u, fy = gonion_y).
  double chin_y, gonion_u, gonion_y, jaw_taper;
  // Hair.
  double hairline, hair_volume, hair_length;

  // Eye e's lid curves at ξ = (fx − eye_x[e]) / eye_half_width ∈ [-1, 1], for a blink in [0, 1].
  double eye_centre_line(int e, double xi) const;
  double upper_lid_y(int e, double xi, double blink) const;
  double lower_lid_y(int e, double xi, double blink) const;
  // Brow centre line at |fx|, for t ∈ [0, 1] from the inner end to the outer end.
  double brow_line_x(double t) const { return brow_inner + (brow_outer - brow_inner) * t; }
  double brow_line_y(double t) const;
  double brow_half_thickness(double t) const;
  // Lip contours at ξ = fx / mouth_half_width ∈ [-1, 1].
  double upper_lip_y(double xi) const;
  double lower_lip_y(double xi) const;
  // Jaw edge height at longitude |u|: the surface below it turns under the jaw.
  double jaw_edge_y(double abs_u) const;
  // Front hairline height at longitude |u| (hair above it).
  double hair_edge_y(double abs_u) const;

  // The 68 key-points' face coordinates (fx, fy) for the given blinks.
  std::array<Eigen::Vector2d, 68> keypoint_face_coords(double blink_right, double blink_left) const;
  // Face coordinates of a point on the jaw edge at longitude u (signed).
  Eigen::Vector2d jaw_point(double u) const;
  Eigen::Vector2d face_coords(double u, double fy) const;  // (fx, fy) from longitude and height
};

double smoothstep(double e0, double e1, double x);

}  // namespace fh::data
