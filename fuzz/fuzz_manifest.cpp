// The dataset manifest reader on arbitrary text: a manifest it accepts writes back to JSON
// that reads back to the same manifest.
#include <cstdint>
#include <exception>
#include <string>

#include "data/dataset_format.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  fh::data::Manifest m;
  try {
    m = fh::data::Manifest::from_json(fh::json::parse(text, "manifest.json"), "manifest.json");
  } catch (const std::exception&) {
    return 0;
  }
  const std::string once = m.to_json().dump();
  try {
    const fh::data::Manifest again = fh::data::Manifest::from_json(fh::json::parse(once, "dumped"), "dumped");
    fh::fuzz::require(again.to_json().dump() == once, "a manifest does not survive writing and reading");
  } catch (const std::exception&) {
    fh::fuzz::require(false, "an accepted manifest, written back, is refused");
  }
  return 0;
}
