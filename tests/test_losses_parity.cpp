// Parity of the training objectives with the PyTorch reference (tools/reference/losses.py
// via tools/oracle/ops_losses.py). Each loss's terms are stacked into one vector in the
// order of its struct, so a random upstream gradient exercises every term and every input.
//
// Tolerances: the terms are means of float32 values of order 1 (Lv and Le sum a mesh's
// ~1446 or 2880 differences: rtol 1e-5); gradients are single products: atol 1e-6.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <string>

#include <Eigen/Geometry>

#include "autograd/ops.h"
#include "geometry/conventions.h"
#include "tests/generator_loss_layout.h"
#include "tests/geometry_inputs.h"
#include "tests/harness/parity.h"
#include "train/losses.h"

using fh::DType;
using fh::Shape;
using fh::Tensor;
using namespace fh::test;
namespace tr = fh::train;

namespace {

Tensor uniform(fh::Generator& gen, const Shape& s, double lo, double hi) { return fh::rand(s, gen, lo, hi); }

ParityCase keypoint_case(fh::Generator& gen, int64_t B) {
  std::vector<Tensor> in;
  for (int image = 0; image < 2; ++image) {
    for (int a = 0; a < 3; ++a) in.push_back(uniform(gen, {B}, -0.6, 0.6));
    in.push_back(uniform(gen, {B, 3}, -0.2, 0.2));
    in.push_back(uniform(gen, {B, 1}, 0.6, 1.4));
    in.push_back(fh::randn({B, 68, 3}, gen, 0.0, 0.05));
    in.push_back(random_faces(gen, B));
  }
  in.push_back(random_faces(gen, B));
  in.push_back(random_faces(gen, B));
  in.push_back(uniform(gen, {B, 3}, -0.6, 0.6));
  return make_parity_case(gen, "keypoint_loss", "", in,
                          [](auto& x) {
                            const tr::KeypointEstimate s{{x[0], x[1], x[2], x[3], x[4]}, x[5], x[6]};
                            const tr::KeypointEstimate t{{x[7], x[8], x[9], x[10], x[11]}, x[12], x[13]};
                            const tr::KeypointLossTerms l = tr::keypoint_loss(s, t, x[14], x[15], x[16]);
                            return fh::stack({l.points, l.reconstruction, l.rotation, l.expression, l.total}, 0);
                          },
                          {1e-6, 1e-5});
}

// The unnormalised gaze of each mesh (iris ring mean − equator ring mean), in double.
std::vector<Eigen::Vector3d> mesh_gazes(const Tensor& meshes) {
  namespace g = fh::geometry;
  const std::vector<double> v = meshes.to_vector<double>();
  std::vector<Eigen::Vector3d> out;
  for (int64_t b = 0; b < meshes.size(0); ++b) {
    Eigen::Vector3d d = Eigen::Vector3d::Zero();
    for (int k = 0; k < g::kEyeSegments; ++k)
      for (int i = 0; i < 3; ++i)
        d[i] += (v[(b * g::kEyeVertices + g::eye_ring_vertex(g::kIrisRing, k)) * 3 + i] -
                 v[(b * g::kEyeVertices + g::eye_ring_vertex(g::kEquatorRing, k)) * 3 + i]) /
                g::kEyeSegments;
    out.push_back(d);
  }
  return out;
}

ParityCase gaze_case(fh::Generator& gen, int64_t B) {
  const Tensor pred = random_meshes(gen, B, DType::F32), truth = random_meshes(gen, B, DType::F32);
  ParityCase c = make_parity_case(gen, "gaze_loss", "", {pred, truth},
                                  [](auto& x) {
                                    const tr::GazeLossTerms l = tr::gaze_loss(x[0], x[1]);
                                    return fh::stack({l.vertices, l.edges, l.gaze, l.total}, 0);
                                  },
                                  {1e-5, 1e-5});
  // The mesh gradients' tolerance follows the gaze term's conditioning. Its gradient is
  // (rad2deg/B)·acos'(c)·∂c/∂v with c = ĝ_p·ĝ_t the cosine of the angle θ between the two
  // gazes: the float32 rounding of c (unit u = 2^-24) moves acos'(c) = −1/sinθ by a relative
  // u/sin²θ, and ĝ_t − c·ĝ_p cancels to length sinθ, a relative u/sinθ. The gradient's own
  // size is K = rad2deg·(|ū_gaze| + |ū_total|)/(B·32·|g|) (32 ring vertices share it; |g| the
  // unnormalised gaze; ū the upstream gradient of the two terms that hold the gaze angle), so
  // each side errs by about 4u·K·(1/sin²θ + 1/sinθ) — a few roundings per factor — and the
  // comparison of two such sides by twice that, on top of the other terms' 1e-5.
  const std::vector<Eigen::Vector3d> gp = mesh_gazes(pred), gt = mesh_gazes(truth);
  const std::vector<double> up = c.oracle.grad_output.to_vector<double>();  // [vertices, edges, gaze, total]
  const double u = std::ldexp(1.0, -24), upstream = std::abs(up[2]) + std::abs(up[3]);
  double worst = 0, angle_error = 0;
  for (int64_t b = 0; b < B; ++b) {
    const size_t i = static_cast<size_t>(b);
    const double sin_theta = gp[i].normalized().cross(gt[i].normalized()).norm();
    const double k = fh::geometry::rad_to_deg(1.0) * upstream / (B * 32.0 * std::min(gp[i].norm(), gt[i].norm()));
    worst = std::max(worst, 2 * 4 * u * k * (1 / (sin_theta * sin_theta) + 1 / sin_theta));
    angle_error += 1 / sin_theta;
  }
  c.grad_tol = {{1e-5 + worst, 1e-5}, {1e-5 + worst, 1e-5}};
  // The outputs: the gaze term (and the total, which holds it with weight 1) is
  // (rad2deg/B)·Σ acos(c). Each unit gaze carries about 2u of rounding per component (sum of
  // squares, square root, division) and the dot product adds 2u, so |Δc| ≤ 6u, which acos
  // turns into an angle error of 6u/sinθ: twice that between two float32 sides.
  c.tol = {1e-5 + 2 * 6 * u * fh::geometry::rad_to_deg(1.0) * angle_error / static_cast<double>(B), 1e-5};
  return c;
}

// VGG-like feature pyramids: 5 maps halving in size from `side`.
std::vector<Tensor> pyramid(fh::Generator& gen, int64_t B, int64_t side) {
  std::vector<Tensor> f;
  for (int l = 0; l < 5; ++l)
    f.push_back(
        fh::relu(fh::randn({B, std::max<int64_t>(1, side >> l), std::max<int64_t>(1, side >> l), 4 << l}, gen)));
  return f;
}

ParityCase generator_case(fh::Generator& gen, int64_t B) {
  std::vector<Tensor> in;
  for (int k = 0; k < 3; ++k)
    for (const Tensor& t : pyramid(gen, B, 16)) in.push_back(t);
  // D_I and D_M, two scales each, four feature maps per scale (layers 0-3, docs/networks.md#discriminators).
  const int64_t sides[2] = {9, 5};
  for (int d = 0; d < 2; ++d)
    for (int s = 0; s < 2; ++s) {
      const int64_t side = sides[s] - 2 * d;
      in.push_back(fh::randn({B, side, side, 1}, gen));
      for (int r = 0; r < 2; ++r)
        for (int l = 0; l < 4; ++l) in.push_back(fh::randn({B, side, side, 2 << l}, gen));
    }
  return make_parity_case(gen, "generator_loss", "{\"layout\":[[4,4],[4,4]]}", in,
                          [](auto& x) { return stacked_generator_loss(x, 2, 2, 4); }, {1e-6, 1e-5});
}

ParityCase discriminator_case(fh::Generator& gen, int64_t B, int scales) {
  std::vector<Tensor> in;
  for (int k = 0; k < 2 * scales; ++k)
    in.push_back(fh::randn({B, 9 - 2 * (k % scales), 9 - 2 * (k % scales), 1}, gen, 0.0, 1.5));
  return make_parity_case(gen, "discriminator_loss", "{\"scales\":" + std::to_string(scales) + "}", in,
                          [scales](auto& x) {
                            const std::vector<Tensor> real(x.begin(), x.begin() + scales),
                                fake(x.begin() + scales, x.end());
                            const tr::DiscriminatorLossTerms l = tr::discriminator_loss(real, fake);
                            return fh::stack({l.real, l.fake, l.total}, 0);
                          },
                          {1e-6, 1e-5});
}

}  // namespace

