// A training run's recorded options (config.json and checkpoint state) on arbitrary text:
// options it accepts write back to JSON that reads back to the same options.
#include <cstdint>
#include <string>

#include "fuzz/fuzz_input.h"
#include "train/trainer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fh::fuzz::check_round_trip(
      std::string(reinterpret_cast<const char*>(data), size),
      [](const std::string& text) {
        return fh::train::TrainOptions::from_json(fh::json::parse(text, "config.json"), "config.json");
      },
      [](const fh::train::TrainOptions& o) { return o.to_json().dump(); });
  return 0;
}
