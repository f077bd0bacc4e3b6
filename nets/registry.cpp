#include "nets/registry.h"

#include "autograd/ops.h"
#include "geometry/eyes.h"
#include "nets/discriminator.h"
#include "nets/gaze_net.h"
#include "nets/generator.h"
#include "nets/keypoint_net.h"
#include "nets/vgg.h"
#include "runtime/error.h"

namespace fh::nets {

namespace {

const Tensor& input(const nn::TensorMap& inputs, const std::string& net, const std::string& name, int dims) {
  const auto it = inputs.find(name);
  FH_CHECK(it != inputs.end(), net.c_str(), "input tensor '", name, "' is missing");
  FH_CHECK(it->second.dim() == dims, net.c_str(), "input '", name, "' must have ", dims, " dims, got ", it->second.describe());
  return it->second;
}

// PyTorch's [..., C, H, W] ↔ the runtime's [..., H, W, C].
Tensor to_channels_last(const Tensor& x) {
  std::vector<int64_t> dims;
  for (int d = 0; d < x.dim() - 3; ++d) dims.push_back(d);
  const int64_t c = x.dim() - 3;
  dims.insert(dims.end(), {c + 1, c + 2, c});
  return permute(x, dims);
}
Tensor to_channels_first(const Tensor& x) {
  std::vector<int64_t> dims;
  for (int d = 0; d < x.dim() - 3; ++d) dims.push_back(d);
  const int64_t h = x.dim() - 3;
  dims.insert(dims.end(), {h + 2, h, h + 1});
  return permute(x, dims);
}

void check_image(const Tensor& x, const std::string& net, const std::string& name, int64_t channels, int64_t size) {
  FH_CHECK(x.size(-3) == channels && x.size(-2) == size && x.size(-1) == size, net.c_str(), "input '", name, "' must be [..., ",
           channels, ", ", size, ", ", size, "], got ", x.describe());
}

class KeypointNetwork final : public Network {
 public:
  explicit KeypointNetwork(const Config& cfg) : Network("kp", "kp.", cfg), net_(cfg) {}
  nn::Module& module() override { return net_; }
  std::vector<std::pair<std::string, Shape>> input_shapes(int64_t b, int64_t) const override {
    const int64_t s = config().image_size;
    return {{"image", {b, 3, s, s}}};
  }
  nn::TensorMap forward(const nn::TensorMap& inputs) override {
    const Tensor& image = input(inputs, "kp", "image", 4);
    check_image(image, "kp", "image", 3, config().image_size);
    const KeypointOutput o = net_.forward(to_channels_last(image));
    return {{"yaw", o.yaw},
            {"pitch", o.pitch},
            {"roll", o.roll},
            {"translation", o.translation},
            {"scale", o.scale},
            {"expression", o.expression},
            {"points", o.points},
            {"canonical", o.canonical},
            {"rotation", o.rotation}};
  }

 private:
  KeypointNet net_;
};

class GazeNetwork final : public Network {
 public:
  explicit GazeNetwork(const Config& cfg) : Network("gaze", "gaze.", cfg), net_(cfg) {}
  nn::Module& module() override { return net_; }
  std::vector<std::pair<std::string, Shape>> input_shapes(int64_t b, int64_t) const override {
    const int64_t e = config().eye_size;
    return {{"eye", {b, 3, e, e}}};
  }
  nn::TensorMap forward(const nn::TensorMap& inputs) override {
    const Tensor& eye = input(inputs, "gaze", "eye", 4);
    check_image(eye, "gaze", "eye", 3, config().eye_size);
    const GazeOutput o = net_.forward(to_channels_last(eye));
    // θ and φ are computed on the host, without gradient: only this named-output interface
    // reports them, so training through GazeNet::forward never waits for the copy.
    const Tensor angles = geometry::gaze_to_angles(o.gaze);
    return {{"vertices", o.vertices},
            {"gaze", o.gaze},
            {"theta", reshape(slice(angles, 1, 0, 1), {-1})},
            {"phi", reshape(slice(angles, 1, 1, 1), {-1})}};
  }

