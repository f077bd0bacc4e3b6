#include <doctest/doctest.h>

#include <filesystem>
#include <cstring>
#include <fstream>
#include <unistd.h>

#include "runtime/random.h"
#include "weights/safetensors.h"

namespace fs = std::filesystem;
using fh::DType;
using fh::Tensor;

namespace {

fs::path temp_file(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("fh-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary) << bytes;
}

std::string header_file(const std::string& json, size_t data_bytes) {
  std::string s(8, '\0');
  uint64_t n = json.size();
  for (int i = 0; i < 8; ++i, n >>= 8) s[i] = static_cast<char>(n & 0xff);
  return s + json + std::string(data_bytes, '\0');
}

}  // namespace

TEST_CASE("safetensors round trip of every dtype, with metadata") {
  fh::Generator gen(3);
  const Tensor f32 = fh::randn({2, 3, 4}, gen);
  const fh::safetensors::NamedTensors tensors = {
      {"a.f32", f32},
      {"b.f64", fh::randn({5}, gen, 0, 1, DType::F64)},
      {"c.f16", f32.to(DType::F16)},
      {"d.bf16", f32.to(DType::BF16)},
      {"e.i64", Tensor::from_vector<int64_t>({1, -2, 3}, {3})},
      {"f.scalar", Tensor::scalar(4.5)},
      {"g.empty", Tensor::zeros({0, 3})},
  };
  const fs::path p = temp_file("round.safetensors");
  fh::safetensors::save(p.string(), tensors, {{"format", "pt"}});
  const auto loaded = fh::safetensors::load(p.string());
  REQUIRE(loaded.tensors.size() == tensors.size());
  CHECK(loaded.metadata.at("format") == "pt");
  for (const auto& [name, t] : tensors) {
    const Tensor& u = loaded.get(name);
    CHECK(u.shape() == t.shape());
    CHECK(u.dtype() == t.dtype());
    // An empty tensor may have no storage at all: memcmp must not see its null pointer.
    CHECK((t.nbytes() == 0 || std::memcmp(u.raw_data(), t.raw_data(), t.nbytes()) == 0));
  }
  // Atomic write: nothing but the file itself is left in the folder.
  int files = 0;
  for (const auto& entry : fs::directory_iterator(p.parent_path())) files += entry.path().filename() == p.filename() ? 0 : 1;
  CHECK(files == 0);
  CHECK_THROWS_WITH_AS(loaded.get("nope"), doctest::Contains("no tensor named 'nope'"), fh::Error);
  fs::remove_all(p.parent_path());
}

TEST_CASE("corrupt safetensors files get errors naming the file and tensor") {
  const fs::path p = temp_file("bad.safetensors");
  const std::string path = p.string();
  write_bytes(p, "abc");
  CHECK_THROWS_WITH_AS(fh::safetensors::load(path), doctest::Contains("too short for a header length"), fh::Error);
  write_bytes(p, header_file("{}", 0).substr(0, 8) + "{");  // header length says 2, one byte present
  CHECK_THROWS_WITH_AS(fh::safetensors::load(path), doctest::Contains("does not fit the file"), fh::Error);
  write_bytes(p, header_file(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})", 8));
  CHECK_THROWS_WITH_AS(fh::safetensors::load(path), doctest::Contains("tensor 'w' byte range [0, 16) lies outside"),
                       fh::Error);
  write_bytes(p, header_file(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})", 16));
  CHECK_THROWS_WITH_AS(fh::safetensors::load(path), doctest::Contains("needs 16 bytes but its range holds 12"),
                       fh::Error);
  write_bytes(p, header_file(R"({"w":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", 2));
  CHECK_THROWS_WITH_AS(fh::safetensors::load(path), doctest::Contains("unsupported dtype 'U8'"), fh::Error);
  write_bytes(p, header_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12));
  CHECK_THROWS_WITH_AS(fh::safetensors::load(path), doctest::Contains("overlap"), fh::Error);
  write_bytes(p, header_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})", 8));
  CHECK_THROWS_WITH_AS(fh::safetensors::load(path), doctest::Contains("header"), fh::Error);
  CHECK_THROWS_WITH_AS(fh::safetensors::load((p.parent_path() / "missing.safetensors").string()),
                       doctest::Contains("cannot open"), fh::Error);
  fs::remove_all(p.parent_path());
}
