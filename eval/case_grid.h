// The evaluation's picture grids: the best and the worst cases of a table (by ŷ's PSNR),
// one row per case, one column per picture (source, driver, sketch, x̄, ŷ, answer).
#pragma once

#include <string>
#include <vector>

#include "io/image_io.h"

namespace fh::eval {

struct Case {
  double score = 0;           // higher is better (ŷ's PSNR against the answer)
  std::vector<Image> images;  // one per column, all the same size
};

// Keeps the `k` best and the `k` worst cases offered, in a fixed order (ties keep the
// earlier case), so the grid does not depend on anything but the cases.
class CaseKeeper {
 public:
  explicit CaseKeeper(int k) : k_(k) {}
  void offer(Case c);
  // The best first (best to worse), then the worst (worse to worst); a case appears once.
  std::vector<Case> cases() const;

 private:
  int k_;
  int64_t offered_ = 0;
  std::vector<std::pair<Case, int64_t>> best_, worst_;  // with the order they were offered in
};

// Columns titled on top; each row labelled "best N" or "worst N" with its score on the left.
// Pictures are enlarged to at least 128 pixels.
Image case_grid(const std::vector<Case>& cases, const std::vector<std::string>& column_titles);

}  // namespace fh::eval
