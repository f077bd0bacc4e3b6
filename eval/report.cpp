// The evaluation's outputs: a Markdown page, the same numbers as JSON, and the grids.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "eval/evaluation.h"
#include "runtime/error.h"
#include "io/file_io.h"

namespace fs = std::filesystem;

namespace fh::eval {

namespace {

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string markdown_table(const Table& t) {
  std::ostringstream s;
  s << "| method |";
  for (const Column& c : t.columns) s << ' ' << c.title << " |";
  s << " cases |\n|---|";
  for (size_t i = 0; i < t.columns.size(); ++i) s << "---|";
  s << "---|\n";
  for (const Row& r : t.rows) {
    s << "| " << r.method << " |";
    for (const Column& c : t.columns) {
      const auto it = r.mean.find(c.id);
      s << ' ' << (it == r.mean.end() ? std::string("—") : fixed(it->second, c.decimals)) << " |";
    }
    s << ' ' << r.cases << " |\n";
  }
  return s.str();
}

}  // namespace

std::string to_markdown(const Report& rep, const std::string& command_line) {
  std::ostringstream s;
  s << "# freehead evaluation\n\n"
    << "- models: `" << rep.models_dir << "` (config " << rep.config << ", " << rep.image_size << "²); E_can reads "
    << (rep.mirror_average ? "each face and its mirror image, averaged" : "each face once (--single-reading)") << "\n"
    << "- data: `" << rep.data_dir << "` (" << rep.dataset_summary << "), split `" << rep.split << "`\n"
    << "- command: `" << command_line << "`\n"
    << "- time: " << fixed(rep.seconds, 0) << " s\n\n"
    << "Metrics (docs/evaluation.md): L1 on [0, 255]; PSNR in dB; SSIM with an 11×11 Gaussian window "
       "(σ 1.5); ARD: mean |Δ| of yaw, pitch, roll that E_can reads from the picture against the answer's true "
       "pose, degrees; AKD: mean 2D distance of E_can's 68 key-points to the true ones, pixels; AED: mean 3D "
       "distance of E_can's expression deformation to the true one, pixels; AGD: mean angle between E_gaze's "
       "gaze and the true gaze over both eyes, degrees. — : not measured (no picture to compare with).\n";
  for (const Table& t : rep.tables) {
    s << "\n## " << t.title << "\n\n" << t.setup << ".\n\n" << markdown_table(t);
    const auto grid = rep.grids.find(t.id + "_cases");
    if (grid != rep.grids.end())
      s << "\nBest and worst cases by ŷ's PSNR: [" << t.id << "_cases.png](" << t.id << "_cases.png)\n";
  }
  return s.str();
}

json::Value to_json(const Report& rep, const std::string& command_line) {
  json::Value v = json::Value::object();
  v.set("models", rep.models_dir);
  v.set("config", rep.config);
  v.set("image_size", rep.image_size);
  v.set("mirror_average", rep.mirror_average);
  v.set("data", rep.data_dir);
  v.set("split", rep.split);
  v.set("command", command_line);
  v.set("seconds", rep.seconds);
  json::Value tables = json::Value::object();
  for (const Table& t : rep.tables) {
    json::Value tv = json::Value::object();
    tv.set("title", t.title);
    tv.set("setup", t.setup);
    json::Value rows = json::Value::array();
    for (const Row& r : t.rows) {
      json::Value rv = json::Value::object();
      rv.set("id", r.id);
      rv.set("method", r.method);
      rv.set("cases", r.cases);
      for (const Column& c : t.columns) {
        const auto it = r.mean.find(c.id);
        rv.set(c.id, it == r.mean.end() ? json::Value() : json::Value(it->second));
      }
      rows.push_back(std::move(rv));
    }
    tv.set("rows", std::move(rows));
    tables.set(t.id, std::move(tv));
  }
  v.set("tables", std::move(tables));
  return v;
}

void write_report(const Report& rep, const std::string& out_dir, const std::string& command_line) {
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  FH_CHECK(!ec && fs::is_directory(out_dir), "eval", "cannot create the output folder '", out_dir, "': ", ec.message());
  write_file_atomic((fs::path(out_dir) / "eval.md").string(), to_markdown(rep, command_line), "the evaluation table");
  write_file_atomic((fs::path(out_dir) / "eval.json").string(), to_json(rep, command_line).dump() + "\n",
                    "the evaluation numbers");
  for (const auto& [name, img] : rep.grids) write_png((fs::path(out_dir) / (name + ".png")).string(), img);
}

}  // namespace fh::eval
