// `freehead cost`: every network's parameter count and forward FLOPs, per config.
#include <cstdio>
#include <string>

#include "runtime/random.h"
#include "tools/freehead/commands.h"
#include "tools/freehead/network_files.h"
#include "tools/freehead/options.h"

namespace fh::cli {

int cmd_cost(const Args& args) {
  Options opt("cost",
              "Prints a markdown table of every network's parameter count and forward GFLOPs (conv and linear\n"
              "layers, batch 1, one source) for each config, measured by running one forward pass on the CPU.",
              {{"net", "only this network", true, false}, {"config", "only this config", true, false}}, args);
  // An unknown name would otherwise match nothing and print an empty table.
  if (opt.has("net") || opt.has("config"))
    check_network_choice(opt.has("net") ? opt.str("net") : nets::network_names().front(),
                  opt.has("config") ? opt.str("config") : nets::all_configs().front().name);
  std::printf("| network | config | input | parameters | forward GFLOPs |\n|---|---|---|---:|---:|\n");
  for (const auto& cfg : nets::all_configs()) {
    if (opt.has("config") && opt.str("config") != cfg.name) continue;
    for (const auto& name : nets::network_names()) {
      if (opt.has("net") && opt.str("net") != name) continue;
      auto net = build_network(name, cfg.name);
      Generator gen(0);
      net->module().reset_parameters(gen);
      const nn::TensorMap inputs = nets::random_inputs(*net, 1, 1, gen);
      net->module().eval();
      const double flops = forward_flops(*net, inputs, "");
      std::string shape = net->input_shapes(1, 1).front().second.str();
      std::printf("| %s | %s | %s | %lld | %.3f |\n", name.c_str(), cfg.name.c_str(), shape.c_str(),
                  static_cast<long long>(net->module().num_parameters()), flops / 1e9);
      std::fflush(stdout);
    }
  }
  return 0;
}

}  // namespace fh::cli
