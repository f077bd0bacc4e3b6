// Animated GIF writing: frames of 8-bit RGB images, a fixed 6×7×6 colour cube with ordered
// dithering (no per-frame palette search, so frames encode independently and fast), LZW
// compressed, looping forever. Written atomically.
#pragma once

#include <string>
#include <vector>

#include "runtime/image_io.h"

namespace fh {

// Every frame must have the first frame's size; `delay_cs` is each frame's time in 1/100 s.
void write_gif(const std::string& path, const std::vector<Image>& frames, int delay_cs);

}  // namespace fh
