// A models folder: the trained networks the pipeline runs, described by models.json
//
//   {"format": "freehead-models", "version": 1, "config": "tiny",
//    "kp": "kp.safetensors", "gaze": "gaze.safetensors",
//    "gen": "gen.safetensors", "gen_nshot": "gen-nshot.safetensors"}
//
// Weight files hold inference tensors under the networks' prefixes (kp., gaze., gen.);
// float16 storage is read as float32. `gen` (one-shot) or `gen_nshot` may be absent, not
// both. Errors name the folder, the file and the tensor.
#pragma once

#include <memory>
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

  // Loads every network in eval mode on `device`.
  static ModelSet load(const std::string& dir, Device device = Device::cpu());
};

inline constexpr const char* kModelsFile = "models.json";

}  // namespace fh::pipeline
