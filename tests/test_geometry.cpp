// The key-point algebra and the eye-mesh machinery: float64 gradient checks, round trips
// (canonical -> posed -> canonical, angles -> gaze -> angles, rotation -> Euler angles ->
// rotation), values fixed by docs/geometry.md (the template's gaze, bins, edge lengths) and
// the errors bad arguments raise.
#include <doctest/doctest.h>

#include <Eigen/Geometry>
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "geometry/conventions.h"
#include "geometry/eyes.h"
#include "geometry/keypoints.h"
#include "geometry/template_face.h"
#include "tests/geometry_inputs.h"
#include "tests/harness/gradcheck.h"
#include "tests/harness/random_inputs.h"
#include "tests/harness/tolerance.h"

using fh::DType;
using fh::Shape;
using fh::Tensor;
using namespace fh::test;
namespace geo = fh::geometry;

namespace {

Tensor uniform(fh::Generator& gen, const Shape& s, double lo, double hi) {
  return fh::rand(s, gen, lo, hi, DType::F64);
}

double g_worst = 0;
void expect_grad(const Function& fn, const std::vector<Tensor>& inputs, const std::string& what) {
  g_worst = std::max(g_worst, check_gradients(fn, inputs, what));
}

}  // namespace

TEST_CASE("geometry: rotation_matrix is Rx(pitch)·Ry(yaw)·Rz(roll) and orthonormal") {
  fh::Generator gen(run_seed());
  const int64_t B = 7;
  const Tensor yaw = uniform(gen, {B}, -3, 3), pitch = uniform(gen, {B}, -3, 3), roll = uniform(gen, {B}, -3, 3);
  const Tensor R = geo::rotation_matrix(yaw, pitch, roll);
  REQUIRE(R.shape() == Shape{B, 3, 3});
  std::vector<double> expected;
  for (int64_t b = 0; b < B; ++b) {
    const Eigen::Matrix3d r =
        geo::rotation_from_euler(yaw.to_vector<double>()[b], pitch.to_vector<double>()[b], roll.to_vector<double>()[b]);
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) expected.push_back(r(i, j));
  }
  FH_CHECK_CLOSE(R, Tensor::from_vector(expected, {B, 3, 3}), (Tolerance{1e-15, 1e-14}), "rotation_matrix");
  const Tensor rrt = fh::matmul(R, fh::permute(R, {0, 2, 1}));
  std::vector<double> eye;
  for (int64_t b = 0; b < B; ++b)
    for (int i = 0; i < 9; ++i) eye.push_back(i % 4 == 0 ? 1.0 : 0.0);
  FH_CHECK_CLOSE(rrt, Tensor::from_vector(eye, {B, 3, 3}), (Tolerance{1e-14, 0}), "R·Rᵀ = I");
  // A pure yaw turns the +x axis towards -z (Ry's first column is (cos, 0, -sin)).
  const Tensor z = Tensor::zeros({1}, DType::F64);
  const std::vector<double> ry = geo::rotation_matrix(Tensor::full({1}, 0.5, DType::F64), z, z).to_vector<double>();
  CHECK(ry[0] == doctest::Approx(std::cos(0.5)));
  CHECK(ry[6] == doctest::Approx(-std::sin(0.5)));
}

TEST_CASE("geometry: mirrored_keypoints pairs every point with its mirror image; the template face is its own mirror") {
  const auto& m = geo::mirrored_keypoints();
  int own = 0;
  for (int i = 0; i < geo::kNumKeypoints; ++i) {
    CHECK(m[m[i]] == i);  // mirroring twice is the identity
    own += m[i] == i;
  }
  // The midline: chin (8), nose ridge (27-30), nose tip (33), the lips' midpoints (51, 57,
  // 62, 66). The corners of eyes and mouth swap.
  CHECK(own == 10);
  for (int i : {8, 27, 28, 29, 30, 33, 51, 57, 62, 66}) CHECK(m[i] == i);
  CHECK((m[0] == 16 && m[17] == 26 && m[36] == 45 && m[39] == 42 && m[48] == 54 && m[60] == 64));
  // The template face was drawn symmetric: each point is its partner with x negated.
  const auto& face = geo::template_face();
  for (int i = 0; i < geo::kNumKeypoints; ++i) {
    const Eigen::Vector3d mirrored(-face[i].x(), face[i].y(), face[i].z());
    INFO("point " << i);
    CHECK((face[m[i]] - mirrored).norm() < 1e-12);
  }
}

