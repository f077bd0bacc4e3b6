// The networks by name, behind one interface that speaks PyTorch's layout: named NCHW
// tensors in, named NCHW tensors out (differentiable, so gradients flow back to the named
// inputs). This is what the CLI, the parity tests and the benchmarks drive.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "layers/module.h"
#include "runtime/random.h"
#include "nets/config.h"

namespace fh::nets {

class Network {
 public:
  virtual ~Network() = default;
  virtual nn::Module& module() = 0;
  // Inputs by name in PyTorch layout; errors name a missing or mis-shaped input.
  virtual nn::TensorMap forward(const nn::TensorMap& inputs) = 0;
  // The names forward() reads, with their PyTorch shapes for batch `b` (and `sources` M).
  virtual std::vector<std::pair<std::string, Shape>> input_shapes(int64_t b, int64_t sources = 1) const = 0;

  const std::string& name() const { return name_; }
  const std::string& prefix() const { return prefix_; }  // "kp.", "gaze.", ...
  const Config& config() const { return config_; }

 protected:
  Network(std::string name, std::string prefix, const Config& cfg)
      : name_(std::move(name)), prefix_(std::move(prefix)), config_(cfg) {}

 private:
  std::string name_, prefix_;
  Config config_;
};

// kp, gaze, gen, gen-nshot, disc_image, disc_mouth or vgg.
std::unique_ptr<Network> make_network(const std::string& net, const Config& cfg);
const std::vector<std::string>& network_names();

// Random inputs for every name net.input_shapes(batch, sources) lists, image-like: normal
// with σ = 0.5 clamped to [-1, 1], float32, on `device`. What benchmarks and tests feed a
// network when no real data is at hand.
nn::TensorMap random_inputs(const Network& net, int64_t batch, int64_t sources, fh::Generator& gen,
                            Device device = Device::cpu());

}  // namespace fh::nets
