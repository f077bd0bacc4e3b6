#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "runtime/error.h"
#include "io/file_io.h"
#include "io/image_io.h"
#include "io/jpeg_decode.h"

#include <cstring>
#include <stb_image_write.h>

namespace fs = std::filesystem;

namespace {

// A file in this run's temporary folder, which is removed at exit.
fs::path image_temp(const std::string& name) {
  static const struct TempDir {
    fs::path dir = fs::temp_directory_path() / ("fh-image-test-" + std::to_string(::getpid()));
    TempDir() { fs::create_directories(dir); }
    ~TempDir() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } temp;
  return temp.dir / name;
}

}  // namespace

TEST_CASE("png: write then read returns the same pixels, and tensors map [lo, hi] to [0, 255]") {
  fh::Image img(5, 3, 3);
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<uint8_t>(i * 17 % 256);
  const fs::path p = image_temp("roundtrip.png");
  fh::write_png(p.string(), img);
  const fh::Image back = fh::read_png(p.string());
  CHECK(back.width == 5);
  CHECK(back.height == 3);
  CHECK(back.channels == 3);
  CHECK(back.pixels == img.pixels);
  for (const auto& e : fs::directory_iterator(p.parent_path()))  // no temporary left beside it
    CHECK(e.path().filename().string().rfind("roundtrip.png.tmp.", 0) != 0);

  const fh::Tensor t = fh::image_to_tensor(img);  // [-1, 1]
  CHECK(t.shape() == fh::Shape{1, 3, 5, 3});
  CHECK(t.data<float>()[1] == doctest::Approx(-1.0 + 2.0 * 17 / 255.0));
  CHECK(fh::tensor_to_image(t).pixels == img.pixels);
  const fh::Image grey = fh::read_png(p.string(), 1);
  CHECK(grey.channels == 1);
}

