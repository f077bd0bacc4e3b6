// The multi-scale PatchGAN discriminators (docs/networks.md#discriminators): D_I sees concat(target
// sketch, image) at S, D_M a mouth crop at S/4; two scales each, scale k+1 on a 3x3/2
// average-pooled copy of scale k's input.
#pragma once

#include <memory>
#include <vector>

#include "layers/basic.h"
#include "nets/config.h"

namespace fh::nets {

struct PatchGanOutput {
  Tensor logits;                 // [N, h, w, 1]
  std::vector<Tensor> features;  // outputs of layers 0-3 after their LReLU
};

// One scale: `layers.{i}.conv` (+ `layers.{i}.norm`, an instance norm without parameters).
class PatchGanScale : public nn::Module {
 public:
  PatchGanScale(int64_t in_channels, int64_t ndf);
  PatchGanOutput forward(const Tensor& x);

 private:
  std::vector<std::unique_ptr<nn::Conv2d>> convs_;
};

struct DiscriminatorOutput {
  std::vector<PatchGanOutput> scales;
};

class Discriminator : public nn::Module {
 public:
  // kind "image" (6 channels at S) or "mouth" (3 channels at S/4).
  Discriminator(const Config& cfg, const std::string& kind);
  DiscriminatorOutput forward(const Tensor& x);
  int64_t input_channels() const { return in_channels_; }
  int64_t input_size() const { return input_size_; }

  static constexpr int kScales = 2;

 private:
  int64_t in_channels_, input_size_;
  std::vector<std::unique_ptr<PatchGanScale>> scales_;
};

}  // namespace fh::nets
