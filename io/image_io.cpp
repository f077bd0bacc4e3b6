#include "io/image_io.h"

#include <algorithm>
#include <cmath>

#include "runtime/error.h"
#include "io/file_io.h"
#include "io/jpeg_decode.h"

// stb's implementations are compiled here and nowhere else.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_ONLY_PNG  // JPEGs go to libjpeg (io/jpeg_decode.h)
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

bool is_png_bytes(const std::vector<unsigned char>& b) {
  static const unsigned char kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  return b.size() >= 8 && std::equal(kSignature, kSignature + 8, b.begin());
}

bool is_jpeg_bytes(const std::vector<unsigned char>& b) { return b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF; }

// The EXIF orientation of a JPEG (1..8; 1 = as stored), from the APP1 "Exif" segment's first
// image directory, tag 0x0112. Phones store a portrait photo sideways and say so here. Every
// offset is bounds-checked; anything unreadable counts as 1.
int exif_orientation(const std::vector<unsigned char>& b) {
  size_t i = 2;
  while (i + 4 <= b.size() && b[i] == 0xFF) {
    const int marker = b[i + 1];
    if (marker == 0xDA || marker == 0xD9) break;  // image data: no more metadata
    const size_t len = (static_cast<size_t>(b[i + 2]) << 8) | b[i + 3];
    if (len < 2 || i + 2 + len > b.size()) break;
    const size_t seg = i + 4, seg_end = i + 2 + len;
    if (marker == 0xE1 && seg_end - seg >= 14 && std::equal(b.begin() + seg, b.begin() + seg + 6, "Exif\0\0")) {
      const size_t tiff = seg + 6;
      const bool little = b[tiff] == 'I' && b[tiff + 1] == 'I';
      if (!little && !(b[tiff] == 'M' && b[tiff + 1] == 'M')) return 1;
      auto u16 = [&](size_t at) -> uint32_t {
        return little ? b[at] | (b[at + 1] << 8) : (b[at] << 8) | b[at + 1];
      };
      auto u32 = [&](size_t at) -> uint64_t { return little ? u16(at) | (uint64_t{u16(at + 2)} << 16) : (uint64_t{u16(at)} << 16) | u16(at + 2); };
      const uint64_t ifd = u32(tiff + 4);
      if (ifd > seg_end - tiff || tiff + ifd + 2 > seg_end) return 1;
      const size_t dir = tiff + static_cast<size_t>(ifd);
      const uint32_t entries = u16(dir);
      for (uint32_t e = 0; e < entries; ++e) {
        const size_t at = dir + 2 + 12 * static_cast<size_t>(e);
        if (at + 12 > seg_end) return 1;
        if (u16(at) == 0x0112 && u16(at + 2) == 3) {  // Orientation, SHORT
          const uint32_t v = u16(at + 8);
          return v >= 1 && v <= 8 ? static_cast<int>(v) : 1;
        }
      }
      return 1;
    }
    i = seg_end;
  }
  return 1;
}

// The picture as it should be seen, for EXIF orientations 2..8.
Image oriented(const Image& in, int orientation) {
  if (orientation <= 1) return in;
  const bool swap = orientation >= 5;
  Image out(swap ? in.height : in.width, swap ? in.width : in.height, in.channels);
  const int W = in.width, H = in.height;
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x) {
      int sx = x, sy = y;
      switch (orientation) {
        case 2: sx = W - 1 - x; break;                  // mirrored
        case 3: sx = W - 1 - x, sy = H - 1 - y; break;  // upside down
        case 4: sy = H - 1 - y; break;                  // mirrored vertically
        case 5: sx = y, sy = x; break;                  // transposed
        case 6: sx = y, sy = H - 1 - x; break;          // stored turned left: turn right
        case 7: sx = W - 1 - y, sy = H - 1 - x; break;  // transversed
        case 8: sx = W - 1 - y, sy = x; break;          // stored turned right: turn left
      }
      std::copy_n(in.at(sx, sy), in.channels, out.at(x, y));
    }
  return out;
}

uint32_t big_endian32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// Walks the chunk list before stb sees the file: every chunk must fit in the file and the
// image must be of a size freehead can hold. stb trusts a chunk's length and grows its
// buffer to it first (a 90-byte file claiming a 2 GB IDAT chunk asked for 2 GB), and would
// decode a tiny file into gigabytes of pixels.
void check_png_structure(const std::vector<unsigned char>& bytes, const std::string& path) {
  FH_CHECK(is_png_bytes(bytes), "png", "'", path, "' is not a PNG (no PNG signature)");
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

Image decode(const std::string& path, int want_channels, bool allow_jpeg, const char* what) {
  FH_CHECK(want_channels >= 0 && want_channels <= 4, what, "want_channels must be 0..4, got ", want_channels);
  const std::vector<unsigned char> bytes = read_file_bytes(path, what);
  FH_CHECK(!bytes.empty(), what, "'", path, "' is empty");
  const bool jpeg = is_jpeg_bytes(bytes);
  FH_CHECK(is_png_bytes(bytes) || (allow_jpeg && jpeg), what, "'", path, "' is not a readable ",
           allow_jpeg ? "PNG or JPEG" : "PNG", ": its first bytes are no ", allow_jpeg ? "PNG or JPEG" : "PNG",
           " signature");
  if (jpeg) return oriented(decode_jpeg(bytes, path, want_channels), exif_orientation(bytes));
  check_png_structure(bytes, path);
  int w = 0, h = 0, c = 0;
  FH_CHECK(stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &c) != 0, what, "'", path,
           "' is not a readable PNG: ", stbi_failure_reason());
  unsigned char* data =
      stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &c, want_channels);
  FH_CHECK(data != nullptr, what, "'", path, "' is truncated or corrupt: ", stbi_failure_reason());
  Image img(w, h, want_channels ? want_channels : c);
  std::copy(data, data + img.pixels.size(), img.pixels.begin());
  stbi_image_free(data);
  return img;
}

}  // namespace

Image read_png(const std::string& path, int want_channels) { return decode(path, want_channels, false, "png"); }

Image read_image(const std::string& path, int want_channels) { return decode(path, want_channels, true, "image"); }

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
