// Files crafted to break the readers and the writer: sizes whose product wraps 64 bits,
// headers of very many keys, a folder where a file belongs, and a link planted where the
// atomic writer's temporary used to go. Each is refused with an error naming the file (or
// written safely), never read out of bounds.
#include <doctest/doctest.h>

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "data/sequence.h"
#include "io/file_io.h"
#include "runtime/tensor.h"
#include "weights/json.h"
#include "weights/safetensors.h"

namespace fs = std::filesystem;
using fh::Shape;

namespace {

fs::path temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("fh-hostile-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

std::string safetensors_bytes(const std::string& header) {
  std::string s(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i, n >>= 8) s[i] = static_cast<char>(n & 0xff);
  return s + header;
}

}  // namespace

TEST_CASE("hostile files: sizes multiplying past 2^64 are refused before anything is allocated") {
  const fs::path dir = temp_dir("wrap");
  const fs::path p = dir / "wrap.safetensors";
  // 4·3·2^31·2^31 = 3·2^64 wraps to 0, which matched the empty byte range.
  std::ofstream(p, std::ios::binary)
      << safetensors_bytes(R"({"image":{"dtype":"F16","shape":[4,3,2147483648,2147483648],"data_offsets":[0,0]}})");
  CHECK_THROWS_WITH_AS(fh::safetensors::load(p.string()),
                       doctest::Contains("wrap.safetensors: tensor 'image' has more than 2^48 elements"), fh::Error);
  // The other sizes are bounded even beside a zero (their product sets the strides), and
  // within the bounds a zero size means no elements and nothing to read.
  std::ofstream(p, std::ios::binary)
      << safetensors_bytes(R"({"empty":{"dtype":"F32","shape":[0,1099511627775,1099511627775],"data_offsets":[0,0]}})");
  CHECK_THROWS_WITH_AS(fh::safetensors::load(p.string()), doctest::Contains("more than 2^48 elements"), fh::Error);
  std::ofstream(p, std::ios::binary)
      << safetensors_bytes(R"({"empty":{"dtype":"F32","shape":[0,16777216,16777216],"data_offsets":[0,0]}})");
  CHECK(fh::safetensors::load(p.string()).get("empty").numel() == 0);
  fs::remove_all(dir);
}

TEST_CASE("hostile files: Shape::numel and Tensor::empty refuse counts that overflow") {
  const Shape huge{int64_t{1} << 32, int64_t{1} << 32};
  CHECK_THROWS_WITH_AS(huge.numel(), doctest::Contains("overflows 64 bits"), fh::Error);
  CHECK(Shape{int64_t{1} << 40, 0, int64_t{1} << 40}.numel() == 0);
  CHECK(Shape{int64_t{1} << 31, int64_t{1} << 31}.numel() == int64_t{1} << 62);
  CHECK_THROWS_WITH_AS(fh::Tensor::empty(Shape{int64_t{1} << 31, int64_t{1} << 31}, fh::DType::F64),
                       doctest::Contains("needs more than 2^64 bytes"), fh::Error);
}

TEST_CASE("hostile files: a folder where a file belongs is named as such") {
  const fs::path dir = temp_dir("folder");
  CHECK_THROWS_WITH_AS(fh::safetensors::load(dir.string()), doctest::Contains("is a directory, not a file"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::read_file_bytes(dir.string(), "test"), doctest::Contains("is a directory, not a file"),
                       fh::Error);
  fs::remove_all(dir);
}

TEST_CASE("hostile files: a header of 200,000 keys parses in linear time, duplicates still found") {
  std::string text = "{";
  const int n = 200000;
  for (int i = 0; i < n; ++i) text += (i ? ",\"t" : "\"t") + std::to_string(i) + "\":[0]";
  const auto start = std::chrono::steady_clock::now();
  const fh::json::Value v = fh::json::parse(text + "}", "many keys");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(v.as_object("many keys").size() == static_cast<size_t>(n));
  // Quadratic parsing took minutes here; linear takes well under a second.
  CHECK(seconds < 20);
  CHECK_THROWS_WITH_AS(fh::json::parse(text + ",\"t123456\":1}", "dup"), doctest::Contains("duplicate key \"t123456\""),
                       fh::Error);
}

TEST_CASE("hostile files: a document read and written back reads back the same (fuzz_json's findings: -0.0, 2e308)") {
  // −0.0 used to be written as "-0", which reads back as the integer 0.
  for (const char* text : {"[-0.0]", "[-0e-7]", "[0.0,-0,1.5,-2,1e300,-1e-300]", "{\"a\":{\"b\":[-0.0]}}"}) {
    const std::string once = fh::json::parse(text, "test").dump();
    CHECK(fh::json::parse(once, "dumped").dump() == once);
  }
  CHECK(std::signbit(fh::json::parse(fh::json::parse("[-0.0]", "t").dump(), "t").as_array("t")[0].as_double("t")));
  // Numbers past the double range were read as infinity, which cannot be written back.
  CHECK_THROWS_WITH_AS(fh::json::parse("[2e308]", "big"), doctest::Contains("number '2e308' is out of range"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::json::parse("[-1" + std::string(400, '0') + "]", "long"), doctest::Contains("out of range"),
                       fh::Error);
}

TEST_CASE("hostile files: the atomic writer never writes through a planted link") {
  const fs::path dir = temp_dir("link");
  const fs::path out = dir / "weights.bin", victim = dir / "victim";
  std::ofstream(victim) << "precious";
  std::ofstream(out) << "old";
  // The temporary's name used to be <out>.tmp.<pid>.
  fs::create_symlink(victim, dir / ("weights.bin.tmp." + std::to_string(::getpid())));
  std::string temporary;
  fh::write_file_atomic(
      out.string(),
      [&](std::ostream& os) {
        for (const auto& e : fs::directory_iterator(dir))
          if (!e.is_symlink() && e.path().filename().string().rfind("weights.bin.tmp.", 0) == 0)
            temporary = e.path().filename().string();
        os << "new";
      },
      "test");
  CHECK(read_text(victim) == "precious");
  CHECK(read_text(out) == "new");
  CHECK(temporary.size() == std::string("weights.bin.tmp.").size() + 16);  // 64 random bits in hex
  CHECK_FALSE(fs::exists(dir / temporary));

  // A write that fails keeps the old file and removes its temporary.
  CHECK_THROWS_AS(fh::write_file_atomic(
                      out.string(), [](std::ostream& os) { os << "partial"; throw fh::Error("disk gone"); }, "test"),
                  fh::Error);
  CHECK(read_text(out) == "new");
  int temporaries = 0;
  for (const auto& e : fs::directory_iterator(dir))
    temporaries += !e.is_symlink() && e.path().filename().string().find(".tmp.") != std::string::npos;
  CHECK(temporaries == 0);
  fs::remove_all(dir);
}

TEST_CASE("hostile files: an evaluation triple's source and driver are always different people") {
  CHECK_THROWS_WITH_AS(fh::data::triple_spec(1, 0, {7}, 2, 10), doctest::Contains("two different identities"),
                       fh::Error);
  for (int i = 0; i < 200; ++i) {
    const fh::data::TripleSpec s = fh::data::triple_spec(3, i, {4, 9}, 2, 10);
    CHECK(s.source_identity != s.driver_identity);
  }
}
