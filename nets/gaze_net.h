// E_gaze, the eye-mesh network (docs/networks.md#e_gaze-the-gaze-network): torchvision's
// ResNet-34 trunk under `backbone.` (so converted ImageNet weights load as they are), a
// stride-2 neck and one affine head to the 482 vertices of the eye mesh; the gaze follows
// from the mesh.
#pragma once

#include <memory>
#include <vector>

#include "layers/blocks.h"
#include "nets/config.h"

namespace fh::nets {

struct GazeOutput {
  Tensor vertices;  // [B, 482, 3] in crop-normalised coordinates
  Tensor gaze;      // [B, 3] unit vectors (their angles: geometry::gaze_to_angles)
};

class ResNet34Trunk : public nn::Module {
 public:
  explicit ResNet34Trunk(int64_t base_width);
  Tensor forward(const Tensor& x);

 private:
  nn::Conv2d conv1_;
  nn::BatchNorm2d bn1_;
  std::vector<std::unique_ptr<nn::BasicBlock>> blocks_;
};

class GazeNet : public nn::Module {
 public:
  explicit GazeNet(const Config& cfg);
  GazeOutput forward(const Tensor& eye);  // [B, E, E, 3] NHWC in [-1, 1]

 private:
  Config cfg_;
  int64_t grid_;  // n = ⌈E/64⌉, the neck's output size
  ResNet34Trunk backbone_;
  nn::Conv2d neck_conv_;
  nn::BatchNorm2d neck_bn_;
  nn::Linear head_;
};

}  // namespace fh::nets
