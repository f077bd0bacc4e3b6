// What the network commands share: the --net, --config and --device options, building a
// network from them, and reading weights and inputs files.
#pragma once

#include <memory>
#include <string>

#include "nets/registry.h"
#include "tools/freehead/options.h"
#include "weights/safetensors.h"

namespace fh::cli {

OptionSpec net_option();     // --net NET, required
OptionSpec config_option();  // --config CFG, default paper
OptionSpec device_option();  // --device cpu|cuda|cuda:N, default cpu

// Throws UsageError (exit code 2) naming the choices for an unknown network or config.
void check_network_choice(const std::string& net, const std::string& config);
std::unique_ptr<nets::Network> build_network(const std::string& net, const std::string& config);
Device parse_device(const std::string& text);  // "cpu", "cuda", "cuda:N"; errors say why CUDA is unusable

nn::TensorMap read_tensor_map(const std::string& path);
// Loads the network's tensors (under its prefix) from a weights file, strictly: an error
// lists every missing, unexpected and mis-shaped tensor.
void load_weights_file(nets::Network& net, const std::string& path);
// The float tensors of an inputs file, as float32 on `device`. Integer tensors are left
// out, except that one named as an input of `net` is an error naming its dtype, and so is
// a NaN or infinite value (naming the tensor and the element).
nn::TensorMap read_inputs(const std::string& path, const nets::Network& net, Device device);

// net.forward(inputs), with `inputs_path` (when not empty) named in any error: the networks
// check their inputs' shapes but know nothing of the file they came from.
nn::TensorMap forward_naming_file(nets::Network& net, const nn::TensorMap& inputs, const std::string& inputs_path);
// Forward FLOPs of one pass (conv and linear layers), measured by running it once without
// recording gradients; an error in the inputs names their file (when not empty).
double forward_flops(nets::Network& net, const nn::TensorMap& inputs, const std::string& inputs_path);

}  // namespace fh::cli
