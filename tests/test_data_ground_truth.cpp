// The synthetic data's ground truth: gaze read off the stored eye meshes, Eq. 1-2 of the
// canonical key-points, the eye-crop mapping, and key-points landing on the rendered
// features they name.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "data/annotation.h"
#include "data/head_mesh.h"
#include "data/posed_head.h"
#include "data/renderer.h"
#include "data/sequence.h"
#include "data/synth.h"
#include "geometry/conventions.h"
#include "runtime/error.h"

using namespace fh::data;
using fh::geometry::deg_to_rad;
using fh::geometry::rad_to_deg;

namespace {

double angle_deg(const Eigen::Vector3d& a, const Eigen::Vector3d& b) {
  return rad_to_deg(std::acos(std::clamp(a.normalized().dot(b.normalized()), -1.0, 1.0)));
}

// Frames from clip scripts plus the corners of the pose and gaze ranges.
std::vector<std::pair<int, FrameParams>> sample_frames() {
  std::vector<std::pair<int, FrameParams>> out;
  for (int id = 0; id < 3; ++id) {
    const ClipScript script(11, id, 0, 60);
    for (int t = 0; t < 60; t += 7) out.emplace_back(id, script.frame(t));
  }
  for (int k = 0; k < 8; ++k) {
    FrameParams p;
    p.pose.yaw = deg_to_rad(k & 1 ? 45 : -45);
    p.pose.pitch = deg_to_rad(k & 2 ? 25 : -25);
    p.pose.roll = deg_to_rad(k & 4 ? 20 : -20);
    p.pose.translation = Eigen::Vector3d(0.05 * k - 0.2, -0.1, 0);
    p.pose.scale = 0.5 + 0.02 * k;
    p.gaze[0] = {deg_to_rad(k & 1 ? 25 : -25), deg_to_rad(k & 2 ? 35 : -35)};
    p.gaze[1] = {deg_to_rad(k & 4 ? 25 : -25), deg_to_rad(k & 1 ? -35 : 35)};
    p.expression.jaw_open = (k % 3) * 0.5;
    p.expression.blink_left = k % 2;
    out.emplace_back(k % 3, p);
  }
  return out;
}

}  // namespace

TEST_CASE("synthetic data: the gaze computed from each eye mesh matches the gaze parameter within 0.1 degrees") {
  double worst_mesh = 0, worst_vector = 0, worst_angles = 0;
  int eyes = 0;
  const HeadMesh meshes[3] = {HeadMesh(identity_for(11, 0)), HeadMesh(identity_for(11, 1)), HeadMesh(identity_for(11, 2))};
  for (const auto& [id, p] : sample_frames()) {
    const HeadMesh& mesh = meshes[id];
    PosedHead head;
    pose_head(mesh, p, head);
    const FrameAnnotation a = annotate(head, 128);
    // The parameter is the head-frame gaze; the camera sees it turned by the head's rotation.
    const Eigen::Matrix3d r = fh::geometry::rotation_from_euler(p.pose.yaw, p.pose.pitch, p.pose.roll);
    for (int e = 0; e < 2; ++e) {
      const Eigen::Vector3d want = r * fh::geometry::gaze_from_angles(p.gaze[e].theta, p.gaze[e].phi);
      std::vector<double> xyz(a.eye_mesh.begin() + e * fh::geometry::kEyeVertices * 3,
                              a.eye_mesh.begin() + (e + 1) * fh::geometry::kEyeVertices * 3);
      worst_mesh = std::max(worst_mesh, angle_deg(fh::geometry::gaze_from_eye_mesh(xyz.data()), want));
      const Eigen::Vector3d stored(a.gaze[e][0], a.gaze[e][1], a.gaze[e][2]);
      worst_vector = std::max(worst_vector, angle_deg(stored, want));
      CHECK(stored.norm() == doctest::Approx(1.0).epsilon(1e-6));
      const auto ang = fh::geometry::angles_from_gaze(want);
      worst_angles = std::max({worst_angles, std::abs(rad_to_deg(a.gaze_angles[e][0] - ang.theta)),
                               std::abs(rad_to_deg(a.gaze_angles[e][1] - ang.phi))});
      CHECK(a.gaze_head[e][0] == static_cast<float>(p.gaze[e].theta));
      ++eyes;
    }
  }
  INFO("eyes checked: " << eyes << ", worst mesh gaze error " << worst_mesh << " deg, stored vector " << worst_vector
                        << " deg, stored angles " << worst_angles << " deg");
  CHECK(eyes >= 40);
  CHECK(worst_mesh < 0.1);
  CHECK(worst_vector < 0.01);
  CHECK(worst_angles < 0.01);
}

