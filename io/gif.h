// Animated GIF writing: frames of 8-bit RGB images, a fixed 6×7×6 colour cube with ordered
// dithering (no per-frame palette search, so frames encode independently and fast), LZW
// compressed, looping forever. Written atomically.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "io/image_io.h"

namespace fh {

class AtomicFile;

// The same, one frame at a time, so that a long animation is never held in memory: each
// frame is encoded and appended to a temporary file as it comes, and finish() puts the file
// in place (a writer destroyed before finish(), by an error, leaves nothing).
class GifWriter {
 public:
  GifWriter(std::string path, int delay_cs);
  ~GifWriter();
  void add(const Image& frame);  // the first frame sets the size; RGB or RGBA
  void finish();
  int64_t frames() const { return frames_; }
  const std::string& path() const;

 private:
  std::unique_ptr<AtomicFile> file_;
  int delay_cs_, width_ = 0, height_ = 0;
  int64_t frames_ = 0;
};

// Every frame must have the first frame's size; `delay_cs` is each frame's time in 1/100 s.
void write_gif(const std::string& path, const std::vector<Image>& frames, int delay_cs);

}  // namespace fh
