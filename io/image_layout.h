// Pictures made of pictures: nearest-neighbour enlargement and tiles laid out in rows, for
// sample grids, sheets, strips and animation frames.
#pragma once

#include <vector>

#include "io/image_io.h"
#include "runtime/tensor.h"

namespace fh {

// Every pixel repeated factor × factor times (factor ≤ 1: a copy).
Image upscale(const Image& img, int factor);

// Tiles in rows (rows[r][c]) on a white background with `gap` pixels around each; rows may
// differ in length; every tile must be the size of the first. RGB out (grey tiles spread).
Image tile_rows(const std::vector<std::vector<Image>>& rows, int gap = 2);

// Colour-wheel picture of flow b of flows [B,H,W,2] (pixels): hue = direction, saturation =
// length relative to `max_magnitude` (0 = the flow's own largest); white where it is zero.
Image flow_image(const Tensor& flows, int64_t b, double max_magnitude = 0);

}  // namespace fh
