// Video files through FFmpeg's libraries (libavformat, libavcodec, libswscale): decoding any
// container and codec FFmpeg knows into RGB frames one at a time, and encoding frames into an
// H.264 MP4 (yuv420p) or an animated GIF, with the audio of another video copied in.
//
// Frames stream: a reader holds one decoded frame, a writer one frame being encoded, so
// memory does not grow with the video's length. A writer's file appears only when finish()
// succeeds (runtime/file_io's AtomicFile). In a build without FFmpeg (FH_FFMPEG=OFF, or
// the libraries not found) every entry point throws an error that says so and names the file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "io/image_io.h"

namespace fh {

// Whether this build reads and writes video files, and with what (or why not).
bool video_supported();
std::string video_support_note();

// Whether a path names a video by its extension (.mp4 .mov .m4v .mkv .webm .avi .gif ...).
// Readers also sniff the content, so this only routes inputs and outputs.
bool is_video_path(const std::string& path);

// Whether VideoWriter writes this kind: .mp4, .m4v, .mov, .mkv (H.264) or .gif.
bool is_writable_video_path(const std::string& path);

struct VideoInfo {
  int width = 0, height = 0;  // as the frames are shown: after the rotation below
  double fps = 0;             // frames per second (the stream's average rate)
  int64_t frames = -1;        // as the container states it, or estimated from the duration; -1 unknown
  double duration_s = 0;      // 0 unknown
  std::string codec;          // e.g. "h264"
  bool has_audio = false;
  // The clockwise turn the file asks players to apply (0, 90, 180 or 270: the display matrix
  // phones write for portrait recordings); frames come out turned, as players show them.
  int rotation = 0;
};

class VideoReader {
 public:
  // Opens the file's best video stream; errors name the file and say why (not a video, no
  // video stream, damaged, no decoder).
  explicit VideoReader(const std::string& path);
  ~VideoReader();
  VideoReader(const VideoReader&) = delete;
  VideoReader& operator=(const VideoReader&) = delete;

  const VideoInfo& info() const;
  const std::string& path() const;
  // The next frame as 8-bit RGB; false after the last. Data the decoder refuses is counted
  // (damaged_packets) and skipped; a file that yields no frame at all is an error, and so is
  // one that breaks off in a way the demuxer cannot read past.
  bool next(Image& frame);
  int64_t frames_read() const;
  int64_t damaged_packets() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct VideoWriterOptions {
  double fps = 25;
  std::string audio_from;  // a file whose first audio stream is copied in (MP4 only); empty = none
  int crf = 18;            // H.264 quality (0 lossless … 51); 18 looks lossless to most eyes
  // A clockwise turn players should apply when showing the frames (0, 90, 180, 270), written
  // as the display matrix phones write (MP4/MOV/MKV only; the frames are stored as given).
  int rotation = 0;
};

class VideoWriter {
 public:
  // The container by the extension: .mp4/.mov/.m4v (H.264, yuv420p; odd sizes are padded to
  // even by repeating the last row or column) or .gif (FFmpeg's GIF encoder on a 3-3-2
  // palette is poor, so GIFs use freehead's own dithered writer, io/gif.h).
  VideoWriter(const std::string& path, int width, int height, const VideoWriterOptions& options = {});
  ~VideoWriter();
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;

  void write(const Image& frame);  // RGB or RGBA of the size given
  // Flushes the encoder, copies the rest of the audio, writes the trailer and puts the file
  // in place. Without it (an error on the way) nothing appears under the path.
  void finish();
  int64_t frames_written() const;
  std::string encoder() const;   // e.g. "libx264", "gif (freehead)"
  bool audio_copied() const;     // whether an audio stream went in
  std::string audio_note() const;  // why not, when audio_from was given but nothing was copied

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fh
