// Anti-aliased marks on 8-bit RGB images, for contact sheets: discs, line segments and
// arrows (coverage from the distance to the shape, blended over the pixels), and a frame's
// annotation drawn over its render (key-points by group, their polylines, gaze arrows).
#pragma once

#include <array>

#include "data/annotation.h"
#include "io/image_io.h"

namespace fh::data {

using Rgb = std::array<uint8_t, 3>;

// Coordinates in pixels (pixel centres at integers).
void draw_disc(Image& img, double x, double y, double radius, const Rgb& colour, double opacity = 1.0);
void draw_segment(Image& img, double x0, double y0, double x1, double y1, double width, const Rgb& colour,
                  double opacity = 1.0);
void draw_arrow(Image& img, double x0, double y0, double x1, double y1, double width, const Rgb& colour);

// Key-points (coloured by iBUG group, joined as in the sketch), and for each eye an arrow
// from the iris centre along the gaze's image-plane direction.
void draw_annotation(Image& img, const FrameAnnotation& a);

// Copies `tile` into `sheet` with its top-left corner at (x, y).
void paste(Image& sheet, const Image& tile, int x, int y);

}  // namespace fh::data
