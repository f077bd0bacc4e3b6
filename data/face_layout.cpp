#include "data/face_layout.h"

#include <algorithm>
#include <cmath>

namespace fh::data {

double smoothstep(double e0, double e1, double x) {
  const double t = std::clamp((x - e0) / (e1 - e0), 0.0, 1.0);
  return t * t * (3.0 - 2.0 * t);
}

FaceLayout::FaceLayout(const Identity& id) {
  a = id.head_width;
  b = id.head_height;
  c = id.head_depth;
  eye_x = {-id.eye_spacing, id.eye_spacing};
  eye_half_width = id.eye_width;
  upper_lid = id.eye_openness;
  lower_lid = 0.72 * id.eye_openness;
  canthal_tilt = 0.012;
  lash_thickness = 0.011;
  brow_inner = 0.09;
  brow_outer = id.eye_spacing + id.eye_width + 0.05;
  brow_y = id.brow_height;
  brow_arch = id.brow_arch;
  brow_thickness = id.brow_thickness;
  nose_root = -0.02;
  nose_tip = id.nose_length;
  nose_width = id.nose_width;
  nose_protrusion = id.nose_protrusion;
  mouth_y = id.mouth_height;
  mouth_half_width = id.mouth_width;
  upper_lip = id.upper_lip;
  lower_lip = id.lower_lip;
  chin_y = id.chin_height;
  gonion_u = 1.2;
  gonion_y = id.mouth_height + 0.1;
  jaw_taper = id.jaw_width;
  hairline = id.hairline;
  hair_volume = id.hair_volume;
  hair_length = id.hair_length;
}

double FaceLayout::eye_centre_line(int e, double xi) const {
  // The outer corner sits a little higher than the inner one.
  return canthal_tilt * xi * (e == 0 ? 1.0 : -1.0);
}

double FaceLayout::upper_lid_y(int e, double xi, double blink) const {
  const double w = std::max(0.0, 1.0 - xi * xi);
  const double open = eye_centre_line(e, xi) - upper_lid * std::pow(w, 0.8);
  const double closed = eye_centre_line(e, xi) + 0.55 * lower_lid * w;
  return open + blink * (closed - open);
}

double FaceLayout::lower_lid_y(int e, double xi, double blink) const {
  const double w = std::max(0.0, 1.0 - xi * xi);
  const double open = eye_centre_line(e, xi) + lower_lid * w;
  const double closed = eye_centre_line(e, xi) + 0.55 * lower_lid * w;
  return open + blink * (closed - open);
}

double FaceLayout::brow_line_y(double t) const {
  return brow_y - brow_arch * std::sin(3.14159265358979 * std::pow(t, 0.8)) + 0.025 * t * t;
}

double FaceLayout::brow_half_thickness(double t) const {
  return 0.5 * brow_thickness * (1.0 - 0.5 * std::pow(t, 1.5));
}

double FaceLayout::upper_lip_y(double xi) const {
  const double w = std::sqrt(std::max(0.0, 1.0 - xi * xi));
  // Cupid's bow: two peaks either side of a dip at the centre.
  const double bow = 1.0 + 0.12 * std::exp(-std::pow((std::abs(xi) - 0.28) / 0.14, 2)) -
                     0.12 * std::exp(-std::pow(xi / 0.12, 2));
  return mouth_y - kMouthSlit - upper_lip * w * bow;
}

double FaceLayout::lower_lip_y(double xi) const {
  return mouth_y + kMouthSlit + lower_lip * std::pow(std::max(0.0, 1.0 - xi * xi), 0.6);
}

double FaceLayout::jaw_edge_y(double abs_u) const {
  if (abs_u <= gonion_u) {
    const double r = abs_u / gonion_u;
    return chin_y - (chin_y - gonion_y) * r * r;
  }
  // Up the back of the jaw, then round the back of the skull above the neck.
  return std::max(gonion_y - 3.0 * (abs_u - gonion_u), 0.15);
}

double FaceLayout::hair_edge_y(double abs_u) const {
  const double front = hairline + 0.12 * abs_u * abs_u;
  const double side = 0.05 + 0.4 * hair_length;
  const double back = -0.15 + 1.1 * hair_length;
  const double w1 = smoothstep(0.75, 1.25, abs_u), w2 = smoothstep(1.7, 2.4, abs_u);
  return (front + (side - front) * w1) * (1 - w2) + back * w2;
}

Eigen::Vector2d FaceLayout::face_coords(double u, double fy) const {
  const double v = std::asin(std::clamp(fy / b, -1.0, 1.0));
  return {a * std::cos(v) * std::sin(u), fy};
}

Eigen::Vector2d FaceLayout::jaw_point(double u) const { return face_coords(u, jaw_edge_y(std::abs(u))); }

std::array<Eigen::Vector2d, 68> FaceLayout::keypoint_face_coords(double blink_right, double blink_left) const {
  std::array<Eigen::Vector2d, 68> k;
  // Jaw 0-16: up the side of the face from the jaw angle, then along the jaw edge to the chin.
  for (int i = 0; i <= 16; ++i) {
    const double tau = std::abs(i - 8) / 8.0, side = i < 8 ? -1.0 : 1.0;
    const double u = tau <= 0.5 ? gonion_u * tau / 0.5 : gonion_u + 0.25 * (tau - 0.5) / 0.5;
    k[i] = jaw_point(side * u);
  }
  // Brows 17-21 (right, outer to inner) and 22-26 (left, inner to outer), on the centre line.
  for (int i = 0; i < 5; ++i) {
    const double t_right = 1.0 - i / 4.0, t_left = i / 4.0;
    k[17 + i] = {-brow_line_x(t_right), brow_line_y(t_right)};
    k[22 + i] = {brow_line_x(t_left), brow_line_y(t_left)};
  }
  // Nose bridge 27-30 (root to tip) and base 31-35 (image left to right).
  for (int i = 0; i < 4; ++i) k[27 + i] = {0.0, nose_root + (nose_tip - nose_root) * i / 3.0};
  const double base_x[5] = {-0.85, -0.45, 0.0, 0.45, 0.85}, base_dy[5] = {0.035, 0.055, 0.06, 0.055, 0.035};
  for (int i = 0; i < 5; ++i) k[31 + i] = {base_x[i] * nose_width, nose_tip + base_dy[i]};
  // Eyes: corner, two upper-lid points, corner, two lower-lid points, clockwise in the image.
  const double blinks[2] = {blink_right, blink_left};
  const double xis[6] = {-1.0, -1.0 / 3, 1.0 / 3, 1.0, 1.0 / 3, -1.0 / 3};
  for (int e = 0; e < 2; ++e)
    for (int i = 0; i < 6; ++i) {
      const double xi = xis[i];
      const double y = i == 0 || i == 3 ? eye_centre_line(e, xi)
                       : i < 3           ? upper_lid_y(e, xi, blinks[e])
                                         : lower_lid_y(e, xi, blinks[e]);
      k[36 + 6 * e + i] = {eye_x[e] + xi * eye_half_width, y};
    }
  // Outer lip 48-59: left corner, upper contour left to right, right corner, lower right to left.
  const double outer_xi[5] = {-0.6, -0.25, 0.0, 0.25, 0.6};
  k[48] = {-mouth_half_width, mouth_y};
  for (int i = 0; i < 5; ++i) k[49 + i] = {outer_xi[i] * mouth_half_width, upper_lip_y(outer_xi[i])};
  k[54] = {mouth_half_width, mouth_y};
  for (int i = 0; i < 5; ++i) k[55 + i] = {outer_xi[4 - i] * mouth_half_width, lower_lip_y(outer_xi[4 - i])};
  // Inner lip 60-67: the edges of the slit that opens into the mouth.
  const double inner_xi[3] = {-0.5, 0.0, 0.5};
  k[60] = {-0.95 * mouth_half_width, mouth_y};
  for (int i = 0; i < 3; ++i) k[61 + i] = {inner_xi[i] * mouth_half_width, mouth_y - kMouthSlit};
  k[64] = {0.95 * mouth_half_width, mouth_y};
  for (int i = 0; i < 3; ++i) k[65 + i] = {inner_xi[2 - i] * mouth_half_width, mouth_y + kMouthSlit};
  return k;
}

}  // namespace fh::data
