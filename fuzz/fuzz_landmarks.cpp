// Landmark files for `freehead prep` (.npy or text, data/landmarks_file.h) on arbitrary
// bytes: refused by an fh::Error, or read as [T,68,3] with T ≥ 1 and every number finite.
#include <cmath>
#include <cstdint>
#include <exception>

#include "data/landmarks_file.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fh::fuzz::as_file(data, size, "landmarks.npy");
  try {
    const fh::Tensor t = fh::data::read_per_frame_file(path, {68, 3}, -1, "landmarks");
    fh::fuzz::require(t.dim() == 3 && t.size(0) >= 1 && t.size(1) == 68 && t.size(2) == 3,
                      "landmarks accepted with a shape other than [T,68,3]");
    const double* p = t.data<double>();
    for (int64_t i = 0; i < t.numel(); ++i) fh::fuzz::require(std::isfinite(p[i]), "a non-finite landmark accepted");
  } catch (const std::exception&) {
  }
  return 0;
}
