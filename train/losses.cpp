#include "train/losses.h"

#include "autograd/ops.h"
#include "geometry/conventions.h"
#include "geometry/eyes.h"
#include "geometry/tensor_checks.h"

namespace fh::train {

using geometry::detail::check_shape;

namespace {

Tensor rotation_of(const geometry::HeadPose& pose) {
  return geometry::rotation_matrix(pose.yaw, pose.pitch, pose.roll);
}

Tensor mean_square(const Tensor& x) { return mean(mul(x, x)); }

// A running sum that starts undefined.
Tensor add_defined(const Tensor& total, const Tensor& term) { return total.defined() ? add(total, term) : term; }

// Eq. 1 with one image's estimate, then Eq. 2 with the other's.
Tensor reposed(const KeypointEstimate& from, const Tensor& from_rotation, const KeypointEstimate& to,
               const Tensor& to_rotation) {
  const Tensor canonical = geometry::canonical_from_posed(from.points, from_rotation, from.pose.translation,
                                                          from.pose.scale, from.expression);
  return geometry::posed_from_canonical(canonical, to_rotation, to.pose.translation, to.pose.scale, to.expression);
}

}  // namespace

KeypointLossTerms keypoint_loss(const KeypointEstimate& source, const KeypointEstimate& target,
                                const Tensor& source_landmarks, const Tensor& target_landmarks,
                                const Tensor& target_angles, const KeypointLossWeights& weights) {
  const char* op = "keypoint_loss";
  check_shape(source.points, op, "source points", {-1, geometry::kNumKeypoints, 3});
  const int64_t batch = source.points.size(0);
  check_shape(target.points, op, "target points", {batch, geometry::kNumKeypoints, 3});
  check_shape(source_landmarks, op, "source landmarks", {batch, geometry::kNumKeypoints, 3});
  check_shape(target_landmarks, op, "target landmarks", {batch, geometry::kNumKeypoints, 3});
  check_shape(target_angles, op, "target angles", {batch, 3});

  const Tensor rs = rotation_of(source.pose), rt = rotation_of(target.pose);
  KeypointLossTerms l;
  l.points = add(mse_loss(source.points, source_landmarks), mse_loss(target.points, target_landmarks));
  l.reconstruction = add(mse_loss(reposed(target, rt, source, rs), source_landmarks),
                         mse_loss(reposed(source, rs, target, rt), target_landmarks));
  const Tensor predicted_angles = stack({target.pose.yaw, target.pose.pitch, target.pose.roll}, 1);
  l.rotation = mse_loss(predicted_angles, target_angles);
  l.expression = add(mean_square(source.expression), mean_square(target.expression));
  l.total = add(add(scale(l.points, weights.points), scale(l.reconstruction, weights.reconstruction)),
                add(scale(l.rotation, weights.rotation), scale(l.expression, weights.expression)));
  return l;
}

GazeLossTerms gaze_loss(const Tensor& predicted, const Tensor& truth, const GazeLossWeights& weights) {
  const char* op = "gaze_loss";
  check_shape(predicted, op, "predicted mesh", {-1, geometry::kEyeVertices, 3});
  check_shape(truth, op, "true mesh", {predicted.size(0), geometry::kEyeVertices, 3});
  GazeLossTerms l;
  // Σ over a mesh's elements, mean over the batch = the mean over all elements × elements per mesh.
  l.vertices = scale(l1_loss(predicted, truth), 3.0 * geometry::kEyeVertices);
  l.edges = scale(l1_loss(geometry::edge_lengths(predicted), geometry::edge_lengths(truth)), geometry::kEyeEdges);
  const Tensor cosine = sum(mul(geometry::gaze_from_mesh(predicted), geometry::gaze_from_mesh(truth)), {-1});
  l.gaze = scale(mean(acos_clamped(cosine, 1e-7)), geometry::rad_to_deg(1.0));
  l.total = add(add(scale(l.vertices, weights.vertices), scale(l.edges, weights.edges)), scale(l.gaze, weights.gaze));
  return l;
}

Tensor vgg_loss(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  static constexpr double kWeights[5] = {1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0};
  FH_CHECK(a.size() == 5 && b.size() == 5, "vgg_loss",
           "expected the 5 VGG19 features relu1_1..relu5_1 of each image, got ", a.size(), " and ", b.size());
  Tensor total;
  for (size_t l = 0; l < 5; ++l) total = add_defined(total, scale(l1_loss(a[l], b[l]), kWeights[l]));
  return total;
}

namespace {

void check_discriminator(const DiscriminatorOutputs& fake, const DiscriminatorOutputs& real, size_t d) {
  FH_CHECK(!fake.empty() && fake.size() == real.size(), "generator_loss", "discriminator ", d, " has ", fake.size(),
           " fake and ", real.size(), " real scales");
  for (size_t k = 0; k < fake.size(); ++k)
    FH_CHECK(fake[k].features.size() == real[k].features.size() && fake[k].logits.defined(), "generator_loss",
             "discriminator ", d, " scale ", k, ": ", fake[k].features.size(), " fake and ", real[k].features.size(),
             " real feature maps");
}

}  // namespace

GeneratorLossTerms generator_loss(const GeneratorLossInputs& in, const GeneratorLossWeights& weights) {
  FH_CHECK(!in.fake.empty() && in.fake.size() == in.real.size(), "generator_loss", in.fake.size(),
           " discriminators on fake images but ", in.real.size(), " on real ones");
  GeneratorLossTerms l;
  for (size_t d = 0; d < in.fake.size(); ++d) {
    const DiscriminatorOutputs &fake = in.fake[d], &real = in.real[d];
    check_discriminator(fake, real, d);
    const double per_scale = 1.0 / static_cast<double>(fake.size());
    Tensor adversarial, matching;
    for (size_t k = 0; k < fake.size(); ++k) {
      adversarial = add_defined(adversarial, hinge_generator(fake[k].logits));
      for (size_t f = 0; f < fake[k].features.size(); ++f)
        matching = add_defined(matching, l1_loss(fake[k].features[f], real[k].features[f].detach()));
    }
    l.adversarial = add_defined(l.adversarial, scale(adversarial, per_scale));
    if (matching.defined()) l.feature_matching = add_defined(l.feature_matching, scale(matching, per_scale));
  }
  if (!l.feature_matching.defined())
    l.feature_matching = Tensor::scalar(0.0, l.adversarial.dtype(), l.adversarial.device());
  l.vgg_output = vgg_loss(in.vgg_output, in.vgg_target);
  l.vgg_warped = vgg_loss(in.vgg_warped, in.vgg_target);
  l.total = add(add(l.adversarial, scale(add(l.vgg_output, l.vgg_warped), weights.vgg)),
                scale(l.feature_matching, weights.feature_matching));
  return l;
}

DiscriminatorLossTerms discriminator_loss(const std::vector<Tensor>& real_logits,
                                          const std::vector<Tensor>& fake_logits) {
  FH_CHECK(!real_logits.empty() && real_logits.size() == fake_logits.size(), "discriminator_loss", real_logits.size(),
           " real and ", fake_logits.size(), " fake scales");
  const double per_scale = 1.0 / static_cast<double>(real_logits.size());
  DiscriminatorLossTerms l;
  for (size_t k = 0; k < real_logits.size(); ++k) {
    l.real = add_defined(l.real, hinge_real(real_logits[k]));
    l.fake = add_defined(l.fake, hinge_fake(fake_logits[k]));
  }
  l.real = scale(l.real, per_scale);
  l.fake = scale(l.fake, per_scale);
  l.total = add(l.real, l.fake);
  return l;
}

}  // namespace fh::train
