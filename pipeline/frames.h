// Where frames come from and go to. A driving input is one image, or a folder of frames
// (a dataset clip is one) read in name order; results go to a folder of numbered PNGs plus
// pictures that show them at a glance (a sheet and an animation), or to a video file. Video
// files (io/video.h) come in as a FrameStream, decoded one frame at a time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "io/file_io.h"
#include "io/image_io.h"

namespace fh::pipeline {

class FrameSource {
 public:
  virtual ~FrameSource() = default;
  virtual int64_t count() const = 0;
  virtual Image frame(int64_t i) const = 0;  // errors name the file
  virtual std::string name(int64_t i) const = 0;
};

// An image file or a folder of images (.png, .jpg, sorted by name); errors name the path.
std::unique_ptr<FrameSource> open_frames(const std::string& path);

// Frames one after another, as a long video needs them: only the frame being worked on is in
// memory.
class FrameStream {
 public:
  virtual ~FrameStream() = default;
  virtual bool next(Image& frame) = 0;        // false after the last frame
  virtual std::string name() const = 0;       // the frame last returned, for errors ("a.mp4 frame 17")
  virtual int64_t expected_count() const = 0; // -1 when unknown
  virtual double fps() const = 0;             // 0 for image files
  virtual bool is_video() const = 0;
  virtual std::string path() const = 0;
  virtual int64_t damaged_packets() const { return 0; }  // videos: data the decoder refused
};

// A video file (by its extension; needs FFmpeg), an image, or a folder of .png/.jpg frames.
std::unique_ptr<FrameStream> open_frame_stream(const std::string& path);

// An output folder written whole or not at all (a reenactment's frames and pictures, a
// prepared dataset): files go to a temporary folder beside it,
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
  bool frames_made_ = false;
};

}  // namespace fh::pipeline
