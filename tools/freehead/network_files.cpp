#include "tools/freehead/network_files.h"

#include "runtime/cuda_runtime.h"
#include "runtime/error.h"
#include "tools/freehead/options.h"

namespace fh::cli {

std::unique_ptr<nets::Network> build_network(const std::string& net, const std::string& config) {
  bool known = false;
  for (const auto& n : nets::network_names()) known |= n == net;
  if (!known) throw UsageError{"--net must be one of kp, gaze, gen, gen-nshot, disc_image, disc_mouth, vgg; got '" + net + "'"};
  bool known_config = false;
  for (const auto& c : nets::all_configs()) known_config |= c.name == config;
  if (!known_config) throw UsageError{"--config must be paper, small or tiny; got '" + config + "'"};
  return nets::make_network(net, nets::config(config));
}

nn::TensorMap read_tensor_map(const std::string& path) {
  safetensors::Contents contents = safetensors::load(path);
  nn::TensorMap map;
  for (auto& [name, t] : contents.tensors) map.emplace(name, t);
  return map;
}

Device parse_device(const std::string& text) {
  if (text == "cpu") return Device::cpu();
  int index = -1;
  if (text == "cuda") index = 0;
  else if (text.rfind("cuda:", 0) == 0) {
    try {
      index = std::stoi(text.substr(5));
    } catch (...) {
      index = -1;
    }
  }
  if (index < 0) throw UsageError{"--device must be cpu, cuda or cuda:N; got '" + text + "'"};
  FH_CHECK(cuda::device_count() > index, "device", "--device ", text, " is not usable: ",
           cuda::device_count() == 0 ? cuda::unavailable_reason() : "only " + std::to_string(cuda::device_count()) + " device(s)");
  return Device::cuda(index);
}

}  // namespace fh::cli