TEST_CASE("geometry: Euler angles from rotation matrices invert rotation_matrix") {
  fh::Generator gen(run_seed());
  const int64_t B = 16;
  // |yaw| < π/2 (away from gimbal lock), pitch and roll over most of the circle.
  const Tensor yaw = uniform(gen, {B}, -1.4, 1.4), pitch = uniform(gen, {B}, -3, 3), roll = uniform(gen, {B}, -3, 3);
  const Tensor angles = geo::euler_from_rotation_matrix(geo::rotation_matrix(yaw, pitch, roll));
  REQUIRE(angles.shape() == Shape{B, 3});
  FH_CHECK_CLOSE(angles, fh::stack({yaw, pitch, roll}, 1), (Tolerance{1e-12, 0}), "euler(rotation(a)) = a");
  // float32 in, float32 out.
  const Tensor a32 = geo::euler_from_rotation_matrix(geo::rotation_matrix(yaw, pitch, roll).to(DType::F32));
  CHECK(a32.dtype() == DType::F32);
  FH_CHECK_CLOSE(a32, fh::stack({yaw, pitch, roll}, 1), (Tolerance{2e-6, 0}), "float32 Euler angles");
}

TEST_CASE("geometry: bins_to_degrees is 3·E[bin] − 99") {
  std::vector<double> logits(3 * geo::kAngleBins, 0.0);
  logits[0] = 50;                     // all mass on bin 0 -> -99°
  logits[geo::kAngleBins + 65] = 50;  // bin 65 -> 96°
  // third row uniform -> mean bin 32.5 -> -1.5°
  const Tensor deg = geo::bins_to_degrees(Tensor::from_vector(logits, {3, geo::kAngleBins}));
  FH_CHECK_CLOSE(deg, Tensor::from_vector<double>({-99.0, 96.0, -1.5}, {3}), (Tolerance{1e-9, 0}), "bins");
  // Two equal bins 10 and 20 -> bin 15 -> -54°.
  std::vector<double> two(geo::kAngleBins, -40.0);
  two[10] = two[20] = 10.0;
  CHECK(geo::bins_to_degrees(Tensor::from_vector(two, {1, geo::kAngleBins})).item() == doctest::Approx(-54.0));
  CHECK(geo::bins_to_radians(Tensor::from_vector(two, {1, geo::kAngleBins})).item() ==
        doctest::Approx(geo::deg_to_rad(-54.0)));
}

TEST_CASE("geometry: canonical -> posed -> canonical returns the points (and the other way round)") {
  fh::Generator gen(run_seed());
  const int64_t B = 5, N = geo::kNumKeypoints;
  const Tensor p = uniform(gen, {B, N, 3}, -1, 1), d = uniform(gen, {B, N, 3}, -0.1, 0.1);
  const Tensor R = geo::rotation_matrix(uniform(gen, {B}, -1, 1), uniform(gen, {B}, -1, 1), uniform(gen, {B}, -1, 1));
  const Tensor t = uniform(gen, {B, 3}, -0.3, 0.3), s = uniform(gen, {B, 1}, 0.5, 2.0);
  const Tensor can = geo::canonical_from_posed(p, R, t, s, d);
  FH_CHECK_CLOSE(geo::posed_from_canonical(can, R, t, s, d), p, (Tolerance{1e-14, 1e-13}), "posed(canonical(p))");
  FH_CHECK_CLOSE(geo::canonical_from_posed(geo::posed_from_canonical(p, R, t, s, d), R, t, s, d), p,
                 (Tolerance{1e-14, 1e-13}), "canonical(posed(p))");
  // Eq. 1 by hand for one point: (1/s) Rᵀ (p − d − t).
  const std::vector<double> pv = p.to_vector<double>(), dv = d.to_vector<double>(), tv = t.to_vector<double>(),
                            sv = s.to_vector<double>(), rv = R.to_vector<double>(), cv = can.to_vector<double>();
  const int64_t b = 3, i = 41;
  for (int k = 0; k < 3; ++k) {
    double acc = 0;
    for (int j = 0; j < 3; ++j)
      acc += rv[9 * b + 3 * j + k] * (pv[(b * N + i) * 3 + j] - dv[(b * N + i) * 3 + j] - tv[3 * b + j]);
    CHECK(cv[(b * N + i) * 3 + k] == doctest::Approx(acc / sv[b]).epsilon(1e-12));
  }
}

