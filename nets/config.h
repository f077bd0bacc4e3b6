// The three configurations of the model (docs/networks.md#configurations).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fh::nets {

struct Config {
  std::string name;
  int64_t image_size;    // S
  int64_t eye_size;      // E
  int64_t alpha_num, alpha_den;  // α = num/den scales every width of E_can and E_gaze
  int64_t ngf;           // generator base width
  int64_t spade_hidden;  // SPADE hidden width
  int64_t ndf;           // discriminator base width

  int64_t scaled(int64_t width) const { return width * alpha_num / alpha_den; }  // width·α
};

// "paper", "small" or "tiny"; anything else is an error listing the names.
const Config& config(const std::string& name);
const std::vector<Config>& all_configs();

}  // namespace fh::nets
