#include "pipeline/models.h"

#include <filesystem>

#include "runtime/error.h"
#include "io/file_io.h"
#include "weights/json.h"
#include "weights/safetensors.h"

namespace fs = std::filesystem;

namespace fh::pipeline {

namespace {

template <typename Net>
void load_into(Net& net, const std::string& path, const std::string& prefix, Device device) {
  std::error_code ec;
  FH_CHECK(fs::is_regular_file(path, ec), "models", "weights file '", path, "' is missing");
  const safetensors::Contents c = safetensors::load(path);
  nn::load_weights(net, nn::TensorMap(c.tensors.begin(), c.tensors.end()), prefix, path);
  net.to(device);
  net.eval();
}

}  // namespace

ModelSet ModelSet::load(const std::string& dir, Device device) {
  const fs::path root(dir);
  const std::string manifest = (root / kModelsFile).string();
  std::error_code ec;
  FH_CHECK(fs::is_directory(root, ec), "models", "models folder '", dir, "' does not exist");
  FH_CHECK(fs::is_regular_file(manifest, ec), "models", "'", dir, "' is not a models folder (no ", kModelsFile, ")");
  const std::vector<unsigned char> bytes = read_file_bytes(manifest, "models");
  const json::Value v = json::parse(std::string(bytes.begin(), bytes.end()), manifest);
  FH_CHECK(v.is_object(), "models", "'", manifest, "' is not a JSON object");
  auto field = [&](const char* key) -> std::string {
    const json::Value* f = v.find(key);
    return f ? f->as_string(manifest + ": " + key) : std::string();
  };
  FH_CHECK(field("format") == "freehead-models", "models", "'", manifest, "': format must be \"freehead-models\"");
  ModelSet m;
  m.dir = dir;
  const std::string cfg = field("config");
  FH_CHECK(!cfg.empty(), "models", "'", manifest, "' names no config");
  m.config = nets::config(cfg);
  for (const char* key : {"kp", "gaze"})
    FH_CHECK(!field(key).empty(), "models", "'", manifest, "' names no '", key, "' weights");
  FH_CHECK(!field("gen").empty() || !field("gen_nshot").empty(), "models", "'", manifest,
           "' names no generator ('gen' or 'gen_nshot')");
  m.kp = std::make_unique<nets::KeypointNet>(m.config);
  load_into(*m.kp, (root / field("kp")).string(), "kp.", device);
  m.gaze = std::make_unique<nets::GazeNet>(m.config);
  load_into(*m.gaze, (root / field("gaze")).string(), "gaze.", device);
  if (!field("gen").empty()) {
    m.gen = std::make_unique<nets::Generator>(m.config, false);
    load_into(*m.gen, (root / field("gen")).string(), "gen.", device);
  }
  if (const json::Value* pivot = v.find("head_pivot")) {
    const json::Value::Array& a = pivot->as_array(manifest + ": head_pivot");
    FH_CHECK(a.size() == 3, "models", "'", manifest, "': head_pivot must hold 3 numbers, not ", a.size());
    std::array<double, 3> c{};
    for (size_t i = 0; i < 3; ++i) c[i] = a[i].as_double(manifest + ": head_pivot");
    m.head_pivot = c;
  }
  if (!field("gen_nshot").empty()) {
    m.gen_nshot = std::make_unique<nets::Generator>(m.config, true);
    load_into(*m.gen_nshot, (root / field("gen_nshot")).string(), "gen.", device);
  }
  return m;
}

}  // namespace fh::pipeline
