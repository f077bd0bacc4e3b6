// The training objectives on inputs whose losses are known by construction (exact
// estimates give zero, known offsets give known values, rotated eyes give their angle),
// their weights, float64 gradient checks and argument errors.
#include <doctest/doctest.h>

#include <Eigen/Geometry>
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "geometry/eyes.h"
#include "geometry/keypoints.h"
#include "tests/generator_loss_layout.h"
#include "tests/geometry_inputs.h"
#include "tests/harness/gradcheck.h"
#include "tests/harness/tolerance.h"
#include "train/losses.h"

using fh::DType;
using fh::Shape;
using fh::Tensor;
using namespace fh::test;
namespace geo = fh::geometry;
namespace tr = fh::train;

namespace {

Tensor full(const Shape& s, double v) { return Tensor::full(s, v, DType::F64); }

// A (source, target) pair whose estimates are exact: both images show canonical points
// `can` under their own pose, with no expression.
struct ExactPair {
  tr::KeypointEstimate source, target;
  Tensor source_landmarks, target_landmarks, target_angles;
};

ExactPair exact_pair(fh::Generator& gen, int64_t B) {
  const Tensor can = random_faces(gen, B, DType::F64);
  auto estimate = [&](tr::KeypointEstimate& e, Tensor& landmarks) {
    e.pose = {fh::rand({B}, gen, -0.5, 0.5, DType::F64), fh::rand({B}, gen, -0.5, 0.5, DType::F64),
              fh::rand({B}, gen, -0.5, 0.5, DType::F64), fh::rand({B, 3}, gen, -0.2, 0.2, DType::F64),
              fh::rand({B, 1}, gen, 0.7, 1.3, DType::F64)};
    e.expression = Tensor::zeros({B, 68, 3}, DType::F64);
    e.points = geo::posed_from_canonical(can, geo::rotation_matrix(e.pose.yaw, e.pose.pitch, e.pose.roll),
                                         e.pose.translation, e.pose.scale, e.expression);
    landmarks = e.points;
  };
  ExactPair p;
  estimate(p.source, p.source_landmarks);
  estimate(p.target, p.target_landmarks);
  p.target_angles = fh::stack({p.target.pose.yaw, p.target.pose.pitch, p.target.pose.roll}, 1);
  return p;
}

double value(const Tensor& t) { return t.item(); }

}  // namespace

TEST_CASE("losses: E_can terms vanish for exact estimates and take known values off them") {
  fh::Generator gen(run_seed());
  const int64_t B = 3;
  ExactPair p = exact_pair(gen, B);
  tr::KeypointLossTerms l =
      tr::keypoint_loss(p.source, p.target, p.source_landmarks, p.target_landmarks, p.target_angles);
  for (const Tensor* t : {&l.points, &l.reconstruction, &l.rotation, &l.expression, &l.total})
    CHECK(std::abs(value(*t)) < 1e-25);

  // Points off by 0.1 everywhere (source) and 0.2 (target): Lp = 0.01 + 0.04.
  tr::KeypointEstimate s = p.source, t = p.target;
  s.points = fh::add_scalar(p.source.points, 0.1);
  t.points = fh::add_scalar(p.target.points, 0.2);
  // Target angles off by 0.3 rad in yaw only: LR = 0.09/3.
  t.pose.yaw = fh::add_scalar(p.target.pose.yaw, 0.3);
  // Expression 0.5 on the source: Ld = 0.25; it also shifts the reconstructions.
  s.expression = full({B, 68, 3}, 0.5);
  l = tr::keypoint_loss(s, t, p.source_landmarks, p.target_landmarks, p.target_angles);
  CHECK(value(l.points) == doctest::Approx(0.05).epsilon(1e-12));
  CHECK(value(l.rotation) == doctest::Approx(0.03).epsilon(1e-12));
  CHECK(value(l.expression) == doctest::Approx(0.25).epsilon(1e-12));
  CHECK(value(l.reconstruction) > 0.0);
  const double expected_total =
      value(l.points) + value(l.reconstruction) + value(l.rotation) + 0.1 * value(l.expression);
  CHECK(value(l.total) == doctest::Approx(expected_total).epsilon(1e-12));
  // Custom weights.
  l = tr::keypoint_loss(s, t, p.source_landmarks, p.target_landmarks, p.target_angles, {2, 0, 0, 1});
  CHECK(value(l.total) == doctest::Approx(2 * 0.05 + 0.25).epsilon(1e-12));

  // The reconstruction uses the other image's pose: moving only the source translation by
  // δ moves p_s_rec (target -> source) by δ, and p_t_rec by -s_t/s_s·R_t·R_sᵀ·δ (a rigid
  // map of the same length), so Lrec = 2·|δ|²/3 for a δ of equal components.
  s = p.source;
  s.pose.translation = fh::add_scalar(p.source.pose.translation, 0.1);
  s.points = p.source.points;  // the key-points themselves stay put
  l = tr::keypoint_loss(s, p.target, p.source_landmarks, p.target_landmarks, p.target_angles);
  // p_s_rec error: δ for every point -> mean square 0.01. p_t_rec error: -(s_t/s_s) R_t R_sᵀ δ.
  const std::vector<double> ss = p.source.pose.scale.to_vector<double>(), st = p.target.pose.scale.to_vector<double>();
  double rec_t = 0;
  for (int64_t b = 0; b < B; ++b) rec_t += (st[b] / ss[b]) * (st[b] / ss[b]) * 0.03 / 3.0;
  CHECK(value(l.reconstruction) == doctest::Approx(0.01 + rec_t / B).epsilon(1e-10));
}