TEST_CASE("geometry: pose edits set or offset the angles before Eq. 2") {
  fh::Generator gen(run_seed());
  const int64_t B = 3, N = geo::kNumKeypoints;
  geo::HeadPose pose{uniform(gen, {B}, -0.5, 0.5), uniform(gen, {B}, -0.5, 0.5), uniform(gen, {B}, -0.5, 0.5),
                     uniform(gen, {B, 3}, -0.2, 0.2), uniform(gen, {B, 1}, 0.8, 1.2)};
  const Tensor can = uniform(gen, {B, N, 3}, -1, 1), d = uniform(gen, {B, N, 3}, -0.05, 0.05);
  const geo::PoseEdit edit{geo::AngleEdit::set(0.3), geo::AngleEdit::add(-0.2), geo::AngleEdit::keep()};
  const Tensor edited = geo::posed_with_edit(can, pose, d, edit);
  const Tensor yaw = Tensor::full({B}, 0.3, DType::F64), pitch = fh::add_scalar(pose.pitch, -0.2);
  const Tensor expected =
      geo::posed_from_canonical(can, geo::rotation_matrix(yaw, pitch, pose.roll), pose.translation, pose.scale, d);
  FH_CHECK_CLOSE(edited, expected, (Tolerance{1e-15, 1e-14}), "edited pose");
  // Keeping every angle reproduces Eq. 2 with the pose itself.
  FH_CHECK_CLOSE(geo::posed_with_edit(can, pose, d, {}),
                 geo::posed_from_canonical(can, geo::rotation_matrix(pose.yaw, pose.pitch, pose.roll), pose.translation,
                                           pose.scale, d),
                 (Tolerance{0, 0}), "no edit");
  const geo::HeadPose e = geo::edit_pose(pose, edit);
  CHECK(e.yaw.to_vector<double>() == std::vector<double>(B, 0.3));
}

TEST_CASE("geometry: the template's gaze is (0, 0, -1) and a rotated eye gazes along its rotation") {
  const Tensor v = fh::reshape(geo::eye_template_vertices(DType::F64), {1, geo::kEyeVertices, 3});
  FH_CHECK_CLOSE(geo::gaze_from_mesh(v), Tensor::from_vector<double>({0, 0, -1}, {1, 3}), (Tolerance{1e-15, 0}),
                 "template gaze");
  FH_CHECK_CLOSE(geo::gaze_from_mesh(v.to(DType::F32)), Tensor::from_vector<float>({0, 0, -1}, {1, 3}),
                 (Tolerance{1e-7, 0}), "template gaze, float32");
  // An eye rotated to look along (θ, φ), scaled and moved, has that gaze.
  const double theta = 0.3, phi = -0.7;
  const Eigen::Vector3d g = geo::gaze_from_angles(theta, phi);
  // The rotation taking -z to g: about the axis (-z) × g by their angle.
  const Eigen::Vector3d from(0, 0, -1);
  const Eigen::Matrix3d r = Eigen::AngleAxisd(std::acos(from.dot(g)), from.cross(g).normalized()).toRotationMatrix();
  std::vector<double> moved;
  for (const Eigen::Vector3d& p : geo::eye_mesh_template().vertices) {
    const Eigen::Vector3d q = 0.4 * (r * p) + Eigen::Vector3d(3, -2, 5);
    moved.insert(moved.end(), {q.x(), q.y(), q.z()});
  }
  const Tensor gaze = geo::gaze_from_mesh(Tensor::from_vector(moved, {1, geo::kEyeVertices, 3}));
  FH_CHECK_CLOSE(gaze, Tensor::from_vector<double>({g.x(), g.y(), g.z()}, {1, 3}), (Tolerance{1e-14, 0}),
                 "rotated eye");
  FH_CHECK_CLOSE(geo::gaze_to_angles(gaze), Tensor::from_vector<double>({theta, phi}, {1, 2}), (Tolerance{1e-13, 0}),
                 "its angles");
}

