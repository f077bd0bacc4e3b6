#include "nets/config.h"

#include "runtime/error.h"

namespace fh::nets {

const std::vector<Config>& all_configs() {
  static const std::vector<Config> configs = {
      {"paper", 256, 128, 1, 1, 32, 128, 64},
      {"small", 128, 64, 1, 2, 16, 64, 32},
      {"tiny", 64, 32, 1, 4, 8, 32, 16},
  };
  return configs;
}

const Config& config(const std::string& name) {
  for (const auto& c : all_configs())
    if (c.name == name) return c;
  FH_FAIL("config", "unknown config '", name, "' (expected paper, small or tiny)");
}

}  // namespace fh::nets
