#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "runtime/error.h"
#include "runtime/file_io.h"
#include "runtime/image_io.h"

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