TEST_CASE("losses: E_gaze terms — rotation gives its angle, scaling gives the edge lengths") {
  const Tensor base = fh::reshape(geo::eye_template_vertices(DType::F64), {1, geo::kEyeVertices, 3});
  tr::GazeLossTerms l = tr::gaze_loss(base, base);
  CHECK(value(l.vertices) == 0.0);
  CHECK(value(l.edges) == 0.0);
  // acos(1 - 1e-7) ≈ 0.0256°: the clamp keeps the gradient finite at identical gazes.
  CHECK(value(l.gaze) == doctest::Approx(geo::rad_to_deg(std::acos(1 - 1e-7))).epsilon(1e-6));

  // The template turned by 20° about y: Lg = 20°, Le = 0, Lv = Σ|v - v*|.
  const Eigen::Matrix3d r = Eigen::AngleAxisd(geo::deg_to_rad(20), Eigen::Vector3d::UnitY()).toRotationMatrix();
  std::vector<double> turned;
  double l1 = 0;
  for (const Eigen::Vector3d& v : geo::eye_mesh_template().vertices) {
    const Eigen::Vector3d q = r * v;
    turned.insert(turned.end(), {q.x(), q.y(), q.z()});
    l1 += (q - v).cwiseAbs().sum();
  }
  const Tensor rotated = Tensor::from_vector(turned, {1, geo::kEyeVertices, 3});
  // A batch of two: the rotated pair and an identical pair, so batch means halve everything.
  l = tr::gaze_loss(fh::concat({rotated, base}, 0), fh::concat({base, base}, 0));
  CHECK(value(l.vertices) == doctest::Approx(l1 / 2).epsilon(1e-12));
  CHECK(std::abs(value(l.edges)) < 1e-13);
  CHECK(value(l.gaze) == doctest::Approx((20.0 + geo::rad_to_deg(std::acos(1 - 1e-7))) / 2).epsilon(1e-9));
  CHECK(value(l.total) ==
        doctest::Approx(0.1 * value(l.vertices) + 0.01 * value(l.edges) + value(l.gaze)).epsilon(1e-12));

  // Twice the size around the eyeball centre (the origin): every edge doubles, Le = Σ lengths.
  l = tr::gaze_loss(fh::scale(base, 2.0), base);
  const double total_length = value(fh::sum(geo::edge_lengths(base)));
  CHECK(value(l.edges) == doctest::Approx(total_length).epsilon(1e-12));
  CHECK(value(l.gaze) == doctest::Approx(geo::rad_to_deg(std::acos(1 - 1e-7))).epsilon(1e-6));
}

