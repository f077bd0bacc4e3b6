#include "data/head_params.h"

#include <algorithm>
#include <cmath>

#include "data/random_stream.h"
#include "runtime/error.h"

namespace fh::data {

namespace {

// Identity scalars: name, member, range of the random draw.
struct IdentityField {
  const char* name;
  double Identity::*member;
  double lo, hi;
};

const IdentityField kIdentityFields[kIdentityScalars] = {
    {"head_width", &Identity::head_width, 0.88, 1.02},
    {"head_height", &Identity::head_height, 1.22, 1.38},
    {"head_depth", &Identity::head_depth, 1.0, 1.15},
    {"jaw_width", &Identity::jaw_width, 0.62, 0.82},
    {"chin_height", &Identity::chin_height, 1.01, 1.24},  // drawn as 0.83..0.9 of head_height
    {"nose_length", &Identity::nose_length, 0.31, 0.41},
    {"nose_width", &Identity::nose_width, 0.09, 0.135},
    {"nose_protrusion", &Identity::nose_protrusion, 0.17, 0.3},
    {"eye_spacing", &Identity::eye_spacing, 0.31, 0.37},
    {"eye_width", &Identity::eye_width, 0.14, 0.17},
    {"eye_openness", &Identity::eye_openness, 0.05, 0.075},
    {"mouth_width", &Identity::mouth_width, 0.21, 0.3},
    {"mouth_height", &Identity::mouth_height, 0.63, 0.73},
    {"upper_lip", &Identity::upper_lip, 0.032, 0.06},
    {"lower_lip", &Identity::lower_lip, 0.045, 0.075},
    {"brow_height", &Identity::brow_height, -0.25, -0.17},
    {"brow_thickness", &Identity::brow_thickness, 0.025, 0.05},
    {"brow_arch", &Identity::brow_arch, 0.0, 0.05},
    {"hairline", &Identity::hairline, -0.85, -0.58},
    {"hair_volume", &Identity::hair_volume, 0.04, 0.22},
    {"hair_length", &Identity::hair_length, 0.0, 1.0},
};

const char* const kColourNames[5] = {"skin", "hair", "iris", "lip", "clothes"};
Eigen::Vector3d Identity::*const kColourMembers[5] = {&Identity::skin_colour, &Identity::hair_colour,
                                                      &Identity::iris_colour, &Identity::lip_colour,
                                                      &Identity::clothes_colour};

const std::vector<std::string> kExpressionNames = {"jaw_open",   "smile",      "mouth_stretch", "brow_raise",
                                                   "brow_frown", "blink_right", "blink_left"};
double Expression::*const kExpressionMembers[kExpressionParams] = {
    &Expression::jaw_open,   &Expression::smile,       &Expression::mouth_stretch, &Expression::brow_raise,
    &Expression::brow_frown, &Expression::blink_right, &Expression::blink_left};

Eigen::Vector3d clamp01(const Eigen::Vector3d& c) { return c.cwiseMax(0.0).cwiseMin(1.0); }

Eigen::Vector3d lerp(const Eigen::Vector3d& a, const Eigen::Vector3d& b, double t) { return a + (b - a) * t; }

Eigen::Vector3d jitter(RandomStream& rng, const Eigen::Vector3d& c, double amount) {
  return clamp01(c + Eigen::Vector3d(rng.uniform(-amount, amount), rng.uniform(-amount, amount),
                                     rng.uniform(-amount, amount)));
}

}  // namespace

const std::vector<std::string>& identity_param_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& f : kIdentityFields) n.emplace_back(f.name);
    for (const char* c : kColourNames)
      for (const char* ch : {"_r", "_g", "_b"}) n.push_back(std::string(c) + "_colour" + ch);
    return n;
  }();
  return names;
}

std::vector<float> identity_vector(const Identity& id) {
  std::vector<float> v;
  v.reserve(kIdentityParams);
  for (const auto& f : kIdentityFields) v.push_back(static_cast<float>(id.*(f.member)));
  for (auto m : kColourMembers)
    for (int c = 0; c < 3; ++c) v.push_back(static_cast<float>((id.*m)[c]));
  return v;
}

