// Residual blocks of the encoders: the bottleneck of E_can and torchvision's BasicBlock of
// the ResNet-34 inside E_gaze, with torchvision's names (docs/networks.md#e_can-the-key-point-network,
// #e_gaze-the-gaze-network).
#pragma once

#include <memory>

#include "layers/basic.h"

namespace fh::nn {

// 1x1 → 3x3 (stride) → 1x1 with mid = cout/4, BatchNorm after each, ReLU(main + shortcut).
class ResBottleneck : public Module {
 public:
  ResBottleneck(int64_t cin, int64_t cout, int64_t stride);
  Tensor forward(const Tensor& x);

 private:
  Conv2d conv1_, conv2_, conv3_;
  BatchNorm2d bn1_, bn2_, bn3_;
  std::unique_ptr<Conv2d> skip_conv_;
  std::unique_ptr<BatchNorm2d> skip_bn_;
};

// torchvision BasicBlock: 3x3 (stride) → BN → ReLU → 3x3 → BN, plus the shortcut
// `downsample.0` (1x1 stride conv) and `downsample.1` (BN) when the shape changes.
class BasicBlock : public Module {
 public:
  BasicBlock(int64_t cin, int64_t cout, int64_t stride);
  Tensor forward(const Tensor& x);

 private:
  Conv2d conv1_, conv2_;
  BatchNorm2d bn1_, bn2_;
  std::unique_ptr<Conv2d> down_conv_;
  std::unique_ptr<BatchNorm2d> down_bn_;
};

}  // namespace fh::nn
