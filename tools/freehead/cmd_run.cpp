// `freehead run`: one network in eval mode on the named tensors of a file.
#include <cstdio>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "tools/freehead/commands.h"
#include "tools/freehead/network_files.h"
#include "tools/freehead/options.h"

namespace fh::cli {

int cmd_run(const Args& args) {
  Options opt("run",
              "Runs one network in eval mode on the named tensors of --inputs (PyTorch layout, any float dtype)\n"
              "and writes its named outputs (float32, PyTorch layout) to --output. Inputs and outputs per network:\n"
              "  kp          image [B,3,S,S] -> yaw pitch roll [B] (degrees), translation [B,3], scale [B,1],\n"
              "              expression points canonical [B,68,3], rotation [B,3,3]\n"
              "  gaze        eye [B,3,E,E] -> vertices [B,482,3], gaze [B,3], theta phi [B] (radians)\n"
              "  gen         sources source_sketches [B,M,3,S,S], target_sketch [B,3,S,S] -> output warped\n"
              "  gen-nshot   [B,3,S,S], flows [B,M,2,S,S], weights [B,M,1,S,S] (M > 1)\n"
              "  disc_image  input [B,6,S,S]; disc_mouth input [B,3,S/4,S/4] -> scale0 scale1, scale{k}.feat{i}\n"
              "  vgg         image [B,3,H,W] -> relu1_1 relu2_1 relu3_1 relu4_1 relu5_1",
              {net_option(),
               config_option(),
               {"weights", "safetensors file holding the network's tensors (others are ignored)", true, true},
               {"inputs", "safetensors file with the named inputs", true, true},
               {"output", "safetensors file to write", true, true},
               device_option()},
              args);
  auto net = build_network(opt.str("net"), opt.str("config"));
  const Device device = parse_device(opt.str("device"));
  load_weights_file(*net, opt.str("weights"));
  net->module().to(device);
  net->module().eval();

  const nn::TensorMap inputs = read_inputs(opt.str("inputs"), *net, device);
  NoGradGuard no_grad;
  const nn::TensorMap outputs = forward_naming_file(*net, inputs, opt.str("inputs"));
  safetensors::NamedTensors out;
  for (const auto& [name, t] : outputs) out.emplace_back(name, t.to(Device::cpu()).to(DType::F32));
  safetensors::save(opt.str("output"), out);
  std::printf("%s: %zu outputs of %s (%s)\n", opt.str("output").c_str(), out.size(), net->name().c_str(),
              opt.str("device").c_str());
  return 0;
}

}  // namespace fh::cli
