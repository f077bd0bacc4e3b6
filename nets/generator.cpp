#include "nets/generator.h"

#include "autograd/ops.h"
#include "runtime/error.h"

namespace fh::nets {

namespace {

constexpr double kLeakySlope = 0.2;
const PoolWindow kHalve = PoolWindow::square(2, 2);

// [B, M, ...] → [B·M, ...]
Tensor merge_sources(const Tensor& x) {
  std::vector<int64_t> shape{x.size(0) * x.size(1)};
  for (int d = 2; d < x.dim(); ++d) shape.push_back(x.size(d));
  return reshape(x, shape);
}

// [B·M, ...] → [B, M, ...]
Tensor split_sources(const Tensor& x, int64_t b, int64_t m) {
  std::vector<int64_t> shape{b, m};
  for (int d = 1; d < x.dim(); ++d) shape.push_back(x.size(d));
  return reshape(x, shape);
}

}  // namespace

EncoderStage::EncoderStage(int64_t in, int64_t out, int64_t kernel, int64_t stride)
    : conv_({.in = in, .out = out, .kernel = kernel, .stride = stride, .padding = kernel / 2, .bias = false}),
      norm_(out, /*affine=*/true) {
  register_module("conv", conv_);
  register_module("norm", norm_);
}

Tensor EncoderStage::forward(const Tensor& x) { return relu(norm_.forward(conv_.forward(x))); }

Encoder::Encoder(int64_t in_channels, int64_t ngf)
    : s0_(in_channels, ngf, 7, 1), s1_(ngf, 4 * ngf, 3, 2), s2_(4 * ngf, 16 * ngf, 3, 2) {
  register_module("0", s0_);
  register_module("1", s1_);
  register_module("2", s2_);
}

std::vector<Tensor> Encoder::forward(const Tensor& x) {
  Tensor h1 = s0_.forward(x);
  Tensor h2 = s1_.forward(h1);
  Tensor h3 = s2_.forward(h2);
  return {h1, h2, h3};
}

FlowNetwork::FlowNetwork(const Config& cfg, bool weight_head)
    : enc_(6, cfg.ngf), flow_head_({.in = cfg.ngf, .out = 2, .kernel = 7, .padding = 3}) {
  const int64_t wide = 16 * cfg.ngf, mid = 4 * cfg.ngf;
  for (int i = 0; i < 3; ++i) dec_.push_back(std::make_unique<nn::SpadeResBlock>(wide, wide, 3, cfg.spade_hidden));
  dec_.push_back(std::make_unique<nn::SpadeResBlock>(mid, mid, 3, cfg.spade_hidden));
  register_module("enc", enc_);
  for (size_t i = 0; i < dec_.size(); ++i) register_module("dec." + std::to_string(i), *dec_[i]);
  register_module("flow_head", flow_head_);
  if (weight_head) {
    weight_head_ = std::make_unique<nn::Conv2d>(nn::ConvSpec{.in = cfg.ngf, .out = 1, .kernel = 7, .padding = 3});
    register_module("weight_head", *weight_head_);
  }
}

FlowOutput FlowNetwork::forward(const Tensor& source, const Tensor& source_sketch, const Tensor& target_sketch,
                                bool fusion_weights) {
  return decode(encode(source, source_sketch), target_sketch, fusion_weights);
}

std::vector<Tensor> FlowNetwork::encode(const Tensor& source, const Tensor& source_sketch) {
  return enc_.forward(concat({source, source_sketch}, 3));
}

FlowOutput FlowNetwork::decode(const std::vector<Tensor>& features, const Tensor& target_sketch, bool fusion_weights) {
  FH_CHECK(features.size() == 3, "generator", "the flow decoder takes the encoder's 3 features, got ", features.size());
  FlowOutput out;
  out.features = features;
  Tensor x = features[2];
  for (int i = 0; i < 3; ++i) x = dec_[i]->forward(x, target_sketch);
  x = dec_[3]->forward(pixel_shuffle(x, 2), target_sketch);
  x = leaky_relu(pixel_shuffle(x, 2), kLeakySlope);
  out.flow = flow_head_.forward(x);
  if (fusion_weights) {
    FH_CHECK(weight_head_ != nullptr, "generator", "fusion weights need the N-shot flow network (with weight_head)");
    out.weight_logits = weight_head_->forward(x);
  }
  return out;
}

RenderingNetwork::RenderingNetwork(const Config& cfg)
    : enc_(3, cfg.ngf), out_conv_({.in = cfg.ngf, .out = 3, .kernel = 7, .padding = 3}) {
  const int64_t wide = 16 * cfg.ngf, mid = 4 * cfg.ngf, ngf = cfg.ngf;
  dec_.push_back(std::make_unique<nn::SpadeResBlock>(wide, wide, wide, cfg.spade_hidden));
  dec_.push_back(std::make_unique<nn::SpadeResBlock>(mid, mid, mid, cfg.spade_hidden));
  dec_.push_back(std::make_unique<nn::SpadeResBlock>(ngf, ngf, ngf, cfg.spade_hidden));
  dec_.push_back(std::make_unique<nn::SpadeResBlock>(ngf, ngf, 3, cfg.spade_hidden));
  register_module("enc", enc_);
  for (size_t i = 0; i < dec_.size(); ++i) register_module("dec." + std::to_string(i), *dec_[i]);
  register_module("out_conv", out_conv_);
}

Tensor RenderingNetwork::forward(const Tensor& target_sketch, const std::vector<Tensor>& fused, const Tensor& warped) {
  Tensor x = enc_.forward(target_sketch)[2];
  x = dec_[0]->forward(x, fused[2]);
  x = dec_[1]->forward(pixel_shuffle(x, 2), fused[1]);
  x = dec_[2]->forward(pixel_shuffle(x, 2), fused[0]);
  x = dec_[3]->forward(x, warped);
  return tanh(out_conv_.forward(leaky_relu(x, kLeakySlope)));
}

Generator::Generator(const Config& cfg, bool nshot) : cfg_(cfg), flow_(cfg, nshot), render_(cfg) {
  register_module("flow", flow_);
  register_module("render", render_);
}

GeneratorOutput Generator::forward(const Tensor& sources, const Tensor& source_sketches, const Tensor& target_sketch) {
  return forward_encoded(encode_sources(sources, source_sketches), target_sketch);
}

EncodedSources Generator::encode_sources(const Tensor& sources, const Tensor& source_sketches) {
  const int64_t s = cfg_.image_size;
  FH_CHECK(sources.dim() == 5 && sources.size(2) == s && sources.size(3) == s && sources.size(4) == 3, "generator",
           "sources must be [B, M, ", s, ", ", s, ", 3] (NHWC), got ", sources.describe());
  FH_CHECK(source_sketches.shape() == sources.shape(), "generator", "source sketches ", source_sketches.describe(),
           " must match sources ", sources.describe());
  const int64_t m = sources.size(1);
  FH_CHECK(m >= 1, "generator", "needs at least one source, got ", sources.describe());
  FH_CHECK(m == 1 || nshot(), "generator", m, " sources need the N-shot generator (with weight_head)");
  EncodedSources e;
  e.batch = sources.size(0);
  e.sources = m;
  // Every source runs through the flow network as one batch of B·M.
  e.images = merge_sources(sources);
  e.features = flow_.encode(e.images, merge_sources(source_sketches));
  return e;
}

GeneratorOutput Generator::forward_encoded(const EncodedSources& e, const Tensor& target_sketch) {
  const int64_t s = cfg_.image_size, b = e.batch, m = e.sources;
  FH_CHECK(target_sketch.shape() == Shape({b, s, s, 3}), "generator", "target sketch must be [", b, ", ", s, ", ", s,
           ", 3], got ", target_sketch.describe());
  // One target sketch drives all M sources: the decoder's SPADEs compute γ and β from it
  // once and apply them to each source's features.
  FlowOutput f = flow_.decode(e.features, target_sketch, /*fusion_weights=*/m > 1);

  // Flows for the coarser features: average-pooled, and halved with the resolution.
  std::vector<Tensor> flows{f.flow};
  flows.push_back(scale(avg_pool2d(flows[0], kHalve), 0.5));
  flows.push_back(scale(avg_pool2d(flows[1], kHalve), 0.5));
  const Tensor warped_images = warp(e.images, f.flow);

  GeneratorOutput out;
  std::vector<Tensor> fused(3);
  if (m == 1) {
    out.warped = warped_images;
    for (int i = 0; i < 3; ++i) fused[i] = warp(f.features[i], flows[i]);
  } else {
    std::vector<Tensor> logits{f.weight_logits};
    logits.push_back(avg_pool2d(logits[0], kHalve));
    logits.push_back(avg_pool2d(logits[1], kHalve));
    out.warped = nshot_fusion(split_sources(logits[0], b, m), split_sources(warped_images, b, m));
    for (int i = 0; i < 3; ++i)
      fused[i] = nshot_fusion(split_sources(logits[i], b, m), split_sources(warp(f.features[i], flows[i]), b, m));
    out.weights = softmax(split_sources(logits[0], b, m), 1);
  }
  out.flows = split_sources(f.flow, b, m);
  out.output = render_.forward(target_sketch, fused, out.warped);
  return out;
}

}  // namespace fh::nets
