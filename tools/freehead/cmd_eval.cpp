// `freehead eval`: the evaluation tables of docs/evaluation.md for a models folder on a
// dataset with exact ground truth.
#include <cstdio>
#include <sstream>

#include "eval/evaluation.h"
#include "pipeline/reenactor.h"
#include "tools/freehead/commands.h"
#include "tools/freehead/options.h"
#include "tools/freehead/reenact_options.h"

namespace fh::cli {

namespace {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream s(text);
  for (std::string item; std::getline(s, item, ',');) out.push_back(item);
  return out;
}

std::vector<int> source_counts(const std::string& text) {
  std::vector<int> out;
  for (const std::string& item : split_list(text)) {
    size_t used = 0;
    int n = 0;
    try {
      n = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || n < 1 || n > 64)
      throw UsageError{"--sources: '" + item + "' is not a source count in 1..64 (e.g. --sources 1,2,4,8)"};
    out.push_back(n);
  }
  if (out.empty()) throw UsageError{"--sources: no source counts given (e.g. --sources 1,2,4,8)"};
  return out;
}

}  // namespace

int cmd_eval(const Args& args) {
  const Options opts(
      "eval",
      "Scores a models folder on a dataset with exact ground truth (docs/evaluation.md):\n"
      "self-reenactment, cross-identity reenactment on the dataset's triples, N-shot, and E_can\n"
      "and E_gaze alone, each with the baselines (source copied, warped source x̄, the estimators\n"
      "on the answer). Writes OUT/eval.md, OUT/eval.json and the best/worst case grids\n"
      "OUT/self_cases.png, OUT/cross_cases.png, and prints the Markdown.",
      {
          {"data", "dataset folder (docs/data.md)", true, true, ""},
          {"out", "output folder (created; files in it replaced)", true, true, ""},
          {"models", "models folder", true, false, Reenactor::default_models_dir()},
          {"split", "the clips' split", true, false, "test"},
          {"sources", "the N-shot table's source counts", true, false, "1,2,4,8"},
          {"tables", "which tables: self, cross, nshot, components", true, false, "self,cross,nshot,components"},
          {"drivers-per-clip", "driving frames per clip (self, nshot)", true, false, "8"},
          {"max-clips", "clips of the split, spread over it (0 = all)", true, false, "0"},
          {"max-triples", "triples, the first ones (0 = all)", true, false, "0"},
          {"component-frames", "frames per clip for the components table", true, false, "12"},
          {"grid-cases", "best and worst cases in each grid", true, false, "4"},
          {"device", "cpu or cuda[:N]", true, false, "cpu"},
          single_reading_option(),
      },
      args);
  eval::EvalOptions o;
  o.data_dir = opts.str("data");
  o.models_dir = opts.str("models");
  o.split = opts.str("split");
  o.sources = source_counts(opts.str("sources"));
  o.tables = split_list(opts.str("tables"));
  for (const std::string& t : o.tables)
    if (!eval::is_table_name(t))
      throw UsageError{"--tables: unknown table '" + t + "' (self, cross, nshot, components)"};
  o.drivers_per_clip = static_cast<int>(opts.integer("drivers-per-clip", 1, 100000));
  o.max_clips = static_cast<int>(opts.integer("max-clips", 0, 1000000));
  o.max_triples = static_cast<int>(opts.integer("max-triples", 0, 1000000));
  o.component_frames = static_cast<int>(opts.integer("component-frames", 1, 100000));
  o.grid_cases = static_cast<int>(opts.integer("grid-cases", 0, 64));
  o.device = device_flag(opts);
  o.mirror_average = !opts.flag("single-reading");

  std::string command = "freehead eval";
  for (const std::string& a : args) command += " " + a;
  const eval::Report rep = eval::evaluate(o);
  eval::write_report(rep, opts.str("out"), command);
  std::fputs(eval::to_markdown(rep, command).c_str(), stdout);
  std::printf("\nwritten: %s/eval.md, eval.json and the case grids\n", opts.str("out").c_str());
  return 0;
}

}  // namespace fh::cli