TEST_CASE("losses: VGG weights, hinge terms, feature matching and the generator total") {
  // Features differing by exactly c_l at layer l: LVGG = Σ w_l·c_l.
  std::vector<Tensor> a, b;
  const double w[5] = {1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0};
  double expected_vgg = 0;
  for (int l = 0; l < 5; ++l) {
    a.push_back(full({2, 4 >> (l / 2), 4 >> (l / 2), 3 + l}, 0.5));
    b.push_back(full({2, 4 >> (l / 2), 4 >> (l / 2), 3 + l}, 0.5 - (l + 1) * 0.1));
    expected_vgg += w[l] * (l + 1) * 0.1;
  }
  CHECK(value(tr::vgg_loss(a, b)) == doctest::Approx(expected_vgg).epsilon(1e-12));

  // Discriminator: scale 0 real logits (2, 0.5) fake (-2, 0.5); scale 1 real (-1) fake (3).
  const std::vector<Tensor> real{Tensor::from_vector<double>({2, 0.5}, {2, 1}), full({1, 1}, -1)};
  const std::vector<Tensor> fake{Tensor::from_vector<double>({-2, 0.5}, {2, 1}), full({1, 1}, 3)};
  const tr::DiscriminatorLossTerms d = tr::discriminator_loss(real, fake);
  CHECK(value(d.real) == doctest::Approx((0.25 + 2.0) / 2));
  CHECK(value(d.fake) == doctest::Approx((0.75 + 4.0) / 2));
  CHECK(value(d.total) == doctest::Approx(1.125 + 2.375));

  // Generator: two discriminators, D_I with 2 scales and D_M with 1 (to see the per-D averaging).
  tr::GeneratorLossInputs in;
  in.vgg_output = a;
  in.vgg_warped = b;
  in.vgg_target = b;  // LVGG(x̄, y) = 0
  auto scale_out = [&](double logit, double feature) {
    return tr::DiscriminatorScale{full({1, 2, 2, 1}, logit),
                                  {full({1, 4, 4, 2}, feature), full({1, 2, 2, 3}, feature),
                                   full({1, 2, 2, 4}, feature), full({1, 2, 2, 5}, feature)}};
  };
  in.fake = {{scale_out(0.4, 1.0), scale_out(-0.2, 2.0)}, {scale_out(1.0, 0.5)}};
  in.real = {{scale_out(9.0, 0.0), scale_out(9.0, 0.0)}, {scale_out(9.0, 0.0)}};
  const tr::GeneratorLossTerms g = tr::generator_loss(in);
  CHECK(value(g.adversarial) == doctest::Approx((-0.4 + 0.2) / 2 - 1.0));
  CHECK(value(g.feature_matching) == doctest::Approx((4 * 1.0 + 4 * 2.0) / 2 + 4 * 0.5));
  CHECK(value(g.vgg_output) == doctest::Approx(expected_vgg));
  CHECK(value(g.vgg_warped) == 0.0);
  CHECK(value(g.total) == doctest::Approx(value(g.adversarial) + 10 * expected_vgg + 10 * value(g.feature_matching)));
  const tr::GeneratorLossTerms g2 = tr::generator_loss(in, {1.0, 0.5});
  CHECK(value(g2.total) == doctest::Approx(value(g.adversarial) + expected_vgg + 0.5 * value(g.feature_matching)));
}

TEST_CASE("losses: real features are targets — no gradient reaches them") {
  tr::GeneratorLossInputs in;
  for (int l = 0; l < 5; ++l) {
    in.vgg_output.push_back(full({1, 2, 2, 2}, 1.0));
    in.vgg_warped.push_back(full({1, 2, 2, 2}, 1.0));
    in.vgg_target.push_back(full({1, 2, 2, 2}, 0.0));
  }
  Tensor fake_feature = full({1, 2, 2, 2}, 1.0).requires_grad_(),
         real_feature = full({1, 2, 2, 2}, 0.0).requires_grad_();
  in.fake = {{tr::DiscriminatorScale{full({1, 1, 1, 1}, 0.0), {fake_feature}}}};
  in.real = {{tr::DiscriminatorScale{full({1, 1, 1, 1}, 0.0), {real_feature}}}};
  tr::generator_loss(in).total.backward();
  CHECK(fake_feature.grad().defined());
  CHECK(!real_feature.grad().defined());
}

