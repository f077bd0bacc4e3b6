#include "layers/blocks.h"

#include "autograd/ops.h"

namespace fh::nn {

ResBottleneck::ResBottleneck(int64_t cin, int64_t cout, int64_t stride)
    : conv1_({.in = cin, .out = cout / 4, .kernel = 1, .bias = false}),
      conv2_({.in = cout / 4, .out = cout / 4, .kernel = 3, .stride = stride, .padding = 1, .bias = false}),
      conv3_({.in = cout / 4, .out = cout, .kernel = 1, .bias = false}),
      bn1_(cout / 4), bn2_(cout / 4), bn3_(cout) {
  register_module("conv1", conv1_);
  register_module("bn1", bn1_);
  register_module("conv2", conv2_);
  register_module("bn2", bn2_);
  register_module("conv3", conv3_);
  register_module("bn3", bn3_);
  if (cin != cout || stride != 1) {
    skip_conv_ = std::make_unique<Conv2d>(ConvSpec{.in = cin, .out = cout, .kernel = 1, .stride = stride, .bias = false});
    skip_bn_ = std::make_unique<BatchNorm2d>(cout);
    // Dotted child names put them at `skip.conv` and `skip.bn`.
    register_module("skip.conv", *skip_conv_);
    register_module("skip.bn", *skip_bn_);
  }
}

Tensor ResBottleneck::forward(const Tensor& x) {
  Tensor h = relu(bn1_.forward(conv1_.forward(x)));
  h = relu(bn2_.forward(conv2_.forward(h)));
  h = bn3_.forward(conv3_.forward(h));
  const Tensor shortcut = skip_conv_ ? skip_bn_->forward(skip_conv_->forward(x)) : x;
  return relu(add(h, shortcut));
}

BasicBlock::BasicBlock(int64_t cin, int64_t cout, int64_t stride)
    : conv1_({.in = cin, .out = cout, .kernel = 3, .stride = stride, .padding = 1, .bias = false}),
      conv2_({.in = cout, .out = cout, .kernel = 3, .padding = 1, .bias = false}), bn1_(cout), bn2_(cout) {
  register_module("conv1", conv1_);
  register_module("bn1", bn1_);
  register_module("conv2", conv2_);
  register_module("bn2", bn2_);
  if (cin != cout || stride != 1) {
    down_conv_ = std::make_unique<Conv2d>(ConvSpec{.in = cin, .out = cout, .kernel = 1, .stride = stride, .bias = false});
    down_bn_ = std::make_unique<BatchNorm2d>(cout);
    register_module("downsample.0", *down_conv_);
    register_module("downsample.1", *down_bn_);
  }
}

Tensor BasicBlock::forward(const Tensor& x) {
  Tensor h = relu(bn1_.forward(conv1_.forward(x)));
  h = bn2_.forward(conv2_.forward(h));
  const Tensor shortcut = down_conv_ ? down_bn_->forward(down_conv_->forward(x)) : x;
  return relu(add(h, shortcut));
}

}  // namespace fh::nn
