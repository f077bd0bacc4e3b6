#include "nets/vgg.h"

#include <algorithm>
#include <cmath>

#include "autograd/ops.h"
#include "runtime/random.h"
#include "runtime/error.h"

namespace fh::nets {

namespace {

// torchvision VGG19 "features" up to relu5_1: (index, in, out) of each conv; a 2x2 max
// pool precedes the convs at 5, 10, 19 and 28.
struct VggConv {
  int index;
  int64_t in, out;
};
constexpr VggConv kConvs[] = {{0, 3, 64},     {2, 64, 64},    {5, 64, 128},   {7, 128, 128},  {10, 128, 256},
                              {12, 256, 256}, {14, 256, 256}, {16, 256, 256}, {19, 256, 512}, {21, 512, 512},
                              {23, 512, 512}, {25, 512, 512}, {28, 512, 512}};
bool pool_before(int index) { return index == 5 || index == 10 || index == 19 || index == 28; }
bool is_feature(int index) { return index == 0 || pool_before(index); }  // relu{k}_1 follows these

constexpr double kMean[3] = {0.485, 0.456, 0.406};
constexpr double kStd[3] = {0.229, 0.224, 0.225};

}  // namespace

const std::vector<std::string>& Vgg19::feature_names() {
  static const std::vector<std::string> names = {"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"};
  return names;
}

Vgg19::Vgg19() {
  for (const auto& c : kConvs) {
    convs_.push_back(std::make_unique<nn::Conv2d>(nn::ConvSpec{.in = c.in, .out = c.out, .kernel = 3, .padding = 1}));
    register_module("features." + std::to_string(c.index), *convs_.back());
  }
}

std::vector<Tensor> Vgg19::forward(const Tensor& image) {
  FH_CHECK(image.dim() == 4 && image.size(3) == 3, "vgg", "expects NHWC RGB images, got ", image.describe());
  // ((x + 1)/2 − mean)/std = x·(0.5/std) + (0.5 − mean)/std, per channel.
  std::vector<double> k(3), c(3);
  for (int i = 0; i < 3; ++i) {
    k[i] = 0.5 / kStd[i];
    c[i] = (0.5 - kMean[i]) / kStd[i];
  }
  const Tensor gain = Tensor::from_vector(k, {3}).to(image.dtype()).to(image.device());
  const Tensor offset = Tensor::from_vector(c, {3}).to(image.dtype()).to(image.device());
  Tensor h = add(mul(image, gain), offset);
  std::vector<Tensor> features;
  for (size_t i = 0; i < convs_.size(); ++i) {
    const int index = kConvs[i].index;
    if (pool_before(index)) h = max_pool2d(h, PoolWindow::square(2, 2));
    h = relu(convs_[i]->forward(h));
    if (is_feature(index)) features.push_back(h);
  }
  return features;
}

void Vgg19::randomise_as_feature_extractor(fh::Generator& gen) {
  for (auto& [name, t] : named_parameters()) {
    FH_CHECK(t.device().is_cpu() && t.dtype() == DType::F32, "vgg", "randomise before moving or converting the network");
    float* dst = t.data<float>();
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0) {
      std::fill(dst, dst + t.numel(), 0.0f);
      continue;
    }
    const int64_t fan_in = t.numel() / t.size(0);  // [out, kh, kw, in] in the runtime
    const Tensor w = randn(t.shape(), gen, 0.0, std::sqrt(2.0 / static_cast<double>(fan_in)));
    std::copy_n(w.data<float>(), t.numel(), dst);
  }
}

}  // namespace fh::nets
