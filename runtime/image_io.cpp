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

Image read_png(const std::string& path, int want_channels) {
  FH_CHECK(want_channels >= 0 && want_channels <= 4, "png", "want_channels must be 0..4, got ", want_channels);
  const std::vector<unsigned char> bytes = read_file_bytes(path, "png");
  FH_CHECK(!bytes.empty(), "png", "'", path, "' is empty");
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
