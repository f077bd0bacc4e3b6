// `freehead init`: freshly initialised weights for one network, under its file prefix.
#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <filesystem>

#include "runtime/error.h"
#include "runtime/random.h"
#include "tools/freehead/commands.h"
#include "tools/freehead/network_files.h"
#include "tools/freehead/options.h"

namespace fh::cli {

int cmd_init(const Args& args) {
  Options opt("init",
              "Writes freshly initialised weights (PyTorch's default initialisation, drawn from --seed) for one\n"
              "network, its tensors named with the network's prefix (kp., gaze., gen., disc_image., ...).\n"
              "With --merge, tensors of other networks already in --out are kept, so one file can hold several.",
              {net_option(),
               config_option(),
               {"seed", "random seed", true, false, "0"},
               {"out", "safetensors file to write", true, true},
               {"pretrained", "start from the tensors this file holds for the network (e.g. converted ImageNet\n"
                "                        weights under gaze.backbone. or vgg.); the rest is initialised", true, false},
               {"merge", "keep other networks' tensors from an existing --out", false}},
              args);
  auto net = build_network(opt.str("net"), opt.str("config"));
  Generator gen(static_cast<uint64_t>(opt.integer("seed")));
  net->module().reset_parameters(gen);
  nn::TensorMap pretrained;
  if (opt.has("pretrained")) {
    const std::string file = opt.str("pretrained");
    pretrained = read_tensor_map(file);
    nn::LoadReport wrong = net->module().load_state_dict(pretrained, net->prefix(), /*allow_partial=*/true);
    wrong.missing.clear();  // missing tensors keep their fresh initialisation
    FH_CHECK(wrong.ok(), "init", "'", file, "' ", wrong.problem(), " (", net->name(), "):", wrong.message());
  }
  const auto state = net->module().state_dict(net->prefix());
  if (opt.has("pretrained")) {
    const auto loaded = std::count_if(state.begin(), state.end(), [&](const auto& s) { return pretrained.count(s.first); });
    std::printf("%s: loaded %td of %zu tensors, initialised the other %td\n", opt.str("pretrained").c_str(), loaded,
                state.size(), static_cast<std::ptrdiff_t>(state.size()) - loaded);
  }
  safetensors::NamedTensors tensors;
  const std::string out = opt.str("out");
  if (opt.flag("merge") && std::filesystem::exists(out)) {
    for (auto& [name, t] : safetensors::load(out).tensors)
      if (name.rfind(net->prefix(), 0) != 0) tensors.emplace_back(name, t);
  }
  tensors.insert(tensors.end(), state.begin(), state.end());
  safetensors::save(out, tensors, {{"format", "pt"}, {"freehead.config", opt.str("config")}});
  std::printf("%s: %zu tensors, %lld parameters (%s, config %s, seed %s)\n", out.c_str(), state.size(),
              static_cast<long long>(net->module().num_parameters()), net->name().c_str(), opt.str("config").c_str(),
              opt.str("seed").c_str());
  return 0;
}

}  // namespace fh::cli
