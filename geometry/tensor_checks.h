// Argument checks shared by the geometry, crop, sketch and loss functions: each failure
// names the function, the argument and its shape.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>

#include "runtime/tensor.h"

namespace fh::geometry::detail {

// `t` is defined, float32 or float64, and has exactly these sizes (-1 = any size).
void check_shape(const Tensor& t, const char* op, const char* name, std::initializer_list<int64_t> sizes);

// `points` holds 68 key-points per image: [B, 68, 2] or [B, 68, 3] (any dtype).
void check_keypoints(const Tensor& points, const char* op);

// `t` has the dtype and device of `like` (the first argument of the function).
void check_same_kind(const Tensor& t, const Tensor& like, const char* op, const char* name);

}  // namespace fh::geometry::detail
