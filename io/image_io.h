// PNG files and their tensor form. Images on disk are 8-bit RGB (or grey/RGBA); in the
// runtime they are float32 NHWC tensors. Reading validates the whole file and names it in
// every error; writing is atomic.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/tensor.h"

namespace fh {

struct Image {
  int width = 0, height = 0, channels = 0;  // channels 1..4
  std::vector<uint8_t> pixels;              // row-major, interleaved: (y·width + x)·channels + c

  Image() = default;
  Image(int w, int h, int c) : width(w), height(h), channels(c), pixels(static_cast<size_t>(w) * h * c, 0) {}
  uint8_t* at(int x, int y) { return pixels.data() + (static_cast<size_t>(y) * width + x) * channels; }
  const uint8_t* at(int x, int y) const { return pixels.data() + (static_cast<size_t>(y) * width + x) * channels; }
};

// Reads a PNG; `want_channels` 0 keeps the file's channel count, 1..4 converts.
// The largest image read_png accepts (a side, and in all): a 50-megapixel photo fits.
inline constexpr uint64_t kMaxImageSide = 32768;
inline constexpr uint64_t kMaxImagePixels = uint64_t{1} << 27;

// Errors name the file: missing, not a PNG, truncated (a chunk past the end), corrupt, or
// larger than the limits above.
Image read_png(const std::string& path, int want_channels = 0);
// A PNG or a JPEG (photos), the JPEG turned as its EXIF orientation says (phones store
// portrait photos sideways and record the turn); otherwise as read_png.
Image read_image(const std::string& path, int want_channels = 0);
void write_png(const std::string& path, const Image& image);  // atomic

// Tensor [H,W,C] or [1,H,W,C] (float32/float64, CPU or CUDA) → 8-bit image, mapping
// [lo, hi] to [0, 255] with clamping and rounding.
Image tensor_to_image(const Tensor& hwc, double lo = -1.0, double hi = 1.0);
// Image → float32 CPU tensor [1,H,W,C] with [0, 255] mapped to [lo, hi].
Tensor image_to_tensor(const Image& image, double lo = -1.0, double hi = 1.0);

}  // namespace fh