TEST_CASE("gradcheck: E_can, E_gaze, generator and discriminator objectives") {
  fh::Generator gen(run_seed());
  double worst = 0;
  const int64_t B = 2;
  auto leaf = [&](const Shape& s, double lo = -1, double hi = 1) { return random_leaf(s, gen, lo, hi); };
  // E_can: every estimate input and the landmarks.
  std::vector<Tensor> kp{leaf({B}, -0.5, 0.5),
                         leaf({B}, -0.5, 0.5),
                         leaf({B}, -0.5, 0.5),
                         leaf({B, 3}),
                         leaf({B, 1}, 0.5, 2),
                         leaf({B, 68, 3}, -0.1, 0.1),
                         leaf({B, 68, 3}),
                         leaf({B}, -0.5, 0.5),
                         leaf({B}, -0.5, 0.5),
                         leaf({B}, -0.5, 0.5),
                         leaf({B, 3}),
                         leaf({B, 1}, 0.5, 2),
                         leaf({B, 68, 3}, -0.1, 0.1),
                         leaf({B, 68, 3}),
                         leaf({B, 68, 3}),
                         leaf({B, 68, 3}),
                         leaf({B, 3})};
  worst = std::max(worst, check_gradients(
                              [](auto& x) {
                                const tr::KeypointEstimate s{{x[0], x[1], x[2], x[3], x[4]}, x[5], x[6]};
                                const tr::KeypointEstimate t{{x[7], x[8], x[9], x[10], x[11]}, x[12], x[13]};
                                const tr::KeypointLossTerms l = tr::keypoint_loss(s, t, x[14], x[15], x[16]);
                                return fh::stack({l.points, l.reconstruction, l.rotation, l.expression, l.total}, 0);
                              },
                              kp, "keypoint_loss"));
  // E_gaze. Central differences must not straddle a kink of |v − v*| or |e − e*|, so the
  // true meshes are the predicted ones doubled, turned by 30° and moved by 10 (|v| < 2.3
  // for these meshes): every coordinate differs by more than 1, every edge length by a
  // factor 2, the gazes by 30° (inside acos's smooth range). Lv then sums 1446
  // differences of ~10 (~10⁴), whose rounding would swamp the central differences
  // (1e-16·10⁴/1e-6 = 1e-6); the checked function scales Lv and the total by 1e-3, which
  // checks the same derivatives with the noise cut to 1e-9.
  const Tensor predicted = random_meshes(gen, B).requires_grad_();
  std::vector<double> truth = predicted.to_vector<double>();
  const Eigen::Matrix3d turn = geo::rotation_from_euler(geo::deg_to_rad(30), 0, 0);
  for (size_t i = 0; i < truth.size(); i += 3) {
    REQUIRE(Eigen::Vector3d(truth[i], truth[i + 1], truth[i + 2]).norm() < 2.3);
    const Eigen::Vector3d q = 2.0 * (turn * Eigen::Vector3d(truth[i], truth[i + 1], truth[i + 2]));
    for (int k = 0; k < 3; ++k) truth[i + k] = q[k] + 10.0;
  }
  worst = std::max(worst,
                   check_gradients(
                       [](auto& x) {
                         const tr::GazeLossTerms l = tr::gaze_loss(x[0], x[1]);
                         return fh::stack({fh::scale(l.vertices, 1e-3), l.edges, l.gaze, fh::scale(l.total, 1e-3)}, 0);
                       },
                       {predicted, Tensor::from_vector(truth, predicted.shape())}, "gaze_loss"));
  // Generator: 5 VGG features each, two discriminators with 2 scales of 2 feature maps.
  std::vector<Tensor> gl;
  for (int i = 0; i < 15; ++i) gl.push_back(leaf({1, 3, 3, 2}));
  // Per scale: logits, 2 fake feature maps, 2 real ones (targets, detached by the loss: no grad here).
  for (int i = 0; i < 2 * 2 * 5; ++i)
    gl.push_back(i % 5 < 3 ? leaf({1, 2, 2, 2}) : fh::rand({1, 2, 2, 2}, gen, -1, 1, DType::F64));
  worst = std::max(worst, check_gradients([](auto& x) { return stacked_generator_loss(x, 2, 2, 2); }, gl,
                                          "generator_loss"));
  worst = std::max(worst, check_gradients(
                              [](auto& x) {
                                const tr::DiscriminatorLossTerms l = tr::discriminator_loss({x[0], x[1]}, {x[2], x[3]});
                                return fh::stack({l.real, l.fake, l.total}, 0);
                              },
                              {leaf({2, 3, 3, 1}, -3, 3), leaf({1, 2, 2, 1}, -3, 3), leaf({2, 3, 3, 1}, -3, 3),
                               leaf({1, 2, 2, 1}, -3, 3)},
                              "discriminator_loss"));
  MESSAGE("worst gradient error " << worst << " of threshold");
}

TEST_CASE("losses: argument errors name the loss and the argument") {
  const Tensor m = Tensor::zeros({2, 482, 3});
  CHECK_THROWS_WITH_AS(tr::gaze_loss(m, Tensor::zeros({2, 481, 3})),
                       doctest::Contains("gaze_loss: true mesh has shape [2, 481, 3], expected [2, 482, 3]"),
                       fh::Error);
  CHECK_THROWS_WITH_AS(tr::vgg_loss({m}, {m}), doctest::Contains("5 VGG19 features"), fh::Error);
  CHECK_THROWS_WITH_AS(tr::discriminator_loss({m}, {}), doctest::Contains("1 real and 0 fake scales"), fh::Error);
  tr::GeneratorLossInputs in;
  CHECK_THROWS_WITH_AS(tr::generator_loss(in), doctest::Contains("0 discriminators"), fh::Error);
  tr::KeypointEstimate e{
      {Tensor::zeros({2}), Tensor::zeros({2}), Tensor::zeros({2}), Tensor::zeros({2, 3}), Tensor::ones({2, 1})},
      Tensor::zeros({2, 68, 3}),
      Tensor::zeros({2, 68, 3})};
  CHECK_THROWS_WITH_AS(
      tr::keypoint_loss(e, e, Tensor::zeros({2, 68, 3}), Tensor::zeros({2, 68, 3}), Tensor::zeros({2, 2})),
      doctest::Contains("target angles has shape [2, 2], expected [2, 3]"), fh::Error);
}
