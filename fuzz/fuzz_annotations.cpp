// A clip's annotation file on arbitrary bytes: accepted annotations hold a tensor of
// [frames, ...] for every name, and every row can be read.
#include <cstdint>
#include <exception>

#include "data/dataset_format.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fh::fuzz::as_file(data, size, "annotations.safetensors");
  try {
    const fh::data::ClipAnnotations a = fh::data::read_clip_annotations(path, 2, {}, -1, -1);
    for (const auto& [name, t] : a.tensors) {
      fh::fuzz::require(t.dim() >= 1 && t.size(0) == 2, "an annotation tensor without the frame axis");
      const int64_t n = a.row_size(name);
      double sum = 0;
      for (int f = 0; f < 2; ++f)
        for (int64_t i = 0; i < n; ++i) sum += a.row(name, f)[i];
      static volatile double sink;
      sink = sum;
    }
  } catch (const std::exception&) {
  }
  return 0;
}
