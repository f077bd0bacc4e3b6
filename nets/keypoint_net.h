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

 private:
  nn::Conv2d stem_conv_;
  nn::BatchNorm2d stem_bn_;
  std::vector<std::unique_ptr<nn::ResBottleneck>> blocks_;
  nn::Linear yaw_, pitch_, roll_, translation_, scale_, expression_, points_;
};

}  // namespace fh::nets
