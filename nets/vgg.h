// VGG19 features for the perceptual loss (docs/networks.md#vgg19), torchvision's names
// (`features.{0,2,5,...,28}`), up to relu5_1. Input images in [-1, 1] are mapped to
// ImageNet's normalisation inside.
#pragma once

#include <memory>
#include <vector>

#include "layers/basic.h"

namespace fh::nets {

class Vgg19 : public nn::Module {
 public:
  Vgg19();
  // [N, H, W, 3] in [-1, 1] → relu1_1, relu2_1, relu3_1, relu4_1, relu5_1.
  std::vector<Tensor> forward(const Tensor& image);

  static const std::vector<std::string>& feature_names();

  // A fixed random feature extractor for when ImageNet weights are not at hand: He-normal
  // weights (σ = √(2/fan_in)), zero biases, drawn from `gen`. PyTorch's default init
  // shrinks activations by about √6 per layer, leaving relu5_1 (the perceptual loss's
  // heaviest term) near zero; He scaling keeps every feature's magnitude of order one.
  void randomise_as_feature_extractor(fh::Generator& gen);

 private:
  std::vector<std::unique_ptr<nn::Conv2d>> convs_;
};

}  // namespace fh::nets