TEST_CASE("synthetic data: p = s*R*p_can + t + d holds, p_can is the identity's, d vanishes for a neutral face") {
  const HeadMesh mesh(identity_for(3, 1));
  const ClipScript script(3, 1, 0, 30);
  std::array<std::array<float, 3>, 68> first_canonical{};
  for (int t = 0; t < 30; t += 3) {
    const FrameParams p = script.frame(t);
    PosedHead head;
    pose_head(mesh, p, head);
    const FrameAnnotation a = annotate(head, 256);
    if (t == 0) first_canonical = a.canonical;
    CHECK(a.canonical == first_canonical);
    const Eigen::Matrix3d r = fh::geometry::rotation_from_euler(a.yaw, a.pitch, a.roll);
    double worst_r = 0, worst_eq = 0;
    for (int i = 0; i < 9; ++i) worst_r = std::max(worst_r, std::abs(a.rotation[i] - r(i / 3, i % 3)));
    for (int k = 0; k < 68; ++k) {
      const Eigen::Vector3d can(a.canonical[k][0], a.canonical[k][1], a.canonical[k][2]);
      const Eigen::Vector3d t3(a.translation[0], a.translation[1], a.translation[2]);
      const Eigen::Vector3d d(a.deformation[k][0], a.deformation[k][1], a.deformation[k][2]);
      const Eigen::Vector3d p3(a.keypoints[k][0], a.keypoints[k][1], a.keypoints[k][2]);
      worst_eq = std::max(worst_eq, (a.scale * (r * can) + t3 + d - p3).cwiseAbs().maxCoeff());
      // Eq. 1, the inverse: p_can = (1/s)·Rᵀ·(p − d − t).
      const Eigen::Vector3d back = r.transpose() * (p3 - d - t3) / a.scale;
      CHECK((back - can).cwiseAbs().maxCoeff() < 1e-5);
    }
    CHECK(worst_r < 1e-6);
    CHECK(worst_eq < 1e-5);
  }
  // The neutral face has no deformation; an open jaw moves the chin (point 8) down.
  FrameParams neutral;
  neutral.pose.yaw = 0.3;
  PosedHead head;
  pose_head(mesh, neutral, head);
  FrameAnnotation a = annotate(head, 256);
  double worst_d = 0;
  for (const auto& d : a.deformation) worst_d = std::max({worst_d, std::abs(double(d[0])), std::abs(double(d[1])), std::abs(double(d[2]))});
  CHECK(worst_d < 1e-5);
  neutral.expression.jaw_open = 1.0;
  pose_head(mesh, neutral, head);
  a = annotate(head, 256);
  CHECK(a.deformation[8][1] > 0.1 * neutral.pose.scale);
  CHECK(std::abs(a.deformation[30][1]) < 1e-4);  // the nose tip stays
}

