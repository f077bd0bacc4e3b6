#include "nets/gaze_net.h"

#include "autograd/ops.h"
#include "geometry/eyes.h"
#include "runtime/error.h"

namespace fh::nets {

ResNet34Trunk::ResNet34Trunk(int64_t base)
    : conv1_({.in = 3, .out = base, .kernel = 7, .stride = 2, .padding = 3, .bias = false}), bn1_(base) {
  register_module("conv1", conv1_);
  register_module("bn1", bn1_);
  const int depth[4] = {3, 4, 6, 3};
  int64_t in = base;
  for (int layer = 0; layer < 4; ++layer) {
    const int64_t out = base << layer;
    for (int i = 0; i < depth[layer]; ++i) {
      const int64_t stride = (layer > 0 && i == 0) ? 2 : 1;
      blocks_.push_back(std::make_unique<nn::BasicBlock>(in, out, stride));
      register_module("layer" + std::to_string(layer + 1) + "." + std::to_string(i), *blocks_.back());
      in = out;
    }
  }
}

Tensor ResNet34Trunk::forward(const Tensor& x) {
  Tensor h = relu(bn1_.forward(conv1_.forward(x)));
  h = max_pool2d(h, PoolWindow::square(3, 2, 1));
  for (auto& block : blocks_) h = block->forward(h);
  return h;
}

GazeNet::GazeNet(const Config& cfg)
    : cfg_(cfg), grid_((cfg.eye_size + 63) / 64), backbone_(cfg.scaled(64)),
      neck_conv_({.in = cfg.scaled(512), .out = cfg.scaled(512), .kernel = 3, .stride = 2, .padding = 1,
                  .bias = false}),
      neck_bn_(cfg.scaled(512)),
      // The head reads the neck's NHWC output flattened as it lies; files hold its weight over
      // PyTorch's C, H, W flattening, and loading permutes the columns once.
      head_(cfg.scaled(512) * grid_ * grid_, 3 * geometry::kEyeVertices, true,
            nn::FileLayout::image_columns(grid_, grid_)) {
  register_module("backbone", backbone_);
  register_module("neck.conv", neck_conv_);
  register_module("neck.bn", neck_bn_);
  register_module("head", head_);
}

GazeOutput GazeNet::forward(const Tensor& eye) {
  const int64_t e = cfg_.eye_size;
  FH_CHECK(eye.dim() == 4 && eye.size(1) == e && eye.size(2) == e && eye.size(3) == 3, "gaze",
           "expects NHWC eye crops [B, ", e, ", ", e, ", 3], got ", eye.describe());
  Tensor h = relu(neck_bn_.forward(neck_conv_.forward(backbone_.forward(eye))));
  const int64_t b = eye.size(0);
  FH_CHECK(h.size(1) == grid_ && h.size(2) == grid_, "gaze", "neck output ", h.describe(), " is not ", grid_, "x",
           grid_);
  const Tensor flat = reshape(h, {b, -1});  // a view: the head's weight is in this order
  GazeOutput out;
  out.vertices = reshape(head_.forward(flat), {b, geometry::kEyeVertices, 3});
  out.gaze = geometry::gaze_from_mesh(out.vertices);
  return out;
}

}  // namespace fh::nets
