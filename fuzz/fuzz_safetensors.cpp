// The safetensors reader on arbitrary bytes: it accepts a file only when every tensor's
// byte range lies inside it, and then every element can be read.
#include <cstdint>
#include <exception>

#include "fuzz/fuzz_input.h"
#include "weights/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fh::fuzz::as_file(data, size, "in.safetensors");
  try {
    const fh::safetensors::Contents c = fh::safetensors::load(path);
    for (const auto& [name, t] : c.tensors) {
      // Touch every byte the reader claims to hold.
      const auto* p = static_cast<const uint8_t*>(t.raw_data());
      uint64_t sum = 0;
      for (size_t i = 0; i < t.nbytes(); ++i) sum += p[i];
      static volatile uint64_t sink;
      sink = sum;
    }
  } catch (const std::exception&) {
  }
  return 0;
}