TEST_CASE("png: truncated, empty, missing and non-PNG files are errors naming the file") {
  fh::Image img(16, 16, 3);
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<uint8_t>((i * 7919) % 251);
  const fs::path good = image_temp("good.png");
  fh::write_png(good.string(), img);
  auto bytes = fh::read_file_bytes(good.string(), "test");
  const fs::path cut = image_temp("cut.png");
  fh::write_file_atomic(cut.string(), std::string(bytes.begin(), bytes.begin() + bytes.size() / 2), "test");
  CHECK_THROWS_WITH_AS(fh::read_png(cut.string()), doctest::Contains("cut.png"), fh::Error);
  const fs::path empty = image_temp("empty.png");
  fh::write_file_atomic(empty.string(), std::string(), "test");
  CHECK_THROWS_WITH_AS(fh::read_png(empty.string()), doctest::Contains("empty.png"), fh::Error);
  const fs::path text = image_temp("text.png");
  fh::write_file_atomic(text.string(), std::string("not an image at all"), "test");
  CHECK_THROWS_WITH_AS(fh::read_png(text.string()), doctest::Contains("text.png"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::read_png(image_temp("absent.png").string()), doctest::Contains("absent.png"), fh::Error);
  CHECK_THROWS_AS(fh::tensor_to_image(fh::Tensor::zeros({2, 4, 4, 3})), fh::Error);
}

// A PNG chunk list walked before decoding: fuzz_png found a 90-byte file whose third IDAT
// chunk claims 2 GB, for which the decoder grew its buffer to 2 GB before finding the
// bytes missing (fuzz/corpus/fuzz_png/finding-idat-claims-2gb.png).
TEST_CASE("png: chunks that claim more bytes than the file holds, and oversized images, are refused up front") {
  fh::Image img(16, 12, 1);
  const fs::path good = image_temp("chunks.png");
  fh::write_png(good.string(), img);
  const auto bytes = fh::read_file_bytes(good.string(), "test");
  auto put32 = [](std::string& s, size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>((v >> (24 - 8 * i)) & 255);
  };
  const std::string original(bytes.begin(), bytes.end());
  const size_t idat = original.find("IDAT") - 4;  // the first IDAT chunk's length field
  REQUIRE(idat > 8);

  std::string huge_chunk = original;
  put32(huge_chunk, idat, 0x78000010u);
  const fs::path lying = image_temp("lying.png");
  fh::write_file_atomic(lying.string(), huge_chunk, "test");
  CHECK_THROWS_WITH_AS(fh::read_png(lying.string()),
                       doctest::Contains("lying.png' is truncated or corrupt: chunk 'IDAT' at byte"), fh::Error);

  std::string no_end = original.substr(0, original.size() - 12);  // IEND removed
  const fs::path endless = image_temp("endless.png");
  fh::write_file_atomic(endless.string(), no_end, "test");
  CHECK_THROWS_WITH_AS(fh::read_png(endless.string()), doctest::Contains("before the IEND chunk"), fh::Error);

  std::string giant = original;  // 40000 x 12 in the IHDR (the CRC is not checked first)
  put32(giant, 16, 40000);
  const fs::path big = image_temp("giant.png");
  fh::write_file_atomic(big.string(), giant, "test");
  CHECK_THROWS_WITH_AS(fh::read_png(big.string()), doctest::Contains("giant.png' is 40000x12 pixels"), fh::Error);

  const fs::path finding = fs::path(FH_SOURCE_DIR) / "fuzz/corpus/fuzz_png/finding-idat-claims-2gb.png";
  CHECK_THROWS_WITH_AS(fh::read_png(finding.string()), doctest::Contains("claims 2013265936 bytes"), fh::Error);
  CHECK(fh::read_png(good.string()).width == 16);  // the untouched file still reads
}

// ---- JPEG photos and their EXIF orientation (read_image) -------------------------------------

namespace {

// A JPEG of `img` with an EXIF block saying `orientation` (0: no EXIF), little- or big-endian.
std::string jpeg_with_orientation(const fh::Image& img, int orientation, bool little) {
  std::string jpeg;
  stbi_write_jpg_to_func([](void* ctx, void* data, int size) { static_cast<std::string*>(ctx)->append(static_cast<char*>(data), size); },
                         &jpeg, img.width, img.height, img.channels, img.pixels.data(), 95);
  if (orientation == 0) return jpeg;
  auto u16 = [&](std::string& s, int v) {
    if (little) s += static_cast<char>(v & 0xff), s += static_cast<char>(v >> 8);
    else s += static_cast<char>(v >> 8), s += static_cast<char>(v & 0xff);
  };
  std::string tiff = little ? "II" : "MM";
  u16(tiff, 42);
  u16(tiff, 0), u16(tiff, 0);  // the first directory's offset, 8, as a 32-bit number
  tiff[little ? 4 : 7] = 8;
  u16(tiff, 1);               // one entry
  u16(tiff, 0x0112), u16(tiff, 3);              // Orientation, SHORT
  u16(tiff, little ? 1 : 0), u16(tiff, little ? 0 : 1);  // count 1
  u16(tiff, orientation), u16(tiff, 0);         // the value, left-justified
  u16(tiff, 0), u16(tiff, 0);                   // no next directory
  const std::string payload = std::string("Exif\0\0", 6) + tiff;
  const size_t len = payload.size() + 2;
  std::string app1 = "\xFF\xE1";
  app1 += static_cast<char>(len >> 8), app1 += static_cast<char>(len & 0xff);
  return jpeg.substr(0, 2) + app1 + payload + jpeg.substr(2);
}

}  // namespace

TEST_CASE("read_image: a JPEG is turned as its EXIF orientation says; read_png stays PNG-only") {
  const std::string dir = image_temp("").string();
  fh::Image img(40, 20, 3);
  for (int y = 0; y < 20; ++y)
    for (int x = 0; x < 40; ++x) {
      uint8_t* p = img.at(x, y);
      p[0] = static_cast<uint8_t>(x < 20 ? 230 : 20);  // left half red, right half blue
      p[1] = static_cast<uint8_t>(y < 10 ? 200 : 30);  // top half greener
      p[2] = static_cast<uint8_t>(x < 20 ? 20 : 230);
    }
  fh::write_file_atomic(dir + "/plain.jpg", jpeg_with_orientation(img, 0, true), "test");
  if (!fh::jpeg_supported()) {
    CHECK_THROWS_WITH_AS(fh::read_image(dir + "/plain.jpg"), doctest::Contains("built without libjpeg"), fh::Error);
    return;
  }
  const fh::Image plain = fh::read_image(dir + "/plain.jpg", 3);
  REQUIRE(plain.width == 40);
  REQUIRE(plain.height == 20);
  // How each orientation maps a displayed pixel (x, y) back to the stored one.
  auto stored = [&](int o, int x, int y) -> const uint8_t* {
    const int W = 40, H = 20;
    switch (o) {
      case 3: return plain.at(W - 1 - x, H - 1 - y);
      case 6: return plain.at(y, H - 1 - x);
      case 8: return plain.at(W - 1 - y, x);
      default: return plain.at(x, y);
    }
  };
  for (const auto& [o, little] : std::vector<std::pair<int, bool>>{{1, true}, {3, true}, {6, true}, {8, false}, {6, false}}) {
    const std::string path = dir + "/o" + std::to_string(o) + (little ? "l" : "b") + ".jpg";
    fh::write_file_atomic(path, jpeg_with_orientation(img, o, little), "test");
    const fh::Image got = fh::read_image(path, 3);
    const bool turned = o >= 5;
    REQUIRE(got.width == (turned ? 20 : 40));
    REQUIRE(got.height == (turned ? 40 : 20));
    for (int y = 0; y < got.height; ++y)
      for (int x = 0; x < got.width; ++x) REQUIRE(std::memcmp(got.at(x, y), stored(o, x, y), 3) == 0);
  }
  // Orientation 6 ("turn right to view"): the stored left edge (red) becomes the top.
  const fh::Image six = fh::read_image(dir + "/o6l.jpg", 3);
  CHECK(six.at(10, 2)[0] > 128);
  CHECK(six.at(10, 37)[2] > 128);
  CHECK_THROWS_WITH_AS(fh::read_png(dir + "/plain.jpg"), doctest::Contains("is not a readable PNG"), fh::Error);
}