Identity identity_from_vector(const float* values) {
  Identity id;
  int i = 0;
  for (const auto& f : kIdentityFields) id.*(f.member) = values[i++];
  for (auto m : kColourMembers)
    for (int c = 0; c < 3; ++c) (id.*m)[c] = values[i++];
  return id;
}

const std::vector<std::string>& expression_param_names() { return kExpressionNames; }

std::array<double, kExpressionParams> expression_vector(const Expression& e) {
  std::array<double, kExpressionParams> v{};
  for (int i = 0; i < kExpressionParams; ++i) v[i] = e.*kExpressionMembers[i];
  return v;
}

Expression expression_from_vector(const double* values) {
  Expression e;
  for (int i = 0; i < kExpressionParams; ++i) e.*kExpressionMembers[i] = values[i];
  return e;
}

Identity sample_identity(RandomStream& rng) {
  Identity id;
  for (const auto& f : kIdentityFields) id.*(f.member) = rng.uniform(f.lo, f.hi);
  // Skin: a tone between light and dark, with a little warmth variation.
  const Eigen::Vector3d light(0.93, 0.78, 0.68), dark(0.36, 0.24, 0.18);
  id.skin_colour = jitter(rng, lerp(light, dark, std::pow(rng.uniform(), 1.3)), 0.035);
  // Hair: black, dark brown, brown, blond, auburn or grey, then a small jitter.
  static const Eigen::Vector3d kHair[6] = {{0.06, 0.05, 0.05}, {0.2, 0.13, 0.08}, {0.38, 0.25, 0.15},
                                           {0.75, 0.6, 0.38},  {0.5, 0.22, 0.1},  {0.62, 0.6, 0.58}};
  id.hair_colour = jitter(rng, kHair[rng.integer(6)], 0.04);
  // Iris: brown, hazel, green, blue or grey.
  static const Eigen::Vector3d kIris[5] = {
      {0.32, 0.18, 0.08}, {0.45, 0.35, 0.15}, {0.25, 0.45, 0.25}, {0.25, 0.45, 0.75}, {0.45, 0.5, 0.55}};
  id.iris_colour = jitter(rng, kIris[rng.integer(5)], 0.05);
  // Lips: the skin reddened and darkened.
  id.lip_colour = jitter(rng, id.skin_colour.cwiseProduct(Eigen::Vector3d(0.92, 0.6, 0.62)), 0.03);
  id.clothes_colour = Eigen::Vector3d(rng.uniform(0.05, 0.9), rng.uniform(0.05, 0.9), rng.uniform(0.05, 0.9));
  // The chin sits a set fraction down the cranium so the jaw always fits on the mesh.
  id.chin_height = id.head_height * rng.uniform(0.83, 0.9);
  return id;
}

Lighting sample_lighting(RandomStream& rng) {
  Lighting l;
  const double elevation = rng.uniform(0.15, 0.9), azimuth = rng.uniform(-1.0, 1.0);
  l.direction = Eigen::Vector3d(std::sin(azimuth) * std::cos(elevation), -std::sin(elevation),
                                -std::cos(azimuth) * std::cos(elevation));
  l.ambient = rng.uniform(0.3, 0.5);
  l.diffuse = rng.uniform(0.55, 0.8);
  l.specular = rng.uniform(0.15, 0.4);
  return l;
}

Background sample_background(RandomStream& rng) {
  Background b;
  const Eigen::Vector3d base(rng.uniform(0.1, 0.85), rng.uniform(0.1, 0.85), rng.uniform(0.1, 0.85));
  b.top = jitter(rng, base, 0.15);
  b.bottom = clamp01(jitter(rng, base, 0.15) * rng.uniform(0.5, 0.9));
  const int blobs = static_cast<int>(rng.integer(5));
  for (int i = 0; i < blobs; ++i) {
    Background::Blob blob;
    blob.centre = Eigen::Vector2d(rng.uniform(-1.2, 1.2), rng.uniform(-1.2, 1.2));
    blob.radius = rng.uniform(0.15, 0.8);
    blob.colour = Eigen::Vector3d(rng.uniform(), rng.uniform(), rng.uniform());
    blob.strength = rng.uniform(0.2, 0.7);
    b.blobs.push_back(blob);
  }
  return b;
}

}  // namespace fh::data
