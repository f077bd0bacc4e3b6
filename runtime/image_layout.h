// Pictures made of pictures: nearest-neighbour enlargement and tiles laid out in rows, for
// sample grids, sheets, strips and animation frames.
#pragma once

#include <vector>

#include "runtime/image_io.h"

namespace fh {

// Every pixel repeated factor × factor times (factor ≤ 1: a copy).
Image upscale(const Image& img, int factor);

// Tiles in rows (rows[r][c]) on a white background with `gap` pixels around each; rows may
// differ in length; every tile must be the size of the first. RGB out (grey tiles spread).
Image tile_rows(const std::vector<std::vector<Image>>& rows, int gap = 2);

}  // namespace fh
