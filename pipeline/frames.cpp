#include "pipeline/frames.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>


#include "runtime/error.h"
#include "io/video.h"

namespace fs = std::filesystem;

namespace fh::pipeline {

namespace {

bool is_picture(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

class FileFrames : public FrameSource {
 public:
  explicit FileFrames(std::vector<std::string> files) : files_(std::move(files)) {}
  int64_t count() const override { return static_cast<int64_t>(files_.size()); }
  Image frame(int64_t i) const override { return read_image(files_.at(static_cast<size_t>(i)), 3); }
  std::string name(int64_t i) const override { return files_.at(static_cast<size_t>(i)); }

 private:
  std::vector<std::string> files_;
};

}  // namespace

std::unique_ptr<FrameSource> open_frames(const std::string& path) {
  std::error_code ec;
  FH_CHECK(fs::exists(path, ec), "frames", "'", path, "' does not exist");
  std::vector<std::string> files;
  if (fs::is_directory(path, ec)) {
    for (const auto& e : fs::directory_iterator(path))
      if (e.is_regular_file() && is_picture(e.path())) files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    FH_CHECK(!files.empty(), "frames", "the folder '", path, "' holds no .png or .jpg frames");
  } else {
    FH_CHECK(is_picture(path), "frames", "'", path, "' is not a .png or .jpg image, a folder of them or a video file (.mp4, .mov, .mkv, .webm, .avi, .gif, ...)");
    files.push_back(path);
  }
  return std::make_unique<FileFrames>(std::move(files));
}

namespace {

class ImageStream : public FrameStream {
 public:
  ImageStream(std::unique_ptr<FrameSource> frames, std::string path) : frames_(std::move(frames)), path_(std::move(path)) {}
  bool next(Image& frame) override {
    if (i_ >= frames_->count()) return false;
    frame = frames_->frame(i_++);
    return true;
  }
  std::string name() const override { return frames_->name(std::max<int64_t>(i_ - 1, 0)); }
  int64_t expected_count() const override { return frames_->count(); }
  double fps() const override { return 0; }
  bool is_video() const override { return false; }
  std::string path() const override { return path_; }

 private:
  std::unique_ptr<FrameSource> frames_;
  std::string path_;
  int64_t i_ = 0;
};

class VideoStream : public FrameStream {
 public:
  explicit VideoStream(const std::string& path) : reader_(path) {}
  bool next(Image& frame) override { return reader_.next(frame); }
  std::string name() const override {
    return reader_.path() + " frame " + std::to_string(std::max<int64_t>(reader_.frames_read() - 1, 0));
  }
  int64_t expected_count() const override { return reader_.info().frames; }
  double fps() const override { return reader_.info().fps; }
  bool is_video() const override { return true; }
  std::string path() const override { return reader_.path(); }
  int64_t damaged_packets() const override { return reader_.damaged_packets(); }

 private:
  VideoReader reader_;
};

}  // namespace

std::unique_ptr<FrameStream> open_frame_stream(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec) && is_video_path(path)) return std::make_unique<VideoStream>(path);
  return std::make_unique<ImageStream>(open_frames(path), path);
}

FrameSink::FrameSink(std::string dir) : staged_(std::move(dir), "output") {}

void FrameSink::write_frame(int64_t index, const Image& image) {
  char name[32];
  std::snprintf(name, sizeof name, "frames/%06lld.png", static_cast<long long>(index));
  if (!frames_made_) {
    std::error_code ec;
    fs::create_directories(fs::path(staged_.staging()) / "frames", ec);
    FH_CHECK(!ec, "output", "cannot create '", staging_path("frames"), "': ", ec.message());
    frames_made_ = true;
  }
  write_png(staging_path(name), image);
}

std::string FrameSink::staging_path(const std::string& name) const {
  return (fs::path(staged_.staging()) / name).string();
}

void FrameSink::commit() { staged_.commit(); }

}  // namespace fh::pipeline
