#include "layers/spade.h"

#include <algorithm>

#include "autograd/ops.h"

namespace fh::nn {

namespace {
constexpr double kLeakySlope = 0.2;
}

Spade::Spade(int64_t channels, int64_t label_channels, int64_t hidden)
    : shared_({.in = label_channels, .out = hidden, .kernel = 3, .padding = 1}),
      gamma_({.in = hidden, .out = channels, .kernel = 3, .padding = 1}),
      beta_({.in = hidden, .out = channels, .kernel = 3, .padding = 1}) {
  register_module("mlp_shared.0", shared_);
  register_module("mlp_gamma", gamma_);
  register_module("mlp_beta", beta_);
}

Tensor Spade::forward(const Tensor& x, const Tensor& label) {
  const Tensor actv = relu(shared_.forward(label_at(label, x.size(1), x.size(2))));
  return spade_modulation(x, gamma_.forward(actv), beta_.forward(actv));
}

Tensor label_at(const Tensor& label, int64_t h, int64_t w) {
  if (label.size(1) == h && label.size(2) == w) return label;
  return resize_nearest(label, h, w);
}

SpadeResBlock::SpadeResBlock(int64_t fin, int64_t fout, int64_t label_channels, int64_t hidden, bool spectral)
    : learned_shortcut_(fin != fout),
      norm_0_(fin, label_channels, hidden),
      norm_1_(std::min(fin, fout), label_channels, hidden),
      conv_0_({.in = fin, .out = std::min(fin, fout), .kernel = 3, .padding = 1, .spectral = spectral}),
      conv_1_({.in = std::min(fin, fout), .out = fout, .kernel = 3, .padding = 1, .spectral = spectral}) {
  register_module("conv_0", conv_0_);
  register_module("conv_1", conv_1_);
  if (learned_shortcut_) {
    conv_s_ = std::make_unique<Conv2d>(ConvSpec{.in = fin, .out = fout, .kernel = 1, .bias = false, .spectral = spectral});
    norm_s_ = std::make_unique<Spade>(fin, label_channels, hidden);
    register_module("conv_s", *conv_s_);
  }
  register_module("norm_0", norm_0_);
  register_module("norm_1", norm_1_);
  if (learned_shortcut_) register_module("norm_s", *norm_s_);
}

Tensor SpadeResBlock::forward(const Tensor& x, const Tensor& raw_label) {
  // Every SPADE of the block works at x's size: resize the label once for all of them.
  const Tensor label = label_at(raw_label, x.size(1), x.size(2));
  const Tensor shortcut = learned_shortcut_ ? conv_s_->forward(norm_s_->forward(x, label)) : x;
  Tensor dx = conv_0_.forward(leaky_relu(norm_0_.forward(x, label), kLeakySlope));
  dx = conv_1_.forward(leaky_relu(norm_1_.forward(dx, label), kLeakySlope));
  return add(shortcut, dx);
}

}  // namespace fh::nn