TEST_CASE("PyTorch parity: E_can, E_gaze, VGG, generator and discriminator objectives") {
  if (skip_without_oracle()) return;
  fh::Generator gen(run_seed());
  std::vector<ParityCase> cases;
  for (int64_t B : {1, 4}) {
    cases.push_back(keypoint_case(gen, B));
    cases.push_back(gaze_case(gen, B));
    cases.push_back(generator_case(gen, B));
    cases.push_back(discriminator_case(gen, B, 2));
  }
  cases.push_back(discriminator_case(gen, 2, 3));
  {
    std::vector<Tensor> in = pyramid(gen, 2, 8);
    for (const Tensor& t : pyramid(gen, 2, 8)) in.push_back(t);
    cases.push_back(make_parity_case(gen, "vgg_loss", "", in,
                                     [](auto& x) {
                                       return tr::vgg_loss({x.begin(), x.begin() + 5}, {x.begin() + 5, x.end()});
                                     },
                                     {1e-6, 1e-5}));
  }
  double worst = 0;
  std::map<std::string, double> worst_by_op;
  if (!run_parity(cases, &worst, &worst_by_op)) return;
  for (const auto& [op, w] : worst_by_op) MESSAGE(op << ": worst error " << w << " of threshold");
  MESSAGE(cases.size() << " cases against PyTorch");
}