TEST_CASE("synthetic data: head motion scales how far the head turns, and nothing else") {
  // Each angle is limit·tanh((centre + motion·wave(t)) / limit): undoing the soft limit
  // leaves a line in the motion, so the steps from motion 1 to 2 and from 2 to 3 are equal.
  const double limits[3] = {fh::geometry::deg_to_rad(45), fh::geometry::deg_to_rad(25), fh::geometry::deg_to_rad(20)};
  auto unlimited = [&](const Pose& p, int k) {
    const double a = k == 0 ? p.yaw : k == 1 ? p.pitch : p.roll;
    return limits[k] * std::atanh(a / limits[k]);
  };
  std::vector<double> gap_yaw[2];  // |Δyaw| over 16 frames at motion 1 and 3, degrees
  double worst_line = 0;
  for (int id = 0; id < 24; ++id) {
    const ClipScript one(7, id, 0, 64), same(7, id, 0, 64, 1.0), two(7, id, 0, 64, 2.0), three(7, id, 0, 64, 3.0);
    for (int t = 0; t < 64; ++t) {
      const FrameParams a = one.frame(t), b = two.frame(t), c = three.frame(t), d = same.frame(t);
      CHECK(d.pose.yaw == a.pose.yaw);  // the default is motion 1
      CHECK(expression_vector(c.expression) == expression_vector(a.expression));
      CHECK(c.pose.translation == a.pose.translation);
      CHECK(c.pose.scale == a.pose.scale);
      CHECK(c.lighting.direction == a.lighting.direction);
      for (int k = 0; k < 3; ++k) {
        const double u1 = unlimited(a.pose, k), u2 = unlimited(b.pose, k), u3 = unlimited(c.pose, k);
        worst_line = std::max(worst_line, std::abs((u3 - u2) - (u2 - u1)));
      }
      if (t + 16 < 64) {
        gap_yaw[0].push_back(std::abs(rad_to_deg(one.frame(t + 16).pose.yaw - a.pose.yaw)));
        gap_yaw[1].push_back(std::abs(rad_to_deg(three.frame(t + 16).pose.yaw - c.pose.yaw)));
      }
    }
  }
  // atanh near the limit magnifies the angles' rounding (1e-16) by 1/(1 − tanh²) ≤ ~1e3 here.
  CHECK(worst_line < 1e-9);
  for (auto& g : gap_yaw) std::sort(g.begin(), g.end());
  const double median1 = gap_yaw[0][gap_yaw[0].size() / 2], median3 = gap_yaw[1][gap_yaw[1].size() / 2];
  MESSAGE("median |Δyaw| over 16 frames: motion 1 " << median1 << "°, motion 3 " << median3 << "°");
  CHECK(median3 > 2 * median1);
  CHECK_THROWS_WITH_AS(ClipScript(7, 0, 0, 8, 0.0), doctest::Contains("head motion must be in (0, 4]"), fh::Error);
  CHECK_THROWS_WITH_AS(ClipScript(7, 0, 0, 8, 4.5), doctest::Contains("head motion must be in (0, 4]"), fh::Error);
}

TEST_CASE("synthetic data: eye meshes are the template sphere placed on the eyeball in crop coordinates") {
  const HeadMesh mesh(identity_for(5, 2));
  FrameParams p = ClipScript(5, 2, 0, 10).frame(4);
  PosedHead head;
  pose_head(mesh, p, head);
  for (int size : {64, 256}) {
    const FrameAnnotation a = annotate(head, size);
    const double px = 0.5 * (size - 1);
    for (int e = 0; e < 2; ++e) {
      // The crop: centre = mean of the six eye points, side = 2 × the corner distance (pixels).
      const int first = e == 0 ? 36 : 42;
      double cx = 0, cy = 0;
      for (int i = 0; i < 6; ++i) cx += (a.keypoints[first + i][0] + 1) * px / 6, cy += (a.keypoints[first + i][1] + 1) * px / 6;
      const double side = 2 * std::hypot((a.keypoints[first + 3][0] - a.keypoints[first][0]) * px,
                                         (a.keypoints[first + 3][1] - a.keypoints[first][1]) * px);
      CHECK(a.eye_crop[e][0] == doctest::Approx(cx).epsilon(1e-5));
      CHECK(a.eye_crop[e][1] == doctest::Approx(cy).epsilon(1e-5));
      CHECK(a.eye_crop[e][2] == doctest::Approx(side).epsilon(1e-5));
      std::vector<double> xyz(a.eye_mesh.begin() + e * fh::geometry::kEyeVertices * 3,
                              a.eye_mesh.begin() + (e + 1) * fh::geometry::kEyeVertices * 3);
      const Eigen::Vector3d centre = fh::geometry::eyeball_centre(xyz.data());
      // Back to the image: the eyeball's centre, and z relative to it.
      CHECK((cx + centre.x() * side / 2) / px - 1 == doctest::Approx(a.eyeball[e][0]).epsilon(1e-4));
      CHECK((cy + centre.y() * side / 2) / px - 1 == doctest::Approx(a.eyeball[e][1]).epsilon(1e-4));
      CHECK(std::abs(centre.z()) < 1e-4);
      // Every vertex lies on the sphere of the eyeball's radius, in crop units.
      const double radius = a.eyeball[e][3] * px / (side / 2);
      double worst = 0;
      for (int v = 0; v < fh::geometry::kEyeVertices; ++v)
        worst = std::max(worst, std::abs((Eigen::Vector3d(xyz[3 * v], xyz[3 * v + 1], xyz[3 * v + 2]) - centre).norm() - radius));
      CHECK(worst < 1e-4 * radius);
      // An eye spans about half its crop.
      CHECK(radius > 0.3);
      CHECK(radius < 0.8);
    }
  }
}

