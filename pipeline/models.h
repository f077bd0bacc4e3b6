// A models folder: the trained networks the pipeline runs, described by models.json
//
//   {"format": "freehead-models", "version": 1, "config": "tiny",
//    "kp": "kp.safetensors", "gaze": "gaze.safetensors",
//    "gen": "gen.safetensors", "gen_nshot": "gen-nshot.safetensors",
//    "head_pivot": [0.01, -0.13, 0.27]}
//
// Weight files hold inference tensors under the networks' prefixes (kp., gaze., gen.);
// float16 storage is read as float32. `gen` (one-shot) or `gen_nshot` may be absent, not
// both. `head_pivot` (optional) is the point of E_can's canonical frame the head turns about
// (pipeline/head_pivot.h); without it pose edits turn the head about E_can's own origin. Errors
// name the folder, the file and the tensor.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>

#include "nets/config.h"
#include "nets/gaze_net.h"
#include "nets/generator.h"
#include "nets/keypoint_net.h"
#include "runtime/device.h"

namespace fh::pipeline {

struct ModelSet {
  std::string dir;
  nets::Config config;
  std::unique_ptr<nets::KeypointNet> kp;
  std::unique_ptr<nets::GazeNet> gaze;
  std::unique_ptr<nets::Generator> gen, gen_nshot;
  std::optional<std::array<double, 3>> head_pivot;

  // Loads every network in eval mode on `device`.
  static ModelSet load(const std::string& dir, Device device = Device::cpu());
};

inline constexpr const char* kModelsFile = "models.json";

}  // namespace fh::pipeline
