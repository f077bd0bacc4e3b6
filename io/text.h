// Labels on pictures: text in a small 5×7 pixel font (digits, letters drawn lower case, and
// the punctuation plots and sheets need), for curves, sample sheets and evaluation grids.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "io/image_io.h"

namespace fh {

// Text scaled by `scale`, top-left at (x, y); pixels outside the image are skipped.
void draw_text(Image& img, int x, int y, const std::string& text, const std::array<uint8_t, 3>& colour, int scale = 1);
// Width in pixels of `text` drawn at `scale` (6 pixels per character at scale 1).
int text_width(const std::string& text, int scale = 1);

}  // namespace fh
