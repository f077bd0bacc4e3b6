#include "nets/discriminator.h"

#include "autograd/ops.h"
#include "runtime/error.h"

namespace fh::nets {

namespace {
constexpr double kLeakySlope = 0.2;
constexpr double kNormEps = 1e-5;
}  // namespace

PatchGanScale::PatchGanScale(int64_t in, int64_t ndf) {
  const int64_t widths[] = {in, ndf, 2 * ndf, 4 * ndf, 8 * ndf, 1};
  for (int i = 0; i < 5; ++i) {
    const bool normed = i >= 1 && i <= 3;  // these have an instance norm, spectral norm and no bias
    convs_.push_back(std::make_unique<nn::Conv2d>(nn::ConvSpec{.in = widths[i], .out = widths[i + 1], .kernel = 4,
                                                               .stride = i < 3 ? 2 : 1, .padding = 2,
                                                               .bias = !normed, .spectral = normed}));
    register_module("layers." + std::to_string(i) + ".conv", *convs_.back());
  }
}

PatchGanOutput PatchGanScale::forward(const Tensor& x) {
  PatchGanOutput out;
  Tensor h = x;
  for (int i = 0; i < 4; ++i) {
    h = convs_[i]->forward(h);
    if (i >= 1) h = instance_norm2d(h, Tensor(), Tensor(), kNormEps);
    h = leaky_relu(h, kLeakySlope);
    out.features.push_back(h);
  }
  out.logits = convs_[4]->forward(h);
  return out;
}

Discriminator::Discriminator(const Config& cfg, const std::string& kind) {
  FH_CHECK(kind == "image" || kind == "mouth", "discriminator", "kind must be image or mouth, got '", kind, "'");
  in_channels_ = kind == "image" ? 6 : 3;
  input_size_ = kind == "image" ? cfg.image_size : cfg.image_size / 4;
  for (int k = 0; k < kScales; ++k) {
    scales_.push_back(std::make_unique<PatchGanScale>(in_channels_, cfg.ndf));
    register_module("scales." + std::to_string(k), *scales_.back());
  }
}

DiscriminatorOutput Discriminator::forward(const Tensor& x) {
  FH_CHECK(x.dim() == 4 && x.size(3) == in_channels_, "discriminator", "expects NHWC input with ", in_channels_,
           " channels, got ", x.describe());
  DiscriminatorOutput out;
  Tensor input = x;
  for (int k = 0; k < kScales; ++k) {
    if (k > 0) input = avg_pool2d(input, PoolWindow::square(3, 2, 1), /*count_include_pad=*/false);
    out.scales.push_back(scales_[k]->forward(input));
  }
  return out;
}

}  // namespace fh::nets