// ---- Key-points on the rendered features ------------------------------------------------------

namespace {

// Distinct colours so that each feature can be told apart in the RGB render.
Identity test_identity() {
  Identity id;
  id.skin_colour = {0.9, 0.4, 0.3};
  id.hair_colour = {0.9, 0.9, 0.1};
  id.iris_colour = {0.1, 0.8, 0.2};
  id.lip_colour = {0.2, 0.3, 0.9};
  id.brow_thickness = 0.05;
  id.upper_lip = 0.055;
  id.lower_lip = 0.07;
  id.eye_width = 0.17;
  id.eye_openness = 0.075;
  return id;
}

enum class Seen { Pupil, Iris, Sclera, Lip, Skin, Hair, Dark, Other };

Seen classify(const uint8_t* p) {
  const int r = p[0], g = p[1], b = p[2];
  const int mx = std::max({r, g, b}), mn = std::min({r, g, b});
  if (mx < 45 && mn > 0.6 * mx) return Seen::Pupil;
  if (g > 1.4 * r && g > 1.4 * b && g >= 25) return Seen::Iris;
  if (mx < 60) return Seen::Dark;
  if (mn > 0.8 * mx && mx > 90) return Seen::Sclera;
  if (b > 1.3 * r && b > 1.3 * g) return Seen::Lip;
  if (std::min(r, g) > 2 * b && std::abs(r - g) < 0.25 * mx) return Seen::Hair;
  if (r > 1.4 * g && r > 1.4 * b) return Seen::Skin;
  return Seen::Other;
}

// The eyeball (pupil, iris, white, and their anti-aliased mixtures) against the skin, lashes and
// brows around it.
bool is_eye(Seen s) { return s == Seen::Pupil || s == Seen::Iris || s == Seen::Sclera || s == Seen::Other; }
bool is_lid(Seen s) { return s == Seen::Skin || s == Seen::Hair || s == Seen::Dark; }

struct FeatureCheck {
  int failures = 0;
  std::vector<std::string> notes;
  void expect(bool ok, const std::string& what) {
    if (!ok) {
      ++failures;
      notes.push_back(what);
    }
  }
};

// Checks that the (possibly shifted) key-points sit on the render's feature boundaries.
FeatureCheck check_features(const fh::Image& img, const FrameAnnotation& a, double shift_x, double shift_y) {
  const int size = img.width;
  const double px = 0.5 * (size - 1);
  auto at = [&](int k, double dx, double dy) {
    const int x = static_cast<int>(std::lround((a.keypoints[k][0] + 1) * px + shift_x + dx));
    const int y = static_cast<int>(std::lround((a.keypoints[k][1] + 1) * px + shift_y + dy));
    return classify(img.at(std::clamp(x, 0, size - 1), std::clamp(y, 0, size - 1)));
  };
  FeatureCheck c;
  const std::string k = "key-point ";
  for (int e = 0; e < 2; ++e) {
    const int f = e == 0 ? 36 : 42;
    for (int i : {1, 2}) {  // upper lid: lid skin or lashes above, the eye below
      c.expect(is_lid(at(f + i, 0, -3)), k + std::to_string(f + i) + ": lid 3 px above");
      c.expect(is_eye(at(f + i, 0, 3)), k + std::to_string(f + i) + ": eye 3 px below");
    }
    for (int i : {4, 5}) {  // lower lid
      c.expect(is_eye(at(f + i, 0, -3)), k + std::to_string(f + i) + ": eye 3 px above");
      c.expect(is_lid(at(f + i, 0, 3)), k + std::to_string(f + i) + ": lid 3 px below");
    }
    // Corners: outside the opening beyond them, inside it towards the other corner.
    const double dir = a.keypoints[f + 3][0] > a.keypoints[f][0] ? 1.0 : -1.0;
    c.expect(is_lid(at(f, -2 * dir, 0)), k + std::to_string(f) + ": lid beyond the corner");
    c.expect(is_eye(at(f, 2 * dir, 0)), k + std::to_string(f) + ": eye inside the corner");
    c.expect(is_lid(at(f + 3, 2 * dir, 0)), k + std::to_string(f + 3) + ": lid beyond the corner");
    c.expect(is_eye(at(f + 3, -2 * dir, 0)), k + std::to_string(f + 3) + ": eye inside the corner");
  }
  for (int b : {19, 24}) c.expect(at(b, 0, 0) == Seen::Hair, k + std::to_string(b) + ": on the brow");
  // Lips: skin outside the outer contour, lip inside it; the open mouth inside the inner one.
  c.expect(at(51, 0, -3) == Seen::Skin, k + "51: skin above");
  c.expect(at(51, 0, 3) == Seen::Lip, k + "51: lip below");
  c.expect(at(57, 0, 3) == Seen::Skin, k + "57: skin below");
  c.expect(at(57, 0, -3) == Seen::Lip, k + "57: lip above");
  auto mouth = [](Seen s) { return s == Seen::Dark || s == Seen::Pupil || s == Seen::Sclera || s == Seen::Other; };
  c.expect(at(62, 0, -3) == Seen::Lip, k + "62: lip above");
  c.expect(mouth(at(62, 0, 3)), k + "62: mouth below");
  c.expect(at(66, 0, 3) == Seen::Lip, k + "66: lip below");
  c.expect(mouth(at(66, 0, -3)), k + "66: mouth above");
  return c;
}

}  // namespace

