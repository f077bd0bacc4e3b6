// The JSON reader on arbitrary text: a document it accepts writes back to text that reads
// back to the same document.
#include <cstdint>
#include <string>

#include "fuzz/fuzz_input.h"
#include "weights/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fh::fuzz::check_round_trip(
      std::string(reinterpret_cast<const char*>(data), size),
      [](const std::string& text) { return fh::json::parse(text, "fuzz input"); },
      [](const fh::json::Value& v) { return v.dump(); });
  return 0;
}
