// E_can, the key-point network (docs/networks.md#e_can-the-key-point-network): a ResNet of
// bottleneck blocks and seven affine heads giving head pose (angle bins), translation,
// scale, expression deformation and posed key-points; the canonical key-points follow by
// Eq. 1.
#pragma once

#include <memory>
#include <vector>

#include "layers/blocks.h"
#include "nets/config.h"

namespace fh::nets {

struct KeypointOutput {
  Tensor yaw_logits, pitch_logits, roll_logits;  // [B, 66]
  Tensor yaw, pitch, roll;                        // degrees [B]
  Tensor translation;                             // t [B, 3]
  Tensor scale;                                   // s [B, 1] (exp of the head's output)
  Tensor expression;                              // d [B, 68, 3]
  Tensor points;                                  // p [B, 68, 3]
  Tensor canonical;                               // (1/s)·Rᵀ·(p − d − t) [B, 68, 3]
  Tensor rotation;                                // R [B, 3, 3]
};

class KeypointNet : public nn::Module {
 public:
  explicit KeypointNet(const Config& cfg);
  KeypointOutput forward(const Tensor& image);  // [B, S, S, 3] NHWC in [-1, 1]
  // E_can on the images and on their mirror images (left and right swapped) in one batch,
  // the two readings averaged: the mirror image's points, deformation and translation
  // mirrored back (x negated, the points renumbered by geometry::mirrored_keypoints), its yaw
  // and roll negated; the scale is the mean, R and the canonical points follow from the mean
  // angles by Eq. 1. A face and its mirror image are read as exact mirrors of each other,
  // and the errors of the two readings partly cancel (docs/evaluation.md: 8 % off the
  // shipped E_can's key-point error, 12 % off its pose error). The angle logits are left
  // undefined.
  KeypointOutput forward_mirror_averaged(const Tensor& image);

 private:
  nn::Conv2d stem_conv_;
  nn::BatchNorm2d stem_bn_;
  std::vector<std::unique_ptr<nn::ResBottleneck>> blocks_;
  nn::Linear yaw_, pitch_, roll_, translation_, scale_, expression_, points_;
};

}  // namespace fh::nets