 private:
  GazeNet net_;
};

class GeneratorNetwork final : public Network {
 public:
  GeneratorNetwork(const Config& cfg, bool nshot) : Network(nshot ? "gen-nshot" : "gen", "gen.", cfg), net_(cfg, nshot) {}
  nn::Module& module() override { return net_; }
  std::vector<std::pair<std::string, Shape>> input_shapes(int64_t b, int64_t m) const override {
    const int64_t s = config().image_size;
    return {{"sources", {b, m, 3, s, s}}, {"source_sketches", {b, m, 3, s, s}}, {"target_sketch", {b, 3, s, s}}};
  }
  nn::TensorMap forward(const nn::TensorMap& inputs) override {
    const int64_t s = config().image_size;
    const Tensor& sources = input(inputs, name(), "sources", 5);
    const Tensor& sketches = input(inputs, name(), "source_sketches", 5);
    const Tensor& target = input(inputs, name(), "target_sketch", 4);
    check_image(sources, name(), "sources", 3, s);
    check_image(sketches, name(), "source_sketches", 3, s);
    check_image(target, name(), "target_sketch", 3, s);
    const GeneratorOutput o =
        net_.forward(to_channels_last(sources), to_channels_last(sketches), to_channels_last(target));
    nn::TensorMap out{{"output", to_channels_first(o.output)},
                      {"warped", to_channels_first(o.warped)},
                      {"flows", to_channels_first(o.flows)}};
    if (o.weights.defined()) out["weights"] = to_channels_first(o.weights);
    return out;
  }

 private:
  Generator net_;
};

class DiscriminatorNetwork final : public Network {
 public:
  DiscriminatorNetwork(const Config& cfg, const std::string& kind)
      : Network("disc_" + kind, "disc_" + kind + ".", cfg), net_(cfg, kind) {}
  nn::Module& module() override { return net_; }
  std::vector<std::pair<std::string, Shape>> input_shapes(int64_t b, int64_t) const override {
    return {{"input", {b, net_.input_channels(), net_.input_size(), net_.input_size()}}};
  }
  nn::TensorMap forward(const nn::TensorMap& inputs) override {
    const Tensor& x = input(inputs, name().c_str(), "input", 4);
    FH_CHECK(x.size(1) == net_.input_channels(), name().c_str(), "input 'input' must have ", net_.input_channels(),
             " channels, got ", x.describe());
    const DiscriminatorOutput o = net_.forward(to_channels_last(x));
    nn::TensorMap out;
    for (size_t k = 0; k < o.scales.size(); ++k) {
      const std::string scale = "scale" + std::to_string(k);
      out[scale] = to_channels_first(o.scales[k].logits);
      for (size_t i = 0; i < o.scales[k].features.size(); ++i)
        out[scale + ".feat" + std::to_string(i)] = to_channels_first(o.scales[k].features[i]);
    }
    return out;
  }

 private:
  Discriminator net_;
};

class VggNetwork final : public Network {
 public:
  explicit VggNetwork(const Config& cfg) : Network("vgg", "vgg.", cfg) {}
  nn::Module& module() override { return net_; }
  std::vector<std::pair<std::string, Shape>> input_shapes(int64_t b, int64_t) const override {
    const int64_t s = config().image_size;
    return {{"image", {b, 3, s, s}}};
  }
  nn::TensorMap forward(const nn::TensorMap& inputs) override {
    const Tensor& image = input(inputs, "vgg", "image", 4);
    FH_CHECK(image.size(1) == 3, "vgg", "input 'image' must be RGB [B, 3, H, W], got ", image.describe());
    const std::vector<Tensor> f = net_.forward(to_channels_last(image));
    nn::TensorMap out;
    for (size_t i = 0; i < f.size(); ++i) out[Vgg19::feature_names()[i]] = to_channels_first(f[i]);
    return out;
  }

 private:
  Vgg19 net_;
};

}  // namespace

const std::vector<std::string>& network_names() {
  static const std::vector<std::string> names = {"kp", "gaze", "gen", "gen-nshot", "disc_image", "disc_mouth", "vgg"};
  return names;
}

std::unique_ptr<Network> make_network(const std::string& net, const Config& cfg) {
  if (net == "kp") return std::make_unique<KeypointNetwork>(cfg);
  if (net == "gaze") return std::make_unique<GazeNetwork>(cfg);
  if (net == "gen") return std::make_unique<GeneratorNetwork>(cfg, false);
  if (net == "gen-nshot") return std::make_unique<GeneratorNetwork>(cfg, true);
  if (net == "disc_image") return std::make_unique<DiscriminatorNetwork>(cfg, "image");
  if (net == "disc_mouth") return std::make_unique<DiscriminatorNetwork>(cfg, "mouth");
  if (net == "vgg") return std::make_unique<VggNetwork>(cfg);
  FH_FAIL("network", "unknown network '", net, "' (expected kp, gaze, gen, gen-nshot, disc_image, disc_mouth or vgg)");
}

nn::TensorMap random_inputs(const Network& net, int64_t batch, int64_t sources, fh::Generator& gen, Device device) {
  nn::TensorMap inputs;
  for (const auto& [name, shape] : net.input_shapes(batch, sources))
    inputs[name] = clamp(randn(shape, gen, 0.0, 0.5), -1.0, 1.0).to(device);
  return inputs;
}

}  // namespace fh::nets
