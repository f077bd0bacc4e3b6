// Measuring a trained E_can's head pivot (pipeline/head_pivot.h) on a dataset whose frames
// carry their true head translation (docs/data.md): what `freehead pack-models --pivot-data`
// writes into models.json.
#pragma once

#include <string>

#include "pipeline/head_pivot.h"
#include "pipeline/reenactor.h"

namespace fh::eval {

// The models' E_can on up to `frames` frames of `split` of the dataset, spread evenly over its
// clips, each frame's true pivot being its stored `translation`; then pipeline::fit_head_pivot.
// Frames larger than the models' size are resized, as the pipeline reads them.
pipeline::HeadPivotFit measure_head_pivot(const Reenactor& r, const std::string& data_dir, const std::string& split,
                                          int frames);

}  // namespace fh::eval
