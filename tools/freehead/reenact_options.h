// Flags shared by `reenact`, `edit`, `demo` and `eval`: repeated -s sources, gaze choices,
// angle offsets, devices, how E_can reads a face, and sweeps.
#pragma once

#include <string>
#include <vector>

#include "pipeline/reenactor.h"
#include "tools/freehead/options.h"

namespace fh::cli {

// -s SRC / --source SRC, repeatable: the source pictures of reenact and edit.
OptionSpec source_option();
GazeChoice parse_gaze(const std::string& flag, const std::string& text);
double degrees_flag(const Options& opts, const char* name);
// A number flag within [lo, hi]; otherwise a usage error naming the flag, the range and the value.
double range_flag(const Options& opts, const char* name, double lo, double hi);
Device device_flag(const Options& opts);
// --single-reading: E_can reads each face once instead of averaging it with its mirror image.
OptionSpec single_reading_option();
// The Reenactor that --models, --device and --single-reading ask for.
Reenactor reenactor_from_flags(const Options& opts);
std::vector<Image> read_sources(const std::vector<std::string>& paths);

// --sweep NAME=FROM:TO:COUNT.
struct Sweep {
  std::string name;  // yaw, pitch, roll, gaze (φ), gaze-theta (θ)
  double from = 0, to = 0;
  int64_t count = 0;  // 0 = no sweep
  double at(int64_t i) const { return count <= 1 ? from : from + (to - from) * static_cast<double>(i) / (count - 1); }
};
Sweep parse_sweep(const std::string& text);
// Step i of the sweep applied to a pose offset or gaze choice.
void apply_sweep(const Sweep& s, int64_t i, PoseOffset& offset, GazeChoice& gaze);
// A warning on stderr when pose offsets are asked of models without a measured head pivot
// (pipeline/head_pivot.h): their turns happen about E_can's origin and come out far smaller.
void warn_without_head_pivot(const Reenactor& r, bool turns_head);

}  // namespace fh::cli
