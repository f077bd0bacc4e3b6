// generator_loss on one flat list of tensors, laid out as the oracle's generator_loss takes
// them (tools/oracle/ops_losses.py), shared by the gradient checks and the parity test.
#pragma once

#include <vector>

#include "autograd/ops.h"
#include "train/losses.h"

namespace fh::test {

// x: 5 VGG features each of ŷ, x̄ and y; then per discriminator, per scale: the fake logits,
// `features` fake feature maps and `features` real ones. Returns the terms stacked in the
// order of GeneratorLossTerms (adversarial, vgg_output, vgg_warped, feature_matching, total).
inline Tensor stacked_generator_loss(const std::vector<Tensor>& x, int discriminators, int scales, int features) {
  train::GeneratorLossInputs in;
  in.vgg_output.assign(x.begin(), x.begin() + 5);
  in.vgg_warped.assign(x.begin() + 5, x.begin() + 10);
  in.vgg_target.assign(x.begin() + 10, x.begin() + 15);
  size_t k = 15;
  for (int d = 0; d < discriminators; ++d) {
    train::DiscriminatorOutputs fake, real;
    for (int s = 0; s < scales; ++s) {
      train::DiscriminatorScale f{x[k++], {}}, r{Tensor(), {}};
      for (int l = 0; l < features; ++l) f.features.push_back(x[k++]);
      for (int l = 0; l < features; ++l) r.features.push_back(x[k++]);
      fake.push_back(f);
      real.push_back(r);
    }
    in.fake.push_back(fake);
    in.real.push_back(real);
  }
  const train::GeneratorLossTerms l = train::generator_loss(in);
  return stack({l.adversarial, l.vgg_output, l.vgg_warped, l.feature_matching, l.total}, 0);
}

}  // namespace fh::test
