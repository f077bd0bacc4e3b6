// `freehead eval`: the field's evaluation tables on freehead's synthetic data, where every
// answer is known exactly (docs/evaluation.md).
//
//   self        self-reenactment: a clip's first frame is the source; later frames of the
//               same clip drive it and are the answer;
//   cross       cross-identity reenactment on the dataset's triples: source A, driver B, and
//               the exact render of A with B's pose, expression and gaze as the answer;
//   nshot       self-reenactment with 1, 2, 4, 8 ... source frames of the clip;
//   components  E_can and E_gaze alone on the split's frames against ground truth.
// Every table carries baselines: the source copied unchanged (for N sources the one nearest
// the answer), the warped source x̄ alone, and the estimators run on the answer itself (the
// floor of the pose, key-point, expression and gaze metrics).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "runtime/device.h"
#include "io/image_io.h"
#include "weights/json.h"

namespace fh::eval {

// The tables `evaluate` can make, in the order they are reported.
inline const std::vector<std::string>& table_names() {
  static const std::vector<std::string> names{"self", "cross", "nshot", "components"};
  return names;
}
bool is_table_name(const std::string& name);

struct EvalOptions {
  std::string data_dir;
  std::string models_dir;
  std::string split = "test";
  std::vector<int> sources{1, 2, 4, 8};  // the N-shot table's source counts
  std::vector<std::string> tables = table_names();
  int drivers_per_clip = 8;     // driving frames per clip (self, nshot)
  int max_clips = 0;            // clips of the split used (spread over it); 0 = all
  int max_triples = 0;          // triples used (the first ones); 0 = all
  int component_frames = 12;    // frames per clip the components are read on
  int grid_cases = 4;           // best and worst cases in each picture grid
  bool mirror_average = true;   // E_can's readings averaged with the mirror image's (Reenactor)
  Device device = Device::cpu();
};

// One method's metrics averaged over its cases.
struct Row {
  std::string id;      // machine name, e.g. "output", "warped", "source", "answer"
  std::string method;  // what the table prints
  std::map<std::string, double> mean;  // metric → mean (PSNR over the cases where it is finite)
  int64_t cases = 0;
};

struct Column {
  std::string id;     // "l1", "psnr", ...
  std::string title;  // "L1 ↓"
  int decimals = 2;
};

struct Table {
  std::string id;     // "self", "cross", "nshot", "components"
  std::string title;
  std::string setup;  // how the cases were drawn
  std::vector<Column> columns;
  std::vector<Row> rows;
};

struct Report {
  std::string data_dir, models_dir, config, split;
  int image_size = 0;
  bool mirror_average = true;
  std::string dataset_summary;
  std::vector<Table> tables;
  std::map<std::string, Image> grids;  // "self_cases", "cross_cases": best and worst cases
  double seconds = 0;
};

// Runs the asked tables with a progress bar on stderr. Errors name the folder and what is
// wrong (sizes that do not match, a split or triples the dataset lacks, N-shot without an
// N-shot generator).
Report evaluate(const EvalOptions& options);

// OUT/eval.md, OUT/eval.json and OUT/<grid>.png, each written atomically.
std::string to_markdown(const Report& report, const std::string& command_line);
json::Value to_json(const Report& report, const std::string& command_line);
void write_report(const Report& report, const std::string& out_dir, const std::string& command_line);

}  // namespace fh::eval