TEST_CASE("synthetic data: key-points and the pupil centre land on the rendered features") {
  const HeadMesh mesh(test_identity());
  const int size = 320;
  fh::data::Background plain;
  plain.top = plain.bottom = {0.3, 0.5, 0.8};
  const BackgroundImage bg = draw_background(plain, size);
  Renderer renderer(2);
  struct View {
    double yaw, pitch, roll, theta, phi;
  };
  const View views[] = {{0, 0, 0, 0, 0}, {20, -10, 0, 10, -15}, {-15, 8, 3, -8, 12}, {10, 5, -4, 5, 20}};
  for (const View& v : views) {
    CAPTURE(v.yaw);
    FrameParams p;
    p.pose.yaw = deg_to_rad(v.yaw);
    p.pose.pitch = deg_to_rad(v.pitch);
    p.pose.roll = deg_to_rad(v.roll);
    p.pose.scale = 0.6;
    p.pose.translation = Eigen::Vector3d(0, -0.15, 0);
    for (auto& g : p.gaze) g = {deg_to_rad(v.theta), deg_to_rad(v.phi)};
    p.expression.jaw_open = 0.7;
    p.lighting.direction = Eigen::Vector3d(0, -0.3, -1).normalized();
    p.lighting.ambient = 0.5;
    p.lighting.diffuse = 0.5;
    p.lighting.specular = 0;
    const RenderedFrame f = render_frame(mesh, p, bg, renderer);

    const FeatureCheck exact = check_features(f.image, f.annotation, 0, 0);
    INFO("failed checks: " << exact.failures << (exact.notes.empty() ? "" : ", first: " + exact.notes.front()));
    CHECK(exact.failures == 0);
    // The same checks catch key-points that are off by a few pixels.
    CHECK(check_features(f.image, f.annotation, 0, 3).failures >= 4);
    CHECK(check_features(f.image, f.annotation, 3, 0).failures >= 4);

    // The pupil: centroid of the pupil-coloured pixels around each eye vs the projection of
    // the pupil's centre (the eyeball centre + r·cos 18° along the gaze).
    const double px = 0.5 * (size - 1);
    for (int e = 0; e < 2; ++e) {
      const auto& crop = f.annotation.eye_crop[e];
      double sx = 0, sy = 0;
      int n = 0;
      for (int y = static_cast<int>(crop[1] - crop[2] / 2); y <= crop[1] + crop[2] / 2; ++y)
        for (int x = static_cast<int>(crop[0] - crop[2] / 2); x <= crop[0] + crop[2] / 2; ++x)
          if (classify(f.image.at(x, y)) == Seen::Pupil) sx += x, sy += y, ++n;
      const auto& b = f.annotation.eyeball[e];
      const auto& g = f.annotation.gaze[e];
      const double k = b[3] * std::cos(deg_to_rad(18));
      const double want_x = (b[0] + k * g[0] + 1) * px, want_y = (b[1] + k * g[1] + 1) * px;
      REQUIRE(n > 10);
      INFO("eye " << e << ": pupil centroid (" << sx / n << ", " << sy / n << ") from " << n << " pixels, projection ("
                  << want_x << ", " << want_y << ")");
      CHECK(std::hypot(sx / n - want_x, sy / n - want_y) < 0.5);
    }
    // The nose tip is the key-point nearest the camera in a near-frontal view.
    if (v.yaw == 0) {
      int nearest = 0;
      for (int i = 1; i < 68; ++i)
        if (f.annotation.keypoints[i][2] < f.annotation.keypoints[nearest][2]) nearest = i;
      CHECK(nearest == 30);
    }
  }
}

