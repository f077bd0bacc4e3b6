// Preparing pictures for the networks: square checks, resizing to the models' size, and the
// test that a frame holds something to read (not a blank or uniform image).
#pragma once

#include <string>

#include "io/image_io.h"
#include "runtime/tensor.h"

namespace fh::pipeline {

// Image → float32 [1,H,W,3] in [-1, 1]; grey and RGBA become RGB. `what` names the image
// in errors: it must be square and at least `min_size` pixels wide, and not uniform.
Tensor image_tensor(const Image& image, int min_size, const std::string& what);

// Resizes a square [1,H,H,3] tensor to [1,S,S,3]: the mean of k×k blocks when H = k·S (what
// a renderer's supersampling does), bilinear over pixel centres otherwise.
Tensor resize_square(const Tensor& image, int64_t size);

}  // namespace fh::pipeline
