// Parity of the training objectives with the PyTorch reference (tools/reference/losses.py
// via tools/oracle/ops_losses.py). Each loss's terms are stacked into one vector in the
// order of its struct, so a random upstream gradient exercises every term and every input.
//
// Tolerances: the terms are means of float32 values of order 1 (Lv and Le sum a mesh's
// ~1446 or 2880 differences: rtol 1e-5); gradients are single products: atol 1e-6.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "autograd/ops.h"
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

ParityCase gaze_case(fh::Generator& gen, int64_t B) {
  return make_parity_case(gen, "gaze_loss", "", {random_meshes(gen, B, DType::F32), random_meshes(gen, B, DType::F32)},
                          [](auto& x) {
                            const tr::GazeLossTerms l = tr::gaze_loss(x[0], x[1]);
                            return fh::stack({l.vertices, l.edges, l.gaze, l.total}, 0);
                          },
                          {1e-5, 1e-5});
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
  // D_I and D_M, two scales each, four feature maps per scale (the contract's layers 0-3).
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