TEST_CASE("synthetic data: blinks close the lids onto the lid key-points") {
  const HeadMesh mesh(test_identity());
  FrameParams p;
  p.pose.scale = 0.6;
  p.pose.translation = Eigen::Vector3d(0, -0.15, 0);
  p.expression.blink_right = 1.0;
  p.lighting.specular = 0;
  const BackgroundImage bg = draw_background(fh::data::Background{}, 256);
  Renderer renderer(2);
  const RenderedFrame f = render_frame(mesh, p, bg, renderer);
  const double px = 0.5 * (256 - 1);
  int right_eye = 0, left_eye = 0;
  for (int e = 0; e < 2; ++e) {
    const auto& crop = f.annotation.eye_crop[e];
    for (int y = static_cast<int>(crop[1] - crop[2] / 2); y <= crop[1] + crop[2] / 2; ++y)
      for (int x = static_cast<int>(crop[0] - crop[2] / 2); x <= crop[0] + crop[2] / 2; ++x)
        if (const Seen c = classify(f.image.at(x, y)); c == Seen::Pupil || c == Seen::Iris || c == Seen::Sclera)
          (e == 0 ? right_eye : left_eye)++;
  }
  CHECK(right_eye == 0);  // closed: no eyeball visible
  CHECK(left_eye > 50);
  // The renderer's material map agrees: lids over the right eyeball, the left one open.
  std::vector<Material> materials;
  fh::Image again;
  PosedHead head;
  pose_head(mesh, p, head);
  renderer.render(head, bg, again, &materials);
  CHECK(again.pixels == f.image.pixels);
  int eyeball[2] = {0, 0};
  for (int e = 0; e < 2; ++e) {
    const auto& crop = f.annotation.eye_crop[e];
    for (int y = static_cast<int>(crop[1] - crop[2] / 2); y <= crop[1] + crop[2] / 2; ++y)
      for (int x = static_cast<int>(crop[0] - crop[2] / 2); x <= crop[0] + crop[2] / 2; ++x) {
        const Material m = materials[y * 256 + x];
        eyeball[e] += m == Material::Sclera || m == Material::Iris || m == Material::Pupil;
      }
  }
  CHECK(eyeball[0] == 0);
  CHECK(eyeball[1] > 50);
  const int nx = static_cast<int>(std::lround((f.annotation.keypoints[30][0] + 1) * px));
  const int ny = static_cast<int>(std::lround((f.annotation.keypoints[30][1] + 1) * px));
  CHECK(materials[ny * 256 + nx] == Material::Skin);
  // The closed lid's upper and lower key-points meet.
  for (int i : {1, 2}) {
    const auto& up = f.annotation.keypoints[36 + i];
    const auto& down = f.annotation.keypoints[36 + 6 - i];
    CHECK(std::abs(up[1] - down[1]) * px < 0.05);
  }
}
