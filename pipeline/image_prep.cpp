#include "pipeline/image_prep.h"

#include <algorithm>
#include <cmath>

#include "runtime/error.h"

namespace fh::pipeline {

Tensor image_tensor(const Image& image, int min_size, const std::string& what) {
  FH_CHECK(image.width > 0 && image.channels >= 1 && image.channels <= 4, "reenact", what, " is empty");
  FH_CHECK(image.width == image.height, "reenact", what, " is ", image.width, "x", image.height,
           ": the models take square face crops");
  FH_CHECK(image.width >= min_size, "reenact", what, " is ", image.width, "x", image.height, ", smaller than the models' ",
           min_size, "x", min_size);
  Tensor t = Tensor::empty({1, image.height, image.width, 3});
  float* dst = t.data<float>();
  const int c = image.channels;
  double lo = 255, hi = 0;
  for (int64_t i = 0; i < static_cast<int64_t>(image.width) * image.height; ++i)
    for (int k = 0; k < 3; ++k) {
      const uint8_t v = image.pixels[static_cast<size_t>(i * c + (c >= 3 ? k : 0))];
      lo = std::min<double>(lo, v), hi = std::max<double>(hi, v);
      dst[i * 3 + k] = static_cast<float>(v * (2.0 / 255.0) - 1.0);
    }
  FH_CHECK(hi - lo > 8, "reenact", what, " is a blank frame (every pixel within ", hi - lo,
           " levels of one colour): there is no face to read");
  return t;
}

Tensor resize_square(const Tensor& image, int64_t size) {
  FH_CHECK(image.dim() == 4 && image.size(0) == 1 && image.size(1) == image.size(2) && image.size(3) == 3, "reenact",
           "resize_square takes [1,H,H,3], got ", image.describe());
  const int64_t h = image.size(1);
  if (h == size) return image;
  const Tensor src = image.to(Device::cpu()).to(DType::F32);
  const float* p = src.data<float>();
  Tensor out = Tensor::empty({1, size, size, 3});
  float* q = out.data<float>();
  if (h % size == 0) {
    const int64_t k = h / size;
    for (int64_t y = 0; y < size; ++y)
      for (int64_t x = 0; x < size; ++x)
        for (int c = 0; c < 3; ++c) {
          double s = 0;
          for (int64_t dy = 0; dy < k; ++dy)
            for (int64_t dx = 0; dx < k; ++dx) s += p[((y * k + dy) * h + x * k + dx) * 3 + c];
          q[(y * size + x) * 3 + c] = static_cast<float>(s / static_cast<double>(k * k));
        }
    return out;
  }
  // Pixel centre i of the output sits at (i + 0.5)·h/size − 0.5 in the input.
  const double r = static_cast<double>(h) / static_cast<double>(size);
  for (int64_t y = 0; y < size; ++y) {
    const double fy = std::clamp((y + 0.5) * r - 0.5, 0.0, static_cast<double>(h - 1));
    const int64_t y0 = static_cast<int64_t>(fy), y1 = std::min(y0 + 1, h - 1);
    const double wy = fy - static_cast<double>(y0);
    for (int64_t x = 0; x < size; ++x) {
      const double fx = std::clamp((x + 0.5) * r - 0.5, 0.0, static_cast<double>(h - 1));
      const int64_t x0 = static_cast<int64_t>(fx), x1 = std::min(x0 + 1, h - 1);
      const double wx = fx - static_cast<double>(x0);
      for (int c = 0; c < 3; ++c) {
        const double top = p[(y0 * h + x0) * 3 + c] * (1 - wx) + p[(y0 * h + x1) * 3 + c] * wx;
        const double bottom = p[(y1 * h + x0) * 3 + c] * (1 - wx) + p[(y1 * h + x1) * 3 + c] * wx;
        q[(y * size + x) * 3 + c] = static_cast<float>(top * (1 - wy) + bottom * wy);
      }
    }
  }
  return out;
}

}  // namespace fh::pipeline
