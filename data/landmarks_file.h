// Per-frame landmarks and gaze from other tools, for `freehead prep`: NumPy .npy files
// (float32 or float64, C order, little-endian) or plain text (numbers separated by spaces,
// commas or new lines; '#' starts a comment), read into a float64 tensor of the expected
// shape [T, ...]. A wrong shape, a frame count that is not the one expected, a non-finite
// number or a damaged file is an error naming the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/tensor.h"

namespace fh::data {

// `row` is the shape of one frame (e.g. {68, 3}); `frames` the expected T, or -1 for any.
// `what` names the content in errors ("landmarks", "gaze").
Tensor read_per_frame_file(const std::string& path, const std::vector<int64_t>& row, int64_t frames, const char* what);

}  // namespace fh::data
