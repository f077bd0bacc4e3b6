#include "nets/keypoint_net.h"

#include <array>
#include <vector>

#include "autograd/ops.h"
#include "geometry/conventions.h"
#include "geometry/keypoints.h"
#include "runtime/error.h"

namespace fh::nets {

namespace {
using geometry::kAngleBins;
constexpr int64_t kPoints = geometry::kNumKeypoints;
}  // namespace

KeypointNet::KeypointNet(const Config& cfg)
    : stem_conv_({.in = 3, .out = cfg.scaled(32), .kernel = 7, .stride = 2, .padding = 3, .bias = false}),
      stem_bn_(cfg.scaled(32)),
      yaw_(cfg.scaled(512), kAngleBins), pitch_(cfg.scaled(512), kAngleBins), roll_(cfg.scaled(512), kAngleBins),
      translation_(cfg.scaled(512), 3), scale_(cfg.scaled(512), 1), expression_(cfg.scaled(512), 3 * kPoints),
      points_(cfg.scaled(512), 3 * kPoints) {
  register_module("stem.conv", stem_conv_);
  register_module("stem.bn", stem_bn_);
  // (in, out, stride) of the eight bottlenecks at α = 1.
  const int64_t plan[8][3] = {{32, 64, 2},   {64, 64, 1},   {64, 128, 2},  {128, 128, 1},
                              {128, 256, 2}, {256, 256, 1}, {256, 512, 2}, {512, 512, 1}};
  for (const auto& p : plan) {
    blocks_.push_back(std::make_unique<nn::ResBottleneck>(cfg.scaled(p[0]), cfg.scaled(p[1]), p[2]));
    register_module("blocks." + std::to_string(blocks_.size() - 1), *blocks_.back());
  }
  register_module("yaw", yaw_);
  register_module("pitch", pitch_);
  register_module("roll", roll_);
  register_module("translation", translation_);
  register_module("scale", scale_);
  register_module("expression", expression_);
  register_module("points", points_);
}

KeypointOutput KeypointNet::forward(const Tensor& image) {
  FH_CHECK(image.dim() == 4 && image.size(3) == 3, "kp", "expects NHWC RGB images [B, S, S, 3], got ",
           image.describe());
  Tensor h = relu(stem_bn_.forward(stem_conv_.forward(image)));
  for (auto& block : blocks_) h = block->forward(h);
  const Tensor feature = global_avg_pool(h);  // [B, C]
  const int64_t b = image.size(0);

  KeypointOutput out;
  out.yaw_logits = yaw_.forward(feature);
  out.pitch_logits = pitch_.forward(feature);
  out.roll_logits = roll_.forward(feature);
  out.yaw = geometry::bins_to_degrees(out.yaw_logits);
  out.pitch = geometry::bins_to_degrees(out.pitch_logits);
  out.roll = geometry::bins_to_degrees(out.roll_logits);
  out.translation = translation_.forward(feature);
  out.scale = exp(scale_.forward(feature));
  out.expression = reshape(expression_.forward(feature), {b, kPoints, 3});
  out.points = reshape(points_.forward(feature), {b, kPoints, 3});
  const double to_rad = geometry::kPi / 180.0;
  out.rotation = geometry::rotation_matrix(scale(out.yaw, to_rad), scale(out.pitch, to_rad), scale(out.roll, to_rad));
  out.canonical =
      geometry::canonical_from_posed(out.points, out.rotation, out.translation, out.scale, out.expression);
  return out;
}

KeypointOutput KeypointNet::forward_mirror_averaged(const Tensor& image) {
  FH_CHECK(image.dim() == 4 && image.size(3) == 3, "kp", "expects NHWC RGB images [B, S, S, 3], got ",
           image.describe());
  const int64_t b = image.size(0), width = image.size(2);
  std::vector<int64_t> reversed(static_cast<size_t>(width));
  for (int64_t x = 0; x < width; ++x) reversed[static_cast<size_t>(x)] = width - 1 - x;
  const KeypointOutput both = forward(concat({image, index_select(image, 2, reversed)}, 0));
  auto direct = [&](const Tensor& t) { return slice(t, 0, 0, b); };
  auto mirrored = [&](const Tensor& t) { return slice(t, 0, b, b); };
  // An image-normalised x is centred on the image, so the mirror image of a point is its x
  // negated (and, for the 68 points, its partner's number).
  const Tensor flip_x =
      Tensor::from_vector(std::vector<double>{-1.0, 1.0, 1.0}, {3}).to(image.dtype()).to(image.device());
  const std::array<int, kPoints>& partner = geometry::mirrored_keypoints();
  const std::vector<int64_t> renumber(partner.begin(), partner.end());
  auto mean_of_points = [&](const Tensor& t) {
    return scale(add(direct(t), mul(index_select(mirrored(t), 1, renumber), flip_x)), 0.5);
  };
  KeypointOutput out;
  out.yaw = scale(sub(direct(both.yaw), mirrored(both.yaw)), 0.5);
  out.pitch = scale(add(direct(both.pitch), mirrored(both.pitch)), 0.5);
  out.roll = scale(sub(direct(both.roll), mirrored(both.roll)), 0.5);
  out.translation = scale(add(direct(both.translation), mul(mirrored(both.translation), flip_x)), 0.5);
  out.scale = scale(add(direct(both.scale), mirrored(both.scale)), 0.5);
  out.expression = mean_of_points(both.expression);
  out.points = mean_of_points(both.points);
  const double to_rad = geometry::kPi / 180.0;
  out.rotation = geometry::rotation_matrix(scale(out.yaw, to_rad), scale(out.pitch, to_rad), scale(out.roll, to_rad));
  out.canonical =
      geometry::canonical_from_posed(out.points, out.rotation, out.translation, out.scale, out.expression);
  return out;
}

}  // namespace fh::nets
