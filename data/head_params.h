// The parameters of a synthetic talking head: who it is (identity), what the face does
// (expression), where the head is (pose), where each eye looks (gaze), and the scene
// (lighting and background). Lengths are in head units (the cranium's half-width is about
// 1) unless stated; angles are radians. docs/data.md lists every parameter with its range.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

namespace fh::data {

// Identity: the neutral face. The range each field is drawn from is in head_params.cpp
// (kIdentityFields) and docs/data.md.
struct Identity {
  double head_width = 0.95;       // half-width of the cranium
  double head_height = 1.30;      // half-height of the cranium
  double head_depth = 1.08;       // front depth of the cranium
  double jaw_width = 0.72;        // width of the lower face relative to the cranium
  double chin_height = 1.12;      // y of the chin's lowest front point
  double nose_length = 0.36;      // y of the nose tip
  double nose_width = 0.11;       // half-width of the nostril wings
  double nose_protrusion = 0.24;  // how far the nose tip stands out
  double eye_spacing = 0.34;      // x of each eye's centre
  double eye_width = 0.155;       // half-width of the eye opening (corner to centre)
  double eye_openness = 0.062;    // height of the upper lid above the eye's centre line
  double mouth_width = 0.26;      // half-width of the mouth (corner to centre)
  double mouth_height = 0.68;     // y of the line between the lips
  double upper_lip = 0.045;       // upper lip thickness
  double lower_lip = 0.06;        // lower lip thickness
  double brow_height = -0.2;      // y of the brows' centre line
  double brow_thickness = 0.035;
  double brow_arch = 0.03;
  double hairline = -0.72;        // y of the front hairline
  double hair_volume = 0.06;      // how far hair stands off the skull
  double hair_length = 0.35;      // y where hair ends at the back and sides
  Eigen::Vector3d skin_colour{0.78, 0.58, 0.46};  // RGB in [0, 1]
  Eigen::Vector3d hair_colour{0.22, 0.15, 0.1};
  Eigen::Vector3d iris_colour{0.3, 0.42, 0.55};
  Eigen::Vector3d lip_colour{0.7, 0.38, 0.38};
  Eigen::Vector3d clothes_colour{0.25, 0.3, 0.45};
};

// The identity vector stored in annotation files: the scalar fields in declaration order,
// then the five colours (r, g, b each).
inline constexpr int kIdentityScalars = 21;
inline constexpr int kIdentityParams = kIdentityScalars + 15;  // 36
const std::vector<std::string>& identity_param_names();
std::vector<float> identity_vector(const Identity& id);
Identity identity_from_vector(const float* values);  // inverse of identity_vector

// Expression, all zero for the neutral face. Blinks change where the lids are, not the mesh.
struct Expression {
  double jaw_open = 0;      // [0, 1]: the jaw drops and the mouth opens onto its interior
  double smile = 0;         // [0, 1]: corners up and out, cheeks raised
  double mouth_stretch = 0; // [-1, 1]: -1 puckers (narrow, forward), +1 stretches (wide, back)
  double brow_raise = 0;    // [0, 1]
  double brow_frown = 0;    // [0, 1]: inner brow ends down and together
  double blink_right = 0;   // [0, 1]: the subject's right eye (image left, key-points 36-41); 1 = closed
  double blink_left = 0;    // [0, 1]: key-points 42-47
};
inline constexpr int kExpressionParams = 7;
// The first five move the mesh (linear blend shapes); the blinks move the lids.
inline constexpr int kShapeExpressions = 5;
const std::vector<std::string>& expression_param_names();
std::array<double, kExpressionParams> expression_vector(const Expression& e);
Expression expression_from_vector(const double* values);

// Head pose: p_camera = scale · R(yaw, pitch, roll) · p_head + translation, in the image's
// normalised coordinates (geometry/conventions.h: R = Rx(pitch)·Ry(yaw)·Rz(roll)).
struct Pose {
  double yaw = 0, pitch = 0, roll = 0;  // radians: ±45°, ±25°, ±20°
  Eigen::Vector3d translation = Eigen::Vector3d::Zero();  // z is always 0 (orthographic camera)
  double scale = 0.5;
};

// Per-eye gaze in the head frame (the eye's rotation in its socket), in the model's
// (θ = pitch, φ = yaw) convention (docs/geometry.md#conventions): θ within ±25°,
// φ within ±35°. Index 0 is the subject's right eye (36-41), 1 the left (42-47).
struct EyeGaze {
  double theta = 0, phi = 0;
};

// Lighting: one directional light plus ambient; `direction` points from the face towards
// the light, in the camera frame.
struct Lighting {
  Eigen::Vector3d direction{0.3, -0.5, -0.8};
  double ambient = 0.4;
  double diffuse = 0.65;
  double specular = 0.25;  // strength of the eyes' catch-lights
};
inline constexpr int kLightingParams = 6;  // direction (3), ambient, diffuse, specular

// Background: a vertical gradient with soft blobs, drawn once per clip.
struct Background {
  Eigen::Vector3d top{0.5, 0.5, 0.55}, bottom{0.3, 0.3, 0.32};
  struct Blob {
    Eigen::Vector2d centre;  // normalised image coordinates
    double radius;           // normalised units
    Eigen::Vector3d colour;
    double strength;
  };
  std::vector<Blob> blobs;
};

// Everything one frame needs.
struct FrameParams {
  Expression expression;
  Pose pose;
  std::array<EyeGaze, 2> gaze;
  Lighting lighting;
};

// Random draws of each part (data/random_stream.h supplies the numbers).
class RandomStream;
Identity sample_identity(RandomStream& rng);
Lighting sample_lighting(RandomStream& rng);
Background sample_background(RandomStream& rng);

}  // namespace fh::data
