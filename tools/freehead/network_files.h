// What the network commands share: building a network from --net/--config, reading a
// weights or inputs file into a name → tensor map, and the --device flag.
#pragma once

#include <memory>
#include <string>

#include "nets/registry.h"
#include "weights/safetensors.h"

namespace fh::cli {

std::unique_ptr<nets::Network> build_network(const std::string& net, const std::string& config);
nn::TensorMap read_tensor_map(const std::string& path);
Device parse_device(const std::string& text);  // "cpu", "cuda", "cuda:N"; errors say why CUDA is unusable

}  // namespace fh::cli
