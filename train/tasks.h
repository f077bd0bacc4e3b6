// The three training tasks (train/trainer.h), one file each.
#pragma once

#include <memory>

#include "train/trainer.h"

namespace fh::train {

std::unique_ptr<Task> make_keypoint_task(const TrainOptions& o, std::shared_ptr<const data::Dataset> ds);
std::unique_ptr<Task> make_gaze_task(const TrainOptions& o, std::shared_ptr<const data::Dataset> ds);
std::unique_ptr<Task> make_generator_task(const TrainOptions& o, std::shared_ptr<const data::Dataset> ds);

}  // namespace fh::train
