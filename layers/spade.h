// SPADE and the SPADE residual block (docs/networks.md#generator). SPADE(x, label) =
// IN(x)·(1 + γ(label)) + β(label), the label map resized to x's size by nearest neighbour;
// the instance norm and the modulation run as one fused op.
//
// The label may have fewer images than x: with x [B·M, ...] and label [B, ...], label b
// modulates images b·M .. b·M + M - 1 (the N-shot flow decoder, where M sources are driven
// by one target sketch). γ and β are then computed once per label, not once per image.
#pragma once

#include <memory>

#include "layers/basic.h"

namespace fh::nn {

// The label map at h x w (nearest neighbour, PyTorch's index rule); itself when it already is.
Tensor label_at(const Tensor& label, int64_t h, int64_t w);

class Spade : public Module {
 public:
  Spade(int64_t channels, int64_t label_channels, int64_t hidden);
  Tensor forward(const Tensor& x, const Tensor& label);

 private:
  Conv2d shared_, gamma_, beta_;
};

class SpadeResBlock : public Module {
 public:
  // `spectral`: conv_0, conv_1 and conv_s spectrally normalised (the generator's blocks).
  SpadeResBlock(int64_t fin, int64_t fout, int64_t label_channels, int64_t hidden, bool spectral = true);
  Tensor forward(const Tensor& x, const Tensor& label);

 private:
  bool learned_shortcut_;
  Spade norm_0_, norm_1_;
  Conv2d conv_0_, conv_1_;
  std::unique_ptr<Spade> norm_s_;
  std::unique_ptr<Conv2d> conv_s_;
};

}  // namespace fh::nn
