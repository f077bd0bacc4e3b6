// A training run's recorded options (config.json and checkpoint state) on arbitrary text:
// options it accepts write back to JSON that reads back to the same options.
#include <cstdint>
#include <exception>
#include <string>

#include "fuzz/fuzz_input.h"
#include "train/trainer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  fh::train::TrainOptions o;
  try {
    o = fh::train::TrainOptions::from_json(fh::json::parse(text, "config.json"), "config.json");
  } catch (const std::exception&) {
    return 0;
  }
  const std::string once = o.to_json().dump();
  try {
    const auto again = fh::train::TrainOptions::from_json(fh::json::parse(once, "dumped"), "dumped");
    fh::fuzz::require(again.to_json().dump() == once, "options do not survive writing and reading");
  } catch (const std::exception&) {
    fh::fuzz::require(false, "accepted options, written back, are refused");
  }
  return 0;
}
