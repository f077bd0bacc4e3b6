#include "tools/freehead/network_files.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "autograd/grad_mode.h"
#include "layers/flops.h"
#include "runtime/cuda_runtime.h"
#include "runtime/error.h"

namespace fh::cli {

namespace {

// "a, b or c"
std::string choices(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return out;
}

std::vector<std::string> config_names() {
  std::vector<std::string> names;
  for (const auto& c : nets::all_configs()) names.push_back(c.name);
  return names;
}

}  // namespace

OptionSpec net_option() { return {"net", choices(nets::network_names()), true, true}; }
OptionSpec config_option() { return {"config", choices(config_names()), true, false, "paper"}; }
OptionSpec device_option() { return {"device", "cpu, cuda or cuda:N", true, false, "cpu"}; }

void check_network_choice(const std::string& net, const std::string& config) {
  const auto& networks = nets::network_names();
  if (std::find(networks.begin(), networks.end(), net) == networks.end())
    throw UsageError{"--net must be one of " + choices(networks) + "; got '" + net + "'"};
  const auto configs = config_names();
  if (std::find(configs.begin(), configs.end(), config) == configs.end())
    throw UsageError{"--config must be " + choices(configs) + "; got '" + config + "'"};
}

std::unique_ptr<nets::Network> build_network(const std::string& net, const std::string& config) {
  check_network_choice(net, config);
  return nets::make_network(net, nets::config(config));
}

nn::TensorMap read_tensor_map(const std::string& path) {
  const safetensors::Contents contents = safetensors::load(path);
  return nn::TensorMap(contents.tensors.begin(), contents.tensors.end());
}

void load_weights_file(nets::Network& net, const std::string& path) {
  nn::load_weights(net.module(), read_tensor_map(path), net.prefix(), path);
}

nn::TensorMap read_inputs(const std::string& path, const nets::Network& net, Device device) {
  std::set<std::string> wanted;
  for (const auto& [name, shape] : net.input_shapes(1, 1)) wanted.insert(name);
  nn::TensorMap inputs;
  for (const auto& [name, t] : read_tensor_map(path)) {
    if (t.dtype() == DType::I64) {
      // Integer tensors may ride along (labels, indices), but not under an input's name:
      // leaving it out would report the input as missing when it is there with a wrong dtype.
      FH_CHECK(!wanted.count(name), "inputs", path, ": input tensor '", name, "' of ", net.name(), " has dtype ",
               dtype_name(t.dtype()), "; network inputs must be float32, float64, float16 or bfloat16");
      continue;
    }
    const Tensor f = t.to(DType::F32);
    const float* v = f.data<float>();
    for (int64_t i = 0; i < f.numel(); ++i)
      FH_CHECK(std::isfinite(v[i]), "inputs", path, ": tensor '", name, "' ", f.shape(), " element ", i,
               " is not finite (", v[i], ")");
    inputs[name] = f.to(device);
  }
  return inputs;
}

nn::TensorMap forward_naming_file(nets::Network& net, const nn::TensorMap& inputs, const std::string& inputs_path) {
  try {
    return net.forward(inputs);
  } catch (const Error& e) {
    if (inputs_path.empty()) throw;
    throw Error(inputs_path + ": " + e.what());
  }
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

double forward_flops(nets::Network& net, const nn::TensorMap& inputs, const std::string& inputs_path) {
  NoGradGuard no_grad;
  nn::FlopCounter counter;
  forward_naming_file(net, inputs, inputs_path);
  return counter.flops();
}

}  // namespace fh::cli