TEST_CASE("geometry: angles -> gaze -> angles round trip, and gaze_to_angles ignores length") {
  fh::Generator gen(run_seed());
  const int64_t B = 32;
  // θ in (-π/2, π/2), φ in (-π, π): the whole sphere but the poles.
  const Tensor angles = fh::concat({uniform(gen, {B, 1}, -1.5, 1.5), uniform(gen, {B, 1}, -3.1, 3.1)}, 1);
  const Tensor g = geo::angles_to_gaze(angles);
  const Tensor norms = fh::sum(fh::mul(g, g), {1});
  FH_CHECK_CLOSE(norms, Tensor::ones({B}, DType::F64), (Tolerance{1e-15, 0}), "unit gaze");
  FH_CHECK_CLOSE(geo::gaze_to_angles(g), angles, (Tolerance{1e-12, 0}), "angles(gaze(a)) = a");
  FH_CHECK_CLOSE(geo::gaze_to_angles(fh::scale(g, 3.5)), angles, (Tolerance{1e-12, 0}), "longer vectors");
  // Straight at the camera is (0, 0); looking down (+y) is θ < 0; to the image right (+x) is φ < 0.
  const Tensor special = geo::gaze_to_angles(Tensor::from_vector<double>({0, 0, -1, 0, 1, -1, 1, 0, -1}, {3, 3}));
  const std::vector<double> a = special.to_vector<double>();
  CHECK(a[0] == 0.0);
  CHECK(a[1] == 0.0);
  CHECK(a[2] == doctest::Approx(-geo::kPi / 4));
  CHECK(a[5] == doctest::Approx(-geo::kPi / 4));
  CHECK_THROWS_WITH_AS(geo::gaze_to_angles(Tensor::zeros({2, 3}, DType::F64)), doctest::Contains("gaze vector 0"),
                       fh::Error);
}

TEST_CASE("geometry: eye template tensors and edge lengths") {
  const Tensor tri = geo::eye_template_triangles(), edges = geo::eye_template_edges();
  REQUIRE(tri.shape() == Shape{960, 3});
  REQUIRE(edges.shape() == Shape{2880, 2});
  const std::vector<int64_t> t = tri.to_vector<int64_t>(), e = edges.to_vector<int64_t>();
  // As docs/geometry.md#eye-mesh-template builds them: triangle 0 is (0, 1, 2); the first
  // band's triangles (a, a+32, b), (b, a+32, b+32); the last cap.
  CHECK(std::vector<int64_t>(t.begin(), t.begin() + 3) == std::vector<int64_t>{0, 1, 2});
  CHECK(std::vector<int64_t>(t.begin() + 3 * 32, t.begin() + 3 * 34) == std::vector<int64_t>{1, 33, 2, 2, 33, 34});
  CHECK(std::vector<int64_t>(t.end() - 3, t.end()) == std::vector<int64_t>{481, 449, 480});
  CHECK(std::vector<int64_t>(e.begin(), e.begin() + 6) == std::vector<int64_t>{0, 1, 0, 2, 1, 2});

  // Edge lengths of the unit template: from the pole to ring 0 it is 2 sin(π/32).
  const Tensor v = fh::reshape(geo::eye_template_vertices(DType::F64), {1, geo::kEyeVertices, 3});
  const Tensor len = geo::edge_lengths(v);
  REQUIRE(len.shape() == Shape{1, 2880});
  const std::vector<double> l = len.to_vector<double>();
  CHECK(l[0] == doctest::Approx(2 * std::sin(geo::kPi / 32)));
  const auto& verts = geo::eye_mesh_template().vertices;
  for (int k = 0; k < geo::kEyeEdges; k += 97)
    CHECK(l[k] == doctest::Approx((verts[e[2 * k + 1]] - verts[e[2 * k]]).norm()).epsilon(1e-13));
  // Lengths scale with the mesh and ignore where it is.
  fh::Generator gen(run_seed());
  const Tensor meshes = random_meshes(gen, 2);
  FH_CHECK_CLOSE(geo::edge_lengths(fh::add_scalar(fh::scale(meshes, 2.5), 7.0)),
                 fh::scale(geo::edge_lengths(meshes), 2.5), (Tolerance{1e-13, 1e-12}), "scaled and moved");
}

