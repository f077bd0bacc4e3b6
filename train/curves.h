// Loss and validation curves of a run as one PNG (RUN/curves.png): a panel per training
// term (log.jsonl; raw values faint, a moving average strong; log scale when every value is
// positive) and a panel per validation metric (validation.jsonl).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "io/image_io.h"

namespace fh::train {

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (step, value)
};

// Panels laid out in rows of `columns`; each titled with its series' name and labelled
// with its y range and last step.
Image plot_panels(const std::vector<Series>& series, int columns = 3);

// Reads RUN/log.jsonl and RUN/validation.jsonl and writes RUN/curves.png (atomically).
// Nothing is written while the logs are empty.
void write_curves(const std::string& run_dir);

}  // namespace fh::train
