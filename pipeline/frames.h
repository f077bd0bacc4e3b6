// Where frames come from and go to. A driving input is one image, or a folder of frames
// (a dataset clip is one) read in name order; results go to a folder of numbered PNGs plus
// pictures that show them at a glance (a sheet and an animation). Video files plug in here
// as another FrameSource.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runtime/file_io.h"
#include "runtime/image_io.h"

namespace fh::pipeline {

class FrameSource {
 public:
  virtual ~FrameSource() = default;
  virtual int64_t count() const = 0;
  virtual Image frame(int64_t i) const = 0;  // errors name the file
  virtual std::string name(int64_t i) const = 0;
};

// An image file or a folder of images (.png, sorted by name); errors name the path.
std::unique_ptr<FrameSource> open_frames(const std::string& path);

// An output folder written whole or not at all: files go to a temporary folder beside it,
// renamed to `dir` by commit(); a sink destroyed before commit() (an error) removes its
// files. `dir` must be absent or empty, so nothing of an earlier run is mixed in.
class FrameSink {
 public:
  explicit FrameSink(std::string dir);

  const std::string& dir() const { return staged_.target(); }
  void write_frame(int64_t index, const Image& image);  // frames/NNNNNN.png
  // Where to write `name` now (inside the temporary folder).
  std::string staging_path(const std::string& name) const;
  void commit();

 private:
  StagedDirectory staged_;
};

}  // namespace fh::pipeline
