// Key-point files for drawing one sketch (`freehead sketch --points FILE`): a safetensors
// file holding
//   points       [68, 2] or [68, 3]  image-normalised key-points (z is ignored), required;
//   gaze         [2, 3]              gaze vectors of the right (36-41) and left (42-47) eye, or
//   gaze_angles  [2, 2]              their (θ, φ) in radians — at most one of the two; with
//                                    neither, both eyes look at the camera (θ = φ = 0).
// Any float dtype (float32, float64, float16, bfloat16). Other tensors are ignored.
#pragma once

#include <string>

#include "geometry/sketch.h"

namespace fh::geometry {

// Reads and validates such a file; every error names the file and the tensor at fault
// (missing, wrong shape or dtype, a NaN or infinite value, a zero gaze vector).
SketchInput read_sketch_points(const std::string& path);

}  // namespace fh::geometry
