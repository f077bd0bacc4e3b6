#include "runtime/image_io.h"

#include <algorithm>
#include <cmath>

#include "runtime/error.h"
#include "runtime/file_io.h"

// stb's implementations are compiled here and nowhere else.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_FAILURE_USERMSG
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb_image.h>
#include <stb_image_write.h>
#pragma GCC diagnostic pop

namespace fh {

namespace {

uint32_t big_endian32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// Walks the chunk list before stb sees the file: every chunk must fit in the file and the
// image must be of a size freehead can hold. stb trusts a chunk's length and grows its
// buffer to it first (a 90-byte file claiming a 2 GB IDAT chunk asked for 2 GB), and would
// decode a tiny file into gigabytes of pixels.
void check_png_structure(const std::vector<unsigned char>& bytes, const std::string& path) {
  static const unsigned char kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  FH_CHECK(bytes.size() >= 8 && std::equal(kSignature, kSignature + 8, bytes.begin()), "png", "'", path,
           "' is not a PNG (no PNG signature)");
  size_t at = 8;
  bool first = true;
  while (true) {
    FH_CHECK(bytes.size() - at >= 12, "png", "'", path, "' is truncated: it ends at byte ", bytes.size(),
             " inside a chunk header, before the IEND chunk");
    const uint32_t length = big_endian32(&bytes[at]);
    const std::string type(reinterpret_cast<const char*>(&bytes[at + 4]), 4);
    FH_CHECK(length <= bytes.size() - at - 12, "png", "'", path, "' is truncated or corrupt: chunk '", type,
             "' at byte ", at, " claims ", length, " bytes, but only ", bytes.size() - at - 12, " follow");
    if (first) {
      FH_CHECK(type == "IHDR" && length == 13, "png", "'", path, "' is corrupt: it does not start with an IHDR chunk");
      const uint64_t w = big_endian32(&bytes[at + 8]), h = big_endian32(&bytes[at + 12]);
      FH_CHECK(w >= 1 && h >= 1 && w <= kMaxImageSide && h <= kMaxImageSide && w * h <= kMaxImagePixels, "png", "'",
               path, "' is ", w, "x", h, " pixels; images must be 1..", kMaxImageSide, " pixels a side and at most ",
               kMaxImagePixels, " pixels");
      first = false;
    }
    at += 12 + static_cast<size_t>(length);
    if (type == "IEND") return;
  }
}

}  // namespace

Image read_png(const std::string& path, int want_channels) {
  FH_CHECK(want_channels >= 0 && want_channels <= 4, "png", "want_channels must be 0..4, got ", want_channels);
  const std::vector<unsigned char> bytes = read_file_bytes(path, "png");
  FH_CHECK(!bytes.empty(), "png", "'", path, "' is empty");
  check_png_structure(bytes, path);
  int w = 0, h = 0, c = 0;
  FH_CHECK(stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &c) != 0, "png", "'", path,
           "' is not a readable PNG: ", stbi_failure_reason());
  unsigned char* data =
      stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &c, want_channels);
  FH_CHECK(data != nullptr, "png", "'", path, "' is truncated or corrupt: ", stbi_failure_reason());
  Image img(w, h, want_channels ? want_channels : c);
  std::copy(data, data + img.pixels.size(), img.pixels.begin());
  stbi_image_free(data);
  return img;
}

void write_png(const std::string& path, const Image& image) {
  FH_CHECK(image.width > 0 && image.height > 0 && image.channels >= 1 && image.channels <= 4, "png", "cannot write '",
           path, "': image is ", image.width, "x", image.height, "x", image.channels);
  FH_CHECK(image.pixels.size() == static_cast<size_t>(image.width) * image.height * image.channels, "png",
           "cannot write '", path, "': pixel buffer holds ", image.pixels.size(), " bytes");
  int len = 0;
  unsigned char* png = stbi_write_png_to_mem(image.pixels.data(), image.width * image.channels, image.width,
                                             image.height, image.channels, &len);
  FH_CHECK(png != nullptr, "png", "encoding '", path, "' failed");
  std::string bytes(reinterpret_cast<const char*>(png), static_cast<size_t>(len));
  STBIW_FREE(png);
  write_file_atomic(path, bytes, "png");
}

Image tensor_to_image(const Tensor& hwc, double lo, double hi) {
  Tensor t = hwc.to(Device::cpu()).to(DType::F64);
  FH_CHECK((t.dim() == 3) || (t.dim() == 4 && t.size(0) == 1), "tensor_to_image", "expects [H,W,C] or [1,H,W,C], got ",
           hwc.describe());
  const int h = static_cast<int>(t.size(-3)), w = static_cast<int>(t.size(-2)), c = static_cast<int>(t.size(-1));
  FH_CHECK(c >= 1 && c <= 4, "tensor_to_image", "expects 1..4 channels, got ", hwc.describe());
  FH_CHECK(hi > lo, "tensor_to_image", "range [", lo, ", ", hi, "] is empty");
  Image img(w, h, c);
  const double* src = t.data<double>();
  const double k = 255.0 / (hi - lo);
  for (size_t i = 0; i < img.pixels.size(); ++i) {
    const double v = (src[i] - lo) * k;
    img.pixels[i] = static_cast<uint8_t>(std::lround(std::clamp(std::isnan(v) ? 0.0 : v, 0.0, 255.0)));
  }
  return img;
}

Tensor image_to_tensor(const Image& image, double lo, double hi) {
  Tensor t = Tensor::empty({1, image.height, image.width, image.channels});
  float* dst = t.data<float>();
  const double k = (hi - lo) / 255.0;
  for (size_t i = 0; i < image.pixels.size(); ++i) dst[i] = static_cast<float>(lo + image.pixels[i] * k);
  return t;
}

}  // namespace fh
