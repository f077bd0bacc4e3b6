// The dataset manifest reader on arbitrary text: a manifest it accepts writes back to JSON
// that reads back to the same manifest.
#include <cstdint>
#include <string>

#include "data/dataset_format.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fh::fuzz::check_round_trip(
      std::string(reinterpret_cast<const char*>(data), size),
      [](const std::string& text) {
        return fh::data::Manifest::from_json(fh::json::parse(text, "manifest.json"), "manifest.json");
      },
      [](const fh::data::Manifest& m) { return m.to_json().dump(); });
  return 0;
}