TEST_CASE("gradcheck: key-point algebra (rotation, bins, Eq. 1, Eq. 2, pose edits)") {
  g_worst = 0;
  fh::Generator gen(run_seed());
  const int64_t B = 2, N = 5;
  expect_grad([](auto& x) { return geo::rotation_matrix(x[0], x[1], x[2]); },
              {random_leaf({B}, gen, -3, 3), random_leaf({B}, gen, -3, 3), random_leaf({B}, gen, -3, 3)},
              "rotation_matrix");
  expect_grad([](auto& x) { return geo::bins_to_degrees(x[0]); }, {random_leaf({B, geo::kAngleBins}, gen, -3, 3)},
              "bins_to_degrees");
  auto pose_inputs = [&] {
    return std::vector<Tensor>{
        random_leaf({B, N, 3}, gen),           random_leaf({B}, gen, -1, 1), random_leaf({B}, gen, -1, 1),
        random_leaf({B}, gen, -1, 1),          random_leaf({B, 3}, gen),     random_leaf({B, 1}, gen, 0.5, 2),
        random_leaf({B, N, 3}, gen, -0.2, 0.2)};
  };
  expect_grad(
      [](auto& x) { return geo::canonical_from_posed(x[0], geo::rotation_matrix(x[1], x[2], x[3]), x[4], x[5], x[6]); },
      pose_inputs(), "canonical_from_posed");
  expect_grad(
      [](auto& x) { return geo::posed_from_canonical(x[0], geo::rotation_matrix(x[1], x[2], x[3]), x[4], x[5], x[6]); },
      pose_inputs(), "posed_from_canonical");
  expect_grad(
      [](auto& x) {
        const geo::PoseEdit edit{geo::AngleEdit::add(0.4), geo::AngleEdit::set(-0.1), geo::AngleEdit::keep()};
        return geo::posed_with_edit(x[0], geo::HeadPose{x[1], x[2], x[3], x[4], x[5]}, x[6], edit);
      },
      pose_inputs(), "posed_with_edit");
  MESSAGE("worst gradient error " << g_worst << " of threshold");
}

TEST_CASE("gradcheck: gaze_from_mesh, angles_to_gaze, edge_lengths") {
  g_worst = 0;
  fh::Generator gen(run_seed());
  expect_grad([](auto& x) { return geo::gaze_from_mesh(x[0]); }, {random_meshes(gen, 2).requires_grad_()},
              "gaze_from_mesh");
  expect_grad([](auto& x) { return geo::angles_to_gaze(x[0]); }, {random_leaf({4, 2}, gen, -1.5, 1.5)},
              "angles_to_gaze");
  expect_grad([](auto& x) { return geo::edge_lengths(x[0]); }, {random_meshes(gen, 2).requires_grad_()},
              "edge_lengths");
  MESSAGE("worst gradient error " << g_worst << " of threshold");
}

TEST_CASE("geometry: bad arguments name the function, the argument and its shape") {
  const Tensor p = Tensor::zeros({2, 68, 3}), R = Tensor::zeros({2, 3, 3}), t = Tensor::zeros({2, 3}),
               s = Tensor::ones({2, 1});
  CHECK_THROWS_WITH_AS(geo::canonical_from_posed(p, R, t, s, Tensor::zeros({2, 67, 3})),
                       doctest::Contains("canonical_from_posed: d has shape [2, 67, 3], expected [2, 68, 3]"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(geo::posed_from_canonical(p, Tensor::zeros({2, 3}), t, s, p),
                       doctest::Contains("R has shape [2, 3]"), fh::Error);
  CHECK_THROWS_WITH_AS(geo::canonical_from_posed(p, R, t, Tensor::ones({2, 1}, DType::F64), p),
                       doctest::Contains("s [2, 1] float64"), fh::Error);
  CHECK_THROWS_WITH_AS(geo::rotation_matrix(Tensor::zeros({3}), Tensor::zeros({2}), Tensor::zeros({3})),
                       doctest::Contains("rotation_matrix: pitch has shape [2], expected [3]"), fh::Error);
  CHECK_THROWS_WITH_AS(geo::bins_to_degrees(Tensor::zeros({2, 65})), doctest::Contains("logits has shape [2, 65]"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(geo::gaze_from_mesh(Tensor::zeros({1, 481, 3})),
                       doctest::Contains("vertices has shape [1, 481, 3]"), fh::Error);
  CHECK_THROWS_WITH_AS(geo::edge_lengths(Tensor::from_vector<int64_t>({1}, {1})),
                       doctest::Contains("float32 or float64"), fh::Error);
  CHECK_THROWS_WITH_AS(geo::euler_from_rotation_matrix(Tensor::zeros({3, 3})), doctest::Contains("R has shape [3, 3]"),
                       fh::Error);
}
