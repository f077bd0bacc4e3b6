// `freehead pack-models`: a models folder (pipeline/models.h) from the inference weights of
// training runs, optionally stored as float16 (which the loader reads back as float32).
#include <cstdio>
#include <filesystem>
#include <map>
#include <tuple>

#include "layers/module.h"
#include "eval/head_pivot_measure.h"
#include "pipeline/head_pivot.h"
#include "pipeline/models.h"
#include "runtime/error.h"
#include "io/file_io.h"
#include "tools/freehead/network_files.h"
#include "tools/freehead/commands.h"
#include "tools/freehead/options.h"
#include "weights/json.h"
#include "weights/safetensors.h"

namespace fs = std::filesystem;

namespace fh::cli {

namespace {

// Copies the tensors under `prefix` from a run's (or any) weights file; returns the count.
// They are loaded into the network first (as stored, float16 included), so a file that does
// not fit, or holds NaN or Inf, is refused naming that file.
size_t pack_one(const std::string& from, const std::string& net, const std::string& config, const std::string& prefix,
                const std::string& to, bool half) {
  std::string path = from;
  if (fs::is_directory(from)) path = (fs::path(from) / "weights.safetensors").string();
  const safetensors::Contents c = safetensors::load(path);
  safetensors::NamedTensors out;
  nn::TensorMap stored;
  for (const auto& [name, t] : c.tensors)
    if (name.rfind(prefix, 0) == 0) {
      out.emplace_back(name, half ? t.to(DType::F16) : t);
      stored.emplace(name, out.back().second);
    }
  FH_CHECK(!out.empty(), "pack-models", "'", path, "' holds no tensor under '", prefix, "'");
  nn::load_weights(build_network(net, config)->module(), stored, prefix, path);
  std::map<std::string, std::string> meta = c.metadata;
  meta["packed_from"] = fs::path(path).filename().string();
  safetensors::save(to, out, meta);
  return out.size();
}

}  // namespace

int cmd_pack_models(const Args& args) {
  const Options opts(
      "pack-models",
      "Makes a models folder for `reenact`, `edit` and `demo` from training runs (their\n"
      "weights.safetensors) or weights files: models.json plus one weights file per network.",
      {
          {"config", "tiny, small or paper: the config the networks were trained at", true, true, ""},
          {"kp", "E_can run folder or weights file", true, true, ""},
          {"gaze", "E_gaze run folder or weights file", true, true, ""},
          {"gen", "one-shot generator run folder or weights file", true, false, ""},
          {"gen-nshot", "N-shot generator run folder or weights file", true, false, ""},
          {"out", "models folder to write (absent or empty)", true, true, ""},
          {"float16", "store weights as float16 (half the size; loads as float32)", false, false, ""},
          {"pivot-data", "dataset with true head poses to measure E_can's head pivot on (models.json "
                         "head_pivot: the point pose edits turn the head about)", true, false, ""},
          {"pivot-split", "split of --pivot-data to measure on", true, false, "train"},
          {"pivot-frames", "frames of --pivot-data to measure on", true, false, "512"},
      },
      args);
  if (!opts.has("gen") && !opts.has("gen-nshot")) throw UsageError{"give --gen, --gen-nshot or both"};
  const int pivot_frames = static_cast<int>(opts.integer("pivot-frames", 16, 1 << 20));
  const std::string out = opts.str("out");
  StagedDirectory staged(out, "pack-models");  // written whole or not at all
  const std::string dir = staged.staging();
  const bool half = opts.flag("float16");
  json::Value m = json::Value::object();
  m.set("format", "freehead-models");
  m.set("version", 1);
  m.set("config", opts.str("config"));
  m.set("dtype", half ? "float16" : "float32");
  for (const auto& [flag, key, prefix, file] :
       std::vector<std::tuple<std::string, std::string, std::string, std::string>>{
           {"kp", "kp", "kp.", "kp.safetensors"},
           {"gaze", "gaze", "gaze.", "gaze.safetensors"},
           {"gen", "gen", "gen.", "gen.safetensors"},
           {"gen-nshot", "gen_nshot", "gen.", "gen-nshot.safetensors"}}) {
    if (!opts.has(flag)) continue;
    const size_t n = pack_one(opts.str(flag), flag, opts.str("config"), prefix, (fs::path(dir) / file).string(), half);
    m.set(key, file);
    std::printf("%-10s %zu tensors -> %s\n", flag.c_str(), n, file.c_str());
  }
  const std::string manifest = (fs::path(dir) / pipeline::kModelsFile).string();
  write_file_atomic(manifest, m.dump() + "\n", "models");
  if (opts.has("pivot-data")) {
    // Measured with the weights as stored (float16 included): what reenact and edit will run.
    const Reenactor r(dir);
    const pipeline::HeadPivotFit fit =
        eval::measure_head_pivot(r, opts.str("pivot-data"), opts.str("pivot-split"), pivot_frames);
    const double px = (static_cast<double>(r.image_size()) - 1) / 2;  // normalised units → pixels
    std::printf("head pivot (%.4f, %.4f, %.4f) in E_can's canonical frame, from %d %s frames of %s: the true pivot "
                "lies %.2f px (RMS) from where it places it, %.2f px from E_can's origin\n",
                fit.pivot[0], fit.pivot[1], fit.pivot[2], fit.observations, opts.str("pivot-split").c_str(),
                opts.str("pivot-data").c_str(), fit.rms * px, fit.rms_at_origin * px);
    json::Value c = json::Value::array();
    for (int i = 0; i < 3; ++i) c.push_back(fit.pivot[i]);
    m.set("head_pivot", c);
    write_file_atomic(manifest, m.dump() + "\n", "models");
  }
  // Loading it back is the check that the folder is usable as written.
  pipeline::ModelSet::load(dir);
  staged.commit();
  std::printf("wrote %s/%s (loads cleanly)\n", out.c_str(), pipeline::kModelsFile);
  return 0;
}

}  // namespace fh::cli
