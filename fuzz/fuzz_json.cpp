// The JSON reader on arbitrary text: a document it accepts writes back to text that reads
// back to the same document.
#include <cstdint>
#include <exception>
#include <string>

#include "fuzz/fuzz_input.h"
#include "weights/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  fh::json::Value v;
  try {
    v = fh::json::parse(text, "fuzz input");
  } catch (const std::exception&) {
    return 0;
  }
  const std::string once = v.dump();
  fh::json::Value again;
  try {
    again = fh::json::parse(once, "dumped document");
  } catch (const std::exception&) {
    fh::fuzz::require(false, "a parsed document's dump does not parse");
  }
  fh::fuzz::require(again.dump() == once, "dump(parse(dump(v))) differs from dump(v)");
  return 0;
}
