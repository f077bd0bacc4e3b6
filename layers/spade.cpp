#include "layers/spade.h"

#include <algorithm>

#include "autograd/ops.h"
#include "layers/flops.h"
#include "runtime/error.h"

namespace fh::nn {

namespace {
constexpr double kLeakySlope = 0.2;

// [B, ...] → [B·m, ...], each image repeated m times in a row.
Tensor repeat_each(const Tensor& x, int64_t m) {
  if (m == 1) return x;
  std::vector<int64_t> shape{x.size(0) * m};
  for (int d = 1; d < x.dim(); ++d) shape.push_back(x.size(d));
  return reshape(stack(std::vector<Tensor>(static_cast<size_t>(m), x), 1), shape);
}

// How many images of x each label image modulates.
int64_t images_per_label(const Tensor& x, const Tensor& label) {
  const int64_t n = x.size(0), nl = label.size(0);
  FH_CHECK(nl >= 1 && n % nl == 0, "SPADE", "the label's batch must divide the input's: label ", label.describe(),
           ", input ", x.describe());
  return n / nl;
}
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
  const int64_t m = images_per_label(x, label);
  const Tensor actv = relu(shared_.forward(label_at(label, x.size(1), x.size(2))));
  // γ and β read the same activation: one convolution by both weights stacked along the
  // outputs transforms (or gathers) that input once and runs wider products: on the small
  // generator's layers 1.0-1.1x the two convolutions at 32², 1.2x at 64², 1.6-1.7x at 128²
  // (docs/cpu-conv.md).
  const int64_t c = gamma_.spec().out;
  const Tensor both = conv2d(actv, concat({gamma_.current_weight(), beta_.current_weight()}, 0),
                             concat({gamma_.bias(), beta_.bias()}, 0), /*stride=*/1, /*padding=*/1);
  FlopCounter::add(2.0 * static_cast<double>(both.numel()) * static_cast<double>(9 * actv.size(3)));
  return spade_modulation(x, repeat_each(slice(both, 3, 0, c), m), repeat_each(slice(both, 3, c, c), m));
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
